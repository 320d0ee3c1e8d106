import IKEWire
import Testing

/// Messages captured from a real exchange (scripts/interop/strongswan with IKE_CAPTURE=1,
/// tshark on the veth): strongSwan 5.9.8's IKE_SA_INIT request as initiator, and our
/// IKE_SA_INIT response to it. Parsed, then re-encoded byte for byte.
enum Golden {
    static let strongSwanInitRequest = """
        e4a226c3cf687640000000000000000021202208000000000000037c220002bc02000148010100220300000c0100000c
        800e00800300000c0100000c800e00c00300000c0100000c800e01000300000c0100000d800e00800300000c0100000d
        800e00c00300000c0100000d800e01000300000c01000017800e00800300000c01000017800e00c00300000c01000017
        800e01000300000c01000018800e00800300000c01000018800e00c00300000c01000018800e01000300000801000003
        030000080300000c030000080300000d030000080300000e030000080300000203000008020000050300000802000006
        03000008020000070300000802000002030000080400001f030000080400002003000008040000130300000804000014
        0300000804000015030000080400001c030000080400001d030000080400001e030000080400000f0300000804000010
        03000008040000110300000804000012000000080400000e00000170020100240300000c01000014800e00800300000c
        01000014800e00c00300000c01000014800e01000300000c01000010800e00800300000c01000010800e00c00300000c
        01000010800e0100030000080100001c0300000c01000013800e00800300000c01000013800e00c00300000c01000013
        800e01000300000c01000012800e00800300000c01000012800e00c00300000c01000012800e01000300000c0100000f
        800e00800300000c0100000f800e00c00300000c0100000f800e01000300000c0100000e800e00800300000c0100000e
        800e00c00300000c0100000e800e01000300000802000005030000080200000603000008020000070300000802000002
        030000080400001f0300000804000020030000080400001303000008040000140300000804000015030000080400001c
        030000080400001d030000080400001e030000080400000f030000080400001003000008040000110300000804000012
        000000080400000e28000028001f0000c016a1cadb85e338f3ae6aae7f10cc4e96ee2689a27927567ba677436f176f30
        2900002408c885ef6268c25dddd4769180c7a59b812d5a0d0f5d52b3e832c0d922b163ce2900001c0000400498bc76ee
        e7c90ab72d82459db33e58639fbac1f22900001c000040052523b3b57a4d846c14770b82c641515289fe7ddd29000008
        0000402e290000100000402f00020003000400050000000800004016
        """

    static let ourInitResponse = """
        e4a226c3cf6876405162e743dc9e60482120222000000000000000d0220000300000002c010100040300000c0100000c
        800e01000300000802000005030000080300000c000000080400001f28000028001f0000184ef0a67723017920c7b774
        2040d840e97522ff9f4bd2e1ae8f42770fd4222f29000024cf5d7018b66c93ed05494f2619dc822c4ad34780e0c3e62e
        1f1663754a80840e2900001c00004004816b3a00a7ef751303c24068f7758713d4a252ca0000001c000040053ac151b9
        43cbb26a556c9fffbf0768d679999701
        """

    static func bytes(_ text: String) -> [UInt8] { Hex.decode(text.filter { !$0.isWhitespace })! }
}

func parseMessage(_ bytes: [UInt8]) -> Result<IKEv2Message, WireError> {
    bytes.withUnsafeBytes { raw in
        do throws(WireError) { return .success(try IKEv2Message.parse(raw)) } catch { return .failure(error) }
    }
}

@Suite struct GoldenPacketTests {
    @Test func strongSwanInitRequestRoundTrips() throws {
        let bytes = Golden.bytes(Golden.strongSwanInitRequest)
        let message = try parseMessage(bytes).get()
        #expect(message.exchange == .ikeSAInit && !message.isResponse && message.fromInitiator)
        #expect(message.payloads.map { $0.type } == [.securityAssociation, .keyExchange, .nonce, .notify, .notify, .notify, .notify, .notify])
        #expect(message.notifies().map { $0.type } == [.natDetectionSourceIP, .natDetectionDestinationIP, .fragmentationSupported,
                                                       .signatureHashAlgorithms, NotifyType(rawValue: 16406)])
        guard case let .securityAssociation(proposals) = message.payloads[0] else { return }
        #expect(proposals.count >= 2)
        #expect(proposals.allSatisfy { $0.protocolID == SecurityProtocol.ike && $0.spi.isEmpty })
        #expect(try message.encode() == bytes)
    }

    @Test func ourInitResponseRoundTrips() throws {
        let bytes = Golden.bytes(Golden.ourInitResponse)
        let message = try parseMessage(bytes).get()
        #expect(message.isResponse && !message.fromInitiator)
        #expect(message.payloads.map { $0.type } == [.securityAssociation, .keyExchange, .nonce, .notify, .notify])
        #expect(try message.encode() == bytes)
    }

    @Test func everyTruncationIsRefusedNotCrashed() {
        let bytes = Golden.bytes(Golden.strongSwanInitRequest)
        for cut in 0..<bytes.count {
            var truncated = Array(bytes[0..<cut])
            if cut >= 28 {
                // Keep the header's length honest so the payload parsers see the cut.
                let n = UInt32(cut)
                truncated[24] = UInt8(n >> 24); truncated[25] = UInt8(truncatingIfNeeded: n >> 16)
                truncated[26] = UInt8(truncatingIfNeeded: n >> 8); truncated[27] = UInt8(truncatingIfNeeded: n)
            }
            if case .success = parseMessage(truncated) { Issue.record("a message cut at \(cut) bytes parsed") }
        }
    }
}
