/// An IKEv2 message: the header and its chain of payloads (RFC 7296 §3.1, §3.2).
///
/// Generic payload header:
///
///      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     | Next Payload  |C|  RESERVED   |         Payload Length        |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public struct IKEv2Message: Equatable, Sendable {
    public var header: ISAKMPHeader
    public var payloads: [IKEv2Payload]

    public static let maxPayloads = 64

    public init(header: ISAKMPHeader, payloads: [IKEv2Payload]) {
        self.header = header
        self.payloads = payloads
    }

    public var exchange: ExchangeType { ExchangeType(rawValue: header.exchangeType) }
    public var isResponse: Bool { header.flags & HeaderFlags.response != 0 }
    public var fromInitiator: Bool { header.flags & HeaderFlags.initiator != 0 }

    /// Parses a whole message (header included). The SK payload, if any, must be last
    /// (§3.14) and stays encrypted.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> IKEv2Message {
        var r = ByteReader(bytes)
        let header = try ISAKMPHeader(from: &r)
        guard header.majorVersion == 2 else { throw .invalid(what: "major version", value: UInt64(header.majorVersion)) }
        var body = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[ISAKMPHeader.size..<Int(header.length)]))
        let payloads = try parseChain(first: PayloadType(rawValue: header.nextPayload), &body)
        return IKEv2Message(header: header, payloads: payloads)
    }

    /// Parses a payload chain starting with `first` (also used for an SK payload's
    /// decrypted contents).
    public static func parseChain(first: PayloadType, _ r: inout ByteReader) throws(WireError) -> [IKEv2Payload] {
        var payloads: [IKEv2Payload] = []
        var next = first
        while next != .none {
            guard payloads.count < maxPayloads else { throw .tooMany(what: "payloads", limit: maxPayloads) }
            let type = next
            next = PayloadType(rawValue: try r.readUInt8("next payload"))
            let critical = try r.readUInt8("critical flag") & 0x80 != 0
            let length = Int(try r.readUInt16("payload length"))
            guard length >= 4 else { throw .invalid(what: "payload length", value: UInt64(length)) }
            let body = try r.readBytes(length - 4, "payload body")
            var payload = try IKEv2Payload.decode(type, critical: critical, body)
            if case let .encrypted(_, sealed) = payload {
                // §3.14: the SK payload is the last one; its Next Payload names the first inner one.
                payload = .encrypted(firstInner: next, body: sealed)
                next = .none
            } else if case let .encryptedFragment(_, number, total, sealed) = payload {
                // RFC 7383 §2.5: so is SKF.
                payload = .encryptedFragment(firstInner: next, number: number, total: total, body: sealed)
                next = .none
            }
            payloads.append(payload)
        }
        return payloads
    }

    /// The encoded message, its header's next-payload and length fields filled in.
    public func encode() throws(WireError) -> [UInt8] {
        let chain = try IKEv2Message.encodeChain(payloads)
        var h = header
        h.nextPayload = payloads.first?.type.rawValue ?? 0
        h.length = UInt32(ISAKMPHeader.size + chain.count)
        let headerBytes = try ByteWriter.bytes(capacity: ISAKMPHeader.size) { (w: inout ByteWriter) throws(WireError) in try h.write(to: &w) }
        return headerBytes + chain
    }

    /// A payload chain; for an SK payload the Next Payload field names its first inner
    /// payload.
    public static func encodeChain(_ payloads: [IKEv2Payload]) throws(WireError) -> [UInt8] {
        var out: [UInt8] = []
        for (i, p) in payloads.enumerated() {
            let body = try ByteWriter.bytes(capacity: 65536) { (w: inout ByteWriter) throws(WireError) in try p.writeBody(to: &w) }
            var next: UInt8 = i + 1 < payloads.count ? payloads[i + 1].type.rawValue : 0
            if case let .encrypted(firstInner, _) = p { next = firstInner.rawValue }
            if case let .encryptedFragment(firstInner, _, _, _) = p { next = firstInner.rawValue }
            let length = UInt16(4 + body.count)
            out += [next, 0, UInt8(length >> 8), UInt8(truncatingIfNeeded: length)]
            out += body
        }
        return out
    }

    public func notifies() -> [NotifyPayload] {
        var out: [NotifyPayload] = []
        for p in payloads { if case let .notify(n) = p { out.append(n) } }
        return out
    }

    public func notify(_ type: NotifyType) -> NotifyPayload? { notifies().first { $0.type == type } }
}
