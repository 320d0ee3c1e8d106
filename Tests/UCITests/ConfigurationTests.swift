import Foundation
import IKEWire
import Testing
@testable import UCI

/// The README's two-site example, site A.
let siteA = """
    config ike 'global'
    \toption log_level 'information'
    \toption kernel 'xfrm'

    config tunnel 'site_b'
    \toption remote_address '198.51.100.7'
    \toption local_address '192.0.2.1'
    \toption psk 'correct horse battery staple'
    \tlist ike_proposal 'aes256gcm16-prfsha256-x25519'
    \tlist esp_proposal 'aes256gcm16-x25519'
    \tlist local_subnet '10.1.0.0/24'
    \tlist remote_subnet '10.2.0.0/24'
    \toption start 'auto'

    config tunnel 'roadwarriors'
    \toption remote_address 'any'
    \toption remote_id '%any'
    \toption local_id '@gw.example.org'
    \toption psk "shared by many"
    \toption version '1'
    \toption exchange 'aggressive'
    \toption dpd_delay '0'
    """

func load(_ text: String, file: String = "ike.conf") -> Result<Configuration, ConfigurationErrors> {
    Configuration.load(text, file: file)
}

func errors(_ text: String) -> [String] {
    if case let .failure(e) = load(text) { return e.diagnostics.map(\.description) }
    return []
}

@Suite struct ConfigurationTests {
    @Test func loadsTheExampleWithDefaultsFilledIn() throws {
        let c = try load(siteA).get()
        #expect(c.global.logLevel == .information)
        #expect(c.global.port == 500 && c.global.nattPort == 4500)
        #expect(c.global.socket == "/var/run/ike.sock")
        #expect(c.tunnels.map(\.name) == ["site_b", "roadwarriors"])
        let b = c.tunnels[0]
        #expect(b.version == .v2 && b.enabled && b.auth == .psk)
        #expect(b.remoteAddress == .address(IPAddress("198.51.100.7")!))
        #expect(b.remoteID == .address(IPAddress("198.51.100.7")!))
        #expect(b.localID == nil)
        #expect(b.psk?.value == "correct horse battery staple")
        #expect(b.ikeProposals.map(\.description) == ["aes256gcm16-prfsha256-x25519"])
        #expect(b.espProposals[0].groups == [.curve25519])
        #expect(b.localSubnets.map(\.description) == ["10.1.0.0/24"])
        #expect(b.start == .auto && b.mode == .tunnel)
        #expect(b.ikeLifetime == 28800 && b.lifetime == 3600 && b.dpdDelay == 30 && b.dpdAction == .restart)
        let r = c.tunnels[1]
        #expect(r.remoteAddress == .any && r.remoteID == .any)
        #expect(r.localID == .fqdn("gw.example.org"))
        #expect(r.version == .v1 && r.exchange == .aggressive && r.dpdDelay == 0)
        #expect(r.ikeProposals == TunnelConfig.defaultIKEv1Proposals)
        #expect(r.espProposals == TunnelConfig.defaultESPProposals)
    }

    @Test func theOpenWrtInterfaceIsKeptAndPrinted() throws {
        let c = try load("config tunnel t\n option remote_address 192.0.2.9\n option psk k\n option interface 'wan'\n").get()
        #expect(c.tunnels[0].interface == "wan")
        #expect(c.print().contains("\toption interface 'wan'\n"))
        #expect(try load(c.print()).get() == c)
        #expect(try load("config tunnel t\n option remote_address 192.0.2.9\n option psk k\n").get().tunnels[0].interface == nil)
    }

    @Test func anEmptyFileIsTheDefaults() throws {
        #expect(try load("").get() == Configuration())
        #expect(try load("# nothing\n\n").get().tunnels.isEmpty)
    }

    @Test func printThenLoadIsStable() throws {
        let c = try load(siteA).get()
        let printed = c.print()
        let again = try load(printed).get()
        #expect(again == c)
        #expect(again.print() == printed)
        #expect(printed.contains("\toption psk 'correct horse battery staple'\n"))
        #expect(printed.contains("\tlist ike_proposal 'aes256gcm16-prfsha256-x25519'\n"))
        #expect(printed.contains("\toption exchange 'aggressive'\n"))
    }

    @Test func redactedPrintingHidesEveryPSK() throws {
        let printed = try load(siteA).get().print(redactingSecrets: true)
        #expect(!printed.contains("correct horse"))
        #expect(!printed.contains("shared by many"))
        #expect(printed.components(separatedBy: "option psk '<redacted>'").count == 3)
    }

    /// strongSwan's spellings are read, and printed in the one canonical form.
    @Test(arguments: [
        ("aes256gcm16-prfsha256-curve25519", "aes256gcm16-prfsha256-x25519"),
        ("aes128gcm-prfsha2_256-curve448", "aes128gcm16-prfsha256-x448"),
        ("aes256-sha2_256-modp3072", "aes256-sha256-prfsha256-modp3072"),
        ("aes256gcm128-ecp384", "aes256gcm16-prfsha256-ecp384"),
    ])
    func strongSwanSpellingsPrintCanonically(written: String, canonical: String) throws {
        let p = try Proposal.parse(written, kind: .ike).get()
        #expect(p.description == canonical)
        #expect(try Proposal.parse(canonical, kind: .ike).get() == p)
    }

    @Test func theDefaultProposalsAreShownInFull() throws {
        let printed = try load("config tunnel t\n option remote_address 192.0.2.9\n option psk k\n").get().print()
        #expect(printed.contains("\tlist ike_proposal 'aes256gcm16-prfsha256-x25519-ecp256'\n\tlist ike_proposal 'aes256-sha256-prfsha256-x25519-ecp256-modp2048'\n"))
        #expect(printed.contains("\tlist esp_proposal 'aes256gcm16'\n\tlist esp_proposal 'aes256-sha256'\n"))
    }

    @Test func movingATunnelInTheFileDoesNotChangeIt() throws {
        let a = try load("config tunnel t\n option remote_address 192.0.2.9\n option psk k\n").get()
        let b = try load("\n\n# moved\nconfig tunnel t\n option psk k\n option remote_address 192.0.2.9\n").get()
        #expect(a == b)
        #expect(a.tunnels[0].line.number == 1 && b.tunnels[0].line.number == 4)
    }
}
