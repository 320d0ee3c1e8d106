import IKEWire
import Testing

/// IKEv1 Main Mode messages captured from a real exchange (scripts/interop/strongswan with
/// IKE_CAPTURE=1, tshark on the veth, which flagged none of ours as malformed):
/// strongSwan 5.9.8's first and third messages as initiator and our second. Parsed, then
/// re-encoded byte for byte.
enum GoldenISAKMP {
    static let strongSwanMainMode1 = """
        3615045dd3a6f16500000000000000000110020000000000000000b40d00003800000001000000010000002c01010001
        000000240101000080010007800e0100800200048004000e80030001800b0001800c3de00d00000c09002689dfd6b712
        0d000014afcad71368a1f1c96b8696fc775701000d0000184048b7d56ebce88525e7de7f00d6c2d3800000000d000014
        4a131c81070358455c5728f20e95452f0000001490cb80913ebb696e086381b5ec427b1f
        """
    static let ourMainMode2 = """
        3615045dd3a6f165351c1241520b1f1c01100200000000000000007c0d00003800000001000000010000002c01010001
        000000240101000080010007800e0100800200048004000e80030001800b0001800c3de00d000014afcad71368a1f1c9
        6b8696fc77570100000000144a131c81070358455c5728f20e95452f
        """
    static let strongSwanMainMode3 = """
        3615045dd3a6f165351c1241520b1f1c04100200000000000000018c0a0001040d52e8703eabb62f03a4fa2c936dd967
        3f9b9c24a74d02fdf236b25c9a65e5cab1bc26ca0df666ad73faa8f2e52273d8b1a39e6c38c56fa5444fc30dce051016
        efad21325ccb89923f3424e7f2b84a9f1d40039c8432fca4baf46207e36e724bd804ac0b018f4700e3dcf1fa5b602216
        d39e4e5b62e2c5d45ddf02ae6aa9552223ae1f839099a69ccb308cb31262c0cba042ecea3708a7b6d0c5434596378773
        760df9abaea4bdf69cb4d46bd691377ecfb74aa7130326105ed084056a7e3847028c9c06939f7a876a7a0ad90a3959c7
        0106b8b1ab6ce6e2496d5303467ef30715ff5f15c8a47efe1497a4344a1b56ec73e871d5b2573389facd9e75b63d1617
        140000241665a6f908d937b3ea2af426ea3a811df564fb8e3a12a76e069be4a3aa0fa86f1400002463467db4b2193fe6
        7ba534829526eeb39e742578b602741d5be7871abbcf698e00000024424eba6fca3237f53c6cfc0525e03890a8be190c
        af31483b0c54187c2368c724
        """
}

func parseISAKMP(_ bytes: [UInt8]) -> Result<ISAKMPMessage, WireError> {
    bytes.withUnsafeBytes { raw in
        do throws(WireError) { return .success(try ISAKMPMessage.parse(raw)) } catch { return .failure(error) }
    }
}

@Suite struct GoldenISAKMPPacketTests {
    @Test func strongSwansFirstMessageRoundTrips() throws {
        let bytes = Golden.bytes(GoldenISAKMP.strongSwanMainMode1)
        let message = try parseISAKMP(bytes).get()
        #expect(message.exchange == .main && message.header.responderSPI == 0 && !message.isEncrypted)
        guard case let .securityAssociation(sa) = message.payloads.first else {
            Issue.record("no SA first")
            return
        }
        #expect(sa.doi == IKEv1Number.doiIPsec && sa.situation == IKEv1Number.situationIdentityOnly)
        #expect(sa.proposals.count == 1 && sa.proposals[0].protocolID == IKEv1Number.protocolISAKMP)
        let t = try #require(sa.proposals[0].transforms.first)
        #expect(t.id == IKEv1Number.keyIKE)
        #expect(t.attribute(IKEv1Number.Phase1.encryption)?.integer == 7)
        #expect(t.attribute(IKEv1Number.Phase1.keyLength)?.integer == 256)
        #expect(t.attribute(IKEv1Number.Phase1.hash)?.integer == UInt64(IKEv1Number.hashSHA2_256))
        #expect(t.attribute(IKEv1Number.Phase1.authentication)?.integer == UInt64(IKEv1Number.authPreSharedKey))
        #expect(t.attribute(IKEv1Number.Phase1.group)?.integer == 14)
        #expect(message.payloads.contains(.vendorID(IKEv1VendorID.natT)))
        #expect(message.payloads.contains(.vendorID(IKEv1VendorID.deadPeerDetection)))
        #expect(try message.encode() == bytes)
    }

    @Test func ourSecondMessageRoundTrips() throws {
        let bytes = Golden.bytes(GoldenISAKMP.ourMainMode2)
        let message = try parseISAKMP(bytes).get()
        #expect(message.exchange == .main && message.header.responderSPI != 0)
        #expect(message.payloads.map { $0.type } == [.securityAssociation, .vendorID, .vendorID])
        #expect(try message.encode() == bytes)
    }

    @Test func strongSwansThirdMessageRoundTrips() throws {
        let bytes = Golden.bytes(GoldenISAKMP.strongSwanMainMode3)
        let message = try parseISAKMP(bytes).get()
        #expect(message.payloads.map { $0.type } == [.keyExchange, .nonce, .natDiscovery, .natDiscovery])
        if case let .keyExchange(ke) = message.payloads[0] { #expect(ke.count == 256) }
        #expect(try message.encode() == bytes)
    }

    @Test func everyTruncationIsRefusedNotCrashed() {
        for text in [GoldenISAKMP.strongSwanMainMode1, GoldenISAKMP.ourMainMode2, GoldenISAKMP.strongSwanMainMode3] {
            let bytes = Golden.bytes(text)
            for cut in 0..<bytes.count {
                var truncated = Array(bytes[0..<cut])
                if cut >= 28 {
                    let n = UInt32(cut)
                    truncated[24] = UInt8(n >> 24); truncated[25] = UInt8(truncatingIfNeeded: n >> 16)
                    truncated[26] = UInt8(truncatingIfNeeded: n >> 8); truncated[27] = UInt8(truncatingIfNeeded: n)
                }
                if case .success = parseISAKMP(truncated) { Issue.record("a message cut at \(cut) bytes parsed") }
            }
        }
    }
}
