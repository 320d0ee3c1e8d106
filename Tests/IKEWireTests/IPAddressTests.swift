import IKEWire
import Testing

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("192.0.2.1", "192.0.2.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("::", "::"),
        ("::1", "::1"),
        ("2001:db8::1", "2001:db8::1"),
        // RFC 5952 §4: lowercase, no leading zeros, longest zero run shortened.
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("fe80::", "fe80::"),
        ("::ffff:192.0.2.1", "::ffff:c000:201"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func parsesAndPrintsCanonically(text: String, canonical: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.description == canonical)
        #expect(IPAddress(canonical) == address)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d",
        ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "::g", "1:2:3:4:5:6:7",
        "2001:db8::1/64", " 1.2.3.4",
    ])
    func rejectsMalformedText(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func bytesRoundTrip() {
        for text in ["198.51.100.7", "2001:db8:a:b:c:d:e:f"] {
            let address = IPAddress(text)!
            let bytes = address.bytes
            #expect(bytes.count == (address.isV4 ? 4 : 16))
            #expect(bytes.withUnsafeBytes { IPAddress(bytes: $0) } == address)
        }
        #expect(IPAddress("10.1.2.3")!.bytes == [10, 1, 2, 3])
        #expect([UInt8](repeating: 0, count: 5).withUnsafeBytes { IPAddress(bytes: $0) } == nil)
    }
}
