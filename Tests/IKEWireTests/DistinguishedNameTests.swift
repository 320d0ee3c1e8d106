import Testing
@testable import IKEWire

/// ID_DER_ASN1_DN: the text users write, the DER peers send (RFC 4945 §3.1.5).
@Suite struct DistinguishedNameTests {
    /// DER as Python's `cryptography` (OpenSSL) writes a certificate subject: UTF8String
    /// values, IA5String for the e-mail address.
    static let openSSLSubject = Hex.decode("3064310b300906035504061302434831133011060355040a0c0a7374726f6e675377616e311c301a06035504030c136d6f6f6e2e7374726f6e677377616e2e6f72673122302006092a864886f70d01090116136d6f6f6e407374726f6e677377616e2e6f7267")!

    @Test func derFromOpenSSLReadsAsText() throws {
        let name = try #require(DistinguishedName(der: DistinguishedNameTests.openSSLSubject))
        #expect(name.description == "C=CH, O=strongSwan, CN=moon.strongswan.org, E=moon@strongswan.org")
        let id = try #require(Identity(idType: 9, data: DistinguishedNameTests.openSSLSubject))
        #expect(id.description == "C=CH, O=strongSwan, CN=moon.strongswan.org, E=moon@strongswan.org")
        #expect(id == .distinguishedName(name))
    }

    @Test func textIsWrittenAsDERAndReadBack() throws {
        let id = try Identity.parse("c=CH,  o=strongSwan,CN=moon.strongswan.org, emailAddress=moon@strongswan.org").get()
        #expect(id.description == "C=CH, O=strongSwan, CN=moon.strongswan.org, E=moon@strongswan.org")
        #expect(id.idType == 9)
        #expect(Array(id.data.prefix(17)) == [0x30, 0x64, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x43, 0x48, 0x31, 0x13])
        #expect(Identity(idType: 9, data: id.data) == id)
    }

    /// RFC 5280 §7.1: the string type, case and extra spaces do not matter; order and
    /// attribute types do.
    @Test func namesMatchAsRFC5280Compares() throws {
        let configured = try Identity.parse("C=CH, O=strongSwan, CN=Moon.strongSwan.org, E=moon@strongswan.org").get()
        let presented = try #require(Identity(idType: 9, data: DistinguishedNameTests.openSSLSubject))
        #expect(configured.accepts(presented))
        #expect(!(try Identity.parse("O=strongSwan, C=CH, CN=moon.strongswan.org, E=moon@strongswan.org").get()).accepts(presented))
        #expect(!(try Identity.parse("C=CH, O=strongSwan, CN=sun.strongswan.org, E=moon@strongswan.org").get()).accepts(presented))
        #expect(Identity.any.accepts(presented))
    }

    @Test func escapesAndMultiValuedRDNs() throws {
        let id = try Identity.parse("C=CH, O=ACME\\, Inc., OU=Sales+CN=gw").get()
        #expect(id.description == "C=CH, O=ACME\\, Inc., OU=Sales+CN=gw")
        #expect(Identity(idType: 9, data: id.data) == id)
    }

    @Test func malformedDERIsRefused() {
        let good = DistinguishedNameTests.openSSLSubject
        for cut in [1, 2, 10, 50, good.count - 1] { #expect(DistinguishedName(der: Array(good.prefix(cut))) == nil) }
        #expect(DistinguishedName(der: Array("C=CH, CN=gw".utf8)) == nil)
        #expect(Identity(idType: 9, data: [0x30, 0x03, 0x31, 0x01, 0x30]) == nil)
        if case .success = Identity.parse("XX=1, CN=gw") { Issue.record("an unknown attribute was accepted") }
    }
}
