import IKEWire
import Testing

@Suite struct PayloadCodecTests {
    /// Every payload type round-trips through the codec inside one message.
    @Test func everyPayloadRoundTrips() throws {
        let header = ISAKMPHeader(initiatorSPI: 1, responderSPI: 2, nextPayload: 0, majorVersion: 2, minorVersion: 0,
                                  exchangeType: 35, flags: 0x08, messageID: 1, length: 0)
        let ts = [TrafficSelector(ipProtocol: 6, startPort: 80, endPort: 443, start: IPAddress("10.1.0.0")!, end: IPAddress("10.1.0.255")!),
                  TrafficSelector(start: IPAddress("2001:db8::")!, end: IPAddress("2001:db8::ffff")!)]
        let payloads: [IKEv2Payload] = [
            .securityAssociation([ProposalPayload(number: 1, protocolID: 3, spi: [1, 2, 3, 4], transforms: [
                TransformPayload(type: 1, id: 20, keyLength: 256), TransformPayload(type: 5, id: 0)])]),
            .keyExchange(group: 31, data: [UInt8](repeating: 7, count: 32)),
            .identification(initiator: true, type: 2, data: Array("gw.example.org".utf8)),
            .identification(initiator: false, type: 1, data: [192, 0, 2, 1]),
            .certificate(encoding: 4, data: [0x30, 0x82, 0, 1]),
            .certificateRequest(encoding: 4, data: [UInt8](repeating: 1, count: 20)),
            .authentication(method: 2, data: [UInt8](repeating: 9, count: 32)),
            .nonce([UInt8](repeating: 3, count: 32)),
            .notify(NotifyPayload(.rekeySA, protocolID: 3, spi: [9, 9, 9, 9])),
            .delete(protocolID: 3, spis: [[1, 2, 3, 4], [5, 6, 7, 8]]),
            .vendorID(Array("ike".utf8)),
            .trafficSelectors(initiator: true, ts),
            .trafficSelectors(initiator: false, ts),
            .configuration(type: 1, attributes: [ConfigurationAttribute(type: 1, value: []), ConfigurationAttribute(type: 3, value: [192, 0, 2, 53])]),
            .other(type: PayloadType(rawValue: 200), critical: false, body: [1, 2]),
        ]
        let bytes = try IKEv2Message(header: header, payloads: payloads).encode()
        let parsed = try parseMessage(bytes).get()
        #expect(parsed.payloads == payloads)
        #expect(try parsed.encode() == bytes)
    }

    @Test func anUnknownCriticalPayloadIsRefused() throws {
        let header = ISAKMPHeader(initiatorSPI: 1, responderSPI: 0, nextPayload: 0, majorVersion: 2, minorVersion: 0,
                                  exchangeType: 34, flags: 0x08, messageID: 0, length: 0)
        var bytes = try IKEv2Message(header: header, payloads: [.other(type: PayloadType(rawValue: 200), critical: false, body: [1])]).encode()
        bytes[29] = 0x80  // the critical bit of the first payload
        guard case let .failure(e) = parseMessage(bytes) else {
            Issue.record("a critical unknown payload was accepted")
            return
        }
        #expect(e == .unsupportedCriticalPayload(200))
    }
}
