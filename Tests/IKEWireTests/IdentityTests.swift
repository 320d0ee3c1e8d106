import Testing
@testable import IKEWire

struct IdentityTests {
    @Test func textFormsGoOnTheWireAndReadBack() throws {
        for (text, type) in [("@gw.example", UInt8(2)), ("gw.example", 2), ("ops@example.org", 3), ("192.0.2.1", 1)] {
            let id = try Identity.parse(text).get()
            #expect(id.idType == type)
            #expect(Identity(idType: type, data: id.data) == id)
        }
        #expect(try Identity.parse("@gw.example").get().data == Array("gw.example".utf8))
        #expect(try Identity.parse("@gw.example").get() == .fqdn("gw.example"))
        #expect(try Identity.parse("ops@example.org").get().description == "ops@example.org")
    }

    /// A peer's name is kept as the octets it sent: what it hashed into its AUTH is what
    /// we hash, even where the octets are not UTF-8 (a `String` would have replaced them).
    @Test func aPeersOctetsAreKeptAsSent() throws {
        let sent: [UInt8] = [0x67, 0x77, 0xff, 0x2e, 0x65, 0x78]
        let id = try #require(Identity(idType: 2, data: sent))
        #expect(id.data == sent)
        #expect(id.description == "@gw\u{FFFD}.ex")
        #expect(try #require(Identity(idType: 3, data: sent)).data == sent)
        // Octet for octet: a name in other case is another identity.
        #expect(Identity.fqdn("GW.example") != .fqdn("gw.example"))
        #expect(IdentityName("GW.example").sameHost(as: "gw.example"))
        #expect(!IdentityName("gw.example.org").sameHost(as: "gw.example"))
    }
}
