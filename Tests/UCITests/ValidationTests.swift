import Testing
@testable import UCI

/// Every validation error, one per row: a tunnel section whose one option is `line`
/// (on line 4), and the message expected for it.
@Suite struct ValidationTests {
    static func tunnel(_ line: String) -> String {
        "config tunnel 't'\n\toption remote_address '192.0.2.9'\n\toption psk 'k'\n\(line)\n"
    }

    @Test(arguments: [
        ("\toption enabled 'maybe'", "enabled 'maybe': expected '1' or '0'"),
        ("\toption version '3'", "version '3': expected '1' or '2'"),
        ("\toption local_address '192.0.2.300'", "local_address '192.0.2.300': expected an IPv4 or IPv6 address"),
        ("\toption local_id 'not a name'", "local_id 'not a name': 'not a name' is not an address, host name, user@domain, DN, keyid: or %any"),
        ("\toption local_id '%any'", "local_id '%any': our own identity must be definite"),
        ("\toption remote_id 'keyid:abc'", "remote_id 'keyid:abc': keyid: needs an even number of hex digits, e.g. keyid:0a1b2c"),
        ("\toption remote_id 'CN=, O=x'", "remote_id 'CN=, O=x': a distinguished name is a comma-separated list of KEY=value, e.g. C=CH, O=ACME, CN=gw"),
        ("\toption remote_id '@bad_host!'", "remote_id '@bad_host!': 'bad_host!' is not a valid host name"),
        ("\toption auth 'eap'", "auth 'eap': expected 'psk' or 'pubkey'"),
        ("\toption certificate 'gw.pem'", "certificate 'gw.pem': expected an absolute path"),
        ("\tlist ike_proposal 'aes256-sha256-dh99'", "ike_proposal unknown algorithm 'dh99'; known: aes128, aes256, aes128gcm16, aes256gcm16, chacha20poly1305, sha1, sha256, sha384, sha512, prfsha1, prfsha256, prfsha384, prfsha512, modp2048, modp3072, modp4096, ecp256, ecp384, ecp521, x25519, x448, esn, noesn"),
        ("\tlist ike_proposal 'aes256-sha256-modp1024'", "ike_proposal group 'modp1024' is too weak (RFC 8247); use modp2048 or stronger, ecp256, ecp384, ecp521, x25519 or x448"),
        ("\tlist ike_proposal 'aes256-sha256'", "ike_proposal 'aes256-sha256' needs a DH group for the IKE SA (e.g. x25519, ecp256, modp2048)"),
        ("\tlist ike_proposal 'sha256-x25519'", "ike_proposal 'sha256-x25519' names no encryption algorithm (aes128, aes256, aes128gcm16, aes256gcm16, chacha20poly1305)"),
        ("\tlist esp_proposal 'aes256'", "esp_proposal 'aes256' needs an integrity algorithm (sha1, sha256, sha384, sha512)"),
        ("\tlist esp_proposal 'aes256gcm16-sha256'", "esp_proposal 'aes256gcm16-sha256': AEAD ciphers carry their own integrity; remove sha256"),
        ("\tlist esp_proposal 'aes256gcm16-aes256-sha1'", "esp_proposal 'aes256gcm16-aes256-sha1' mixes AEAD and non-AEAD ciphers; put them in separate proposals"),
        ("\tlist esp_proposal 'aes256gcm16-prfsha256'", "esp_proposal 'aes256gcm16-prfsha256': ESP proposals take no PRF; remove the prf keyword"),
        ("\tlist esp_proposal 'aes256--sha1'", "esp_proposal unknown algorithm ''; known: aes128, aes256, aes128gcm16, aes256gcm16, chacha20poly1305, sha1, sha256, sha384, sha512, prfsha1, prfsha256, prfsha384, prfsha512, modp2048, modp3072, modp4096, ecp256, ecp384, ecp521, x25519, x448, esn, noesn"),
        ("\tlist ike_proposal 'aes256-sha256-x25519-esn'", "ike_proposal 'aes256-sha256-x25519-esn': esn and noesn are for ESP proposals only"),
        ("\tlist local_subnet '10.1.0.1/24'", "local_subnet '10.1.0.1/24': host bits are set; did you mean '10.1.0.0/24'?"),
        ("\tlist remote_subnet '10.2.0.0/33'", "remote_subnet '10.2.0.0/33': the prefix length must be 0-32 (IPv4) or 0-128 (IPv6)"),
        ("\tlist remote_subnet 'lan'", "remote_subnet 'lan': not an IPv4 or IPv6 subnet, e.g. 10.1.0.0/24"),
        ("\toption mode 'beet'", "mode 'beet': expected 'tunnel' or 'transport'"),
        ("\toption interface 'wan-1'", "interface 'wan-1': expected an OpenWrt interface name such as 'wan' (letters, digits, _)"),
        ("\toption ike_lifetime '10'", "ike_lifetime '10': expected seconds from 300 to 604800"),
        ("\toption lifetime '1h'", "lifetime '1h': expected seconds from 60 to 86400"),
        ("\toption start 'always'", "start 'always': expected 'auto' or 'manual' or 'trap'"),
        ("\toption dpd_delay '-1'", "dpd_delay '-1': expected seconds (0 turns DPD off) from 0 to 3600"),
        ("\toption dpd_action 'panic'", "dpd_action 'panic': expected 'clear' or 'restart' or 'hold'"),
        ("\toption exchange 'base'", "exchange 'base': expected 'main' or 'aggressive'"),
        ("\toption colour 'blue'", "unknown option 'colour' in tunnel 't'; known: auth, ca_certificate, certificate, crl, dpd_action, dpd_delay, enabled, esp_proposal, exchange, ike_lifetime, ike_proposal, interface, keyingtries, lifetime, local_address, local_id, local_subnet, mode, private_key, psk, remote_address, remote_certificate, remote_id, remote_subnet, retry_delay, retry_max_delay, send_cert, start, version"),
        ("\toption keyingtries 'many'", "keyingtries 'many': expected attempts (0 tries for ever) from 0 to 1000"),
        ("\toption retry_max_delay '5'\n\toption retry_delay '10'", "retry_max_delay 5 is shorter than retry_delay 10"),
        ("\tlist psk 'again'", "'psk' takes one value: write option psk '...'"),
        ("\toption psk 'again'", "option 'psk' is set twice (first at line 3)"),
        ("\toption exchange 'main'", "exchange applies to IKEv1 only (version '1')"),
        ("\tlist ike_proposal 'aes256gcm16-prfsha256-ecp256'\n\toption version '1'",
         "ike_proposal 'aes256gcm16-prfsha256-ecp256': IKEv1 phase 1 takes aes128 or aes256 with sha1, sha256, sha384 or sha512, not AEAD ciphers"),
        ("\tlist esp_proposal 'chacha20poly1305'\n\toption version '1'",
         "esp_proposal 'chacha20poly1305': IKEv1 has no chacha20poly1305; use aes128gcm16, aes256gcm16 or aes-cbc with sha2"),
        ("\toption certificate '/etc/ike/gw.pem'", "certificate is used only with auth 'pubkey'"),
        ("\tlist crl '/etc/ike/crl.pem'", "crl is used only with auth 'pubkey'"),
        ("\toption remote_id 'C=DE, O=E\u{01}x'", "remote_id 'C=DE, O=E\u{01}x': control characters are not allowed in an identity"),
        // C1 controls too: printed escaped, they would load back as another identity (a fuzz finding).
        ("\toption remote_id 'C=DE, O=E\u{9D}x'", "remote_id 'C=DE, O=E\u{9D}x': control characters are not allowed in an identity"),
        ("\toption send_cert 'always'", "send_cert is used only with auth 'pubkey'"),
        ("\toption local_address '2001:db8::1'", "local_address 2001:db8::1 and remote_address 192.0.2.9 are of different IP versions"),
        ("\tlist local_subnet '10.1.0.0/24'", "tunnel 't' sets one side's subnets but no remote_subnet"),
        ("\toption lifetime '28800'", "lifetime 28800 must be shorter than ike_lifetime 28800"),
    ])
    func eachMistakeIsReportedAtItsLine(line: String, message: String) {
        #expect(errors(ValidationTests.tunnel(line)) == ["ike.conf:4: " + message])
    }

    @Test(arguments: [
        ("config ike\n\toption log_level 'verbose'\n", "ike.conf:2: log_level 'verbose': expected none, error, event, information or debug"),
        ("config ike\n\toption syslog_facility 'kern'\n", "ike.conf:2: syslog_facility 'kern': expected daemon, user, auth, authpriv, syslog, local0, local1, local2, local3, local4, local5, local6, local7"),
        ("config ike\n\tlist listen '0.0.0'\n", "ike.conf:2: listen '0.0.0': expected an IPv4 or IPv6 address"),
        ("config ike\n\toption port '0'\n", "ike.conf:2: port '0': expected a port number 1-65535"),
        ("config ike\n\toption natt_port '500'\n", "ike.conf:2: port and natt_port are both 500; they must differ"),
        ("config ike\n\toption socket 'ike.sock'\n", "ike.conf:2: socket 'ike.sock': expected an absolute path shorter than 108 bytes"),
        ("config ike\n\toption kernel 'pfkey'\n", "ike.conf:2: kernel 'pfkey': expected 'xfrm' or 'none'"),
        ("config ike\nconfig ike\n", "ike.conf:2: a second 'config ike' section; merge it into the one at line 1"),
        ("config tunnels 'x'\n", "ike.conf:1: unknown section type 'tunnels': expected 'ike' or 'tunnel'"),
        ("config tunnel\n\toption psk k\n", "ike.conf:1: tunnel '@tunnel[0]' has no remote_address: give the peer's address, or 'any' for a responder"),
        ("config tunnel 'x'\n\toption remote_address 192.0.2.1\n\toption psk k\n\toption start trap\n\tlist local_subnet 10.0.0.0/8\n\tlist remote_subnet 10.1.0.0/16\n", "ike.conf:4: start 'trap' needs local_address: the trap policy's template names both tunnel endpoints"),
        ("config tunnel 'x'\n\toption remote_address 192.0.2.1\n\toption psk k\n\tlist local_subnet 10.0.0.0/8\n\tlist remote_subnet 2001:db8::/32\n", "ike.conf:5: remote_subnet 2001:db8::/32 is IPv6 and local_subnet 10.0.0.0/8 is IPv4; a CHILD_SA's selectors pair subnets of one address family"),
        ("config tunnel 'x'\n\toption psk k\n", "ike.conf:1: tunnel 'x' has no remote_address: give the peer's address, or 'any' for a responder"),
        ("config tunnel 'x'\n\toption remote_address 192.0.2.1\n", "ike.conf:1: tunnel 'x' uses auth 'psk' but sets no psk"),
        ("config tunnel 'x'\n\toption remote_address 192.0.2.1\n\toption auth pubkey\n\toption certificate '/etc/ike/gw.pem'\n\toption private_key '/etc/ike/gw.key'\n", "ike.conf:3: tunnel 'x' uses auth 'pubkey' but sets no ca_certificate"),
        ("config tunnel 'x'\n\toption remote_address 192.0.2.1\n\toption auth pubkey\n\toption certificate '/etc/ike/gw.pem'\n\tlist ca_certificate '/etc/ike/ca'\n", "ike.conf:3: tunnel 'x' uses auth 'pubkey' but sets no private_key"),
        ("config tunnel 'x'\n\toption remote_address 192.0.2.1\n\toption auth pubkey\n\toption certificate '/etc/ike/gw.pem'\n\toption private_key '/etc/ike/gw.key'\n\tlist ca_certificate '/etc/ike/ca'\n\toption psk 'k'\n", "ike.conf:7: psk is used only with auth 'psk'"),
        ("config tunnel 'x'\n\toption remote_address 192.0.2.1\n\toption auth pubkey\n\toption certificate '/etc/ike/gw.pem'\n\toption private_key '/etc/ike/gw.key'\n\tlist ca_certificate '/etc/ike/ca'\n\toption version 1\n\toption exchange aggressive\n", "ike.conf:8: auth 'pubkey' with exchange 'aggressive': IKEv1 signatures are built for Main Mode; use exchange 'main'"),
        ("config tunnel 'x'\n\toption remote_address 192.0.2.1\n\toption auth pubkey\n\toption certificate 'gw.pem'\n\toption private_key '/etc/ike/gw.key'\n\tlist ca_certificate '/etc/ike/ca'\n", "ike.conf:4: certificate 'gw.pem': expected an absolute path"),
        ("config tunnel 'x'\n\toption remote_address 192.0.2.1\n\toption auth pubkey\n\toption certificate '/etc/ike/gw.pem'\n\toption private_key '/etc/ike/gw.key'\n\tlist ca_certificate '/etc/ike/ca'\n\toption send_cert 'sometimes'\n", "ike.conf:7: send_cert 'sometimes': expected 'always' or 'ifasked' or 'never'"),
        ("config tunnel 'x'\n\toption remote_address any\n\toption psk k\n\toption start auto\n", "ike.conf:4: start 'auto' needs a remote_address to contact; a remote_address 'any' tunnel only responds"),
        ("config tunnel 'x'\n\toption remote_address 192.0.2.1\n\toption psk k\n\toption mode transport\n\tlist local_subnet 10.0.0.0/8\n\tlist remote_subnet 10.1.0.0/16\n", "ike.conf:4: transport mode protects the endpoints themselves; remove local_subnet and remote_subnet"),
    ])
    func globalAndSectionMistakes(text: String, message: String) {
        #expect(errors(text) == [message])
    }

    @Test func aDuplicateTunnelNameIsRefused() {
        let text = ValidationTests.tunnel("") + ValidationTests.tunnel("")
        #expect(errors(text) == ["ike.conf:5: tunnel 't' is already defined at line 1"])
    }

    @Test func allErrorsOfAFileAreReportedInOneRunInLineOrder() {
        let text = """
            config ike 'global'
            \toption log_level 'loud'
            \toption port 'http'

            config tunnel 'one'
            \toption remote_address '198.51.100.300'
            \toption psk 'k'
            \tlist esp_proposal 'des-md5'

            config tunnel 'two'
            \toption remote_address '198.51.100.8'
            \toption auth 'psk'
            \toption lifetime 'forever'
            \toption start 'sometimes'
            option 'unterminated
            """
        #expect(errors(text) == [
            "ike.conf:2: log_level 'loud': expected none, error, event, information or debug",
            "ike.conf:3: port 'http': expected a port number 1-65535",
            "ike.conf:6: remote_address '198.51.100.300': expected an IPv4 or IPv6 address, a DNS name, or 'any'",
            "ike.conf:8: esp_proposal unknown algorithm 'des'; known: aes128, aes256, aes128gcm16, aes256gcm16, chacha20poly1305, sha1, sha256, sha384, sha512, prfsha1, prfsha256, prfsha384, prfsha512, modp2048, modp3072, modp4096, ecp256, ecp384, ecp521, x25519, x448, esn, noesn",
            "ike.conf:12: tunnel 'two' uses auth 'psk' but sets no psk",
            "ike.conf:13: lifetime 'forever': expected seconds from 60 to 86400",
            "ike.conf:14: start 'sometimes': expected 'auto' or 'manual' or 'trap'",
            "ike.conf:15: unterminated single quote",
        ])
    }
}
