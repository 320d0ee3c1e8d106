/// An IKEv1 message: the ISAKMP header and its payload chain (RFC 2408 §3). When the
/// header's encryption flag is set, everything after the header is ciphertext (§3.1,
/// RFC 2409 §5.3): the engine decrypts it and parses the chain with `parseChain`.
///
/// Generic payload header (RFC 2408 §3.2):
///
///      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     | Next Payload  |   RESERVED    |         Payload Length        |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public struct ISAKMPMessage: Equatable, Sendable {
    public var header: ISAKMPHeader
    public var payloads: [ISAKMPPayload]

    public static let maxPayloads = 64

    public init(header: ISAKMPHeader, payloads: [ISAKMPPayload]) {
        self.header = header
        self.payloads = payloads
    }

    public var exchange: ISAKMPExchange { ISAKMPExchange(rawValue: header.exchangeType) }
    public var isEncrypted: Bool { header.flags & ISAKMPFlags.encryption != 0 }

    /// The header, and the payloads of a message sent in the clear (an encrypted one
    /// gives none: its body is `body(of:)`).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> ISAKMPMessage {
        var r = ByteReader(bytes)
        let header = try ISAKMPHeader(from: &r)
        guard header.majorVersion == 1 else { throw .invalid(what: "major version", value: UInt64(header.majorVersion)) }
        if header.flags & ISAKMPFlags.encryption != 0 { return ISAKMPMessage(header: header, payloads: []) }
        var body = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[ISAKMPHeader.size..<Int(header.length)]))
        let payloads = try parseChain(first: ISAKMPPayloadType(rawValue: header.nextPayload), &body)
        guard body.isAtEnd else { throw .invalid(what: "bytes after the last payload", value: UInt64(body.remaining)) }
        return ISAKMPMessage(header: header, payloads: payloads)
    }

    /// Parses a payload chain starting with `first`. What follows the last payload is
    /// left in `r` (the padding of a decrypted body).
    public static func parseChain(first: ISAKMPPayloadType, _ r: inout ByteReader) throws(WireError) -> [ISAKMPPayload] {
        var payloads: [ISAKMPPayload] = []
        var next = first
        while next != .none {
            guard payloads.count < maxPayloads else { throw .tooMany(what: "payloads", limit: maxPayloads) }
            let type = next
            next = ISAKMPPayloadType(rawValue: try r.readUInt8("next payload"))
            try r.skip(1, "reserved")
            let length = Int(try r.readUInt16("payload length"))
            guard length >= 4 else { throw .invalid(what: "payload length", value: UInt64(length)) }
            payloads.append(try ISAKMPPayload.decode(type, try r.readBytes(length - 4, "payload body")))
        }
        return payloads
    }

    /// A payload chain, each payload's Next Payload field naming the one after it.
    public static func encodeChain(_ payloads: [ISAKMPPayload]) throws(WireError) -> [UInt8] {
        var out: [UInt8] = []
        for (i, p) in payloads.enumerated() {
            let body = try ByteWriter.bytes(capacity: 65536) { (w: inout ByteWriter) throws(WireError) in try p.writeBody(to: &w) }
            let next: UInt8 = i + 1 < payloads.count ? payloads[i + 1].type.rawValue : 0
            let length = UInt16(4 + body.count)
            out += [next, 0, UInt8(length >> 8), UInt8(truncatingIfNeeded: length)]
            out += body
        }
        return out
    }

    /// The header for `body` (a chain, or its ciphertext), next payload and length filled in.
    public static func headerBytes(_ header: ISAKMPHeader, firstPayload: ISAKMPPayloadType, bodyLength: Int) throws(WireError) -> [UInt8] {
        var h = header
        h.nextPayload = firstPayload.rawValue
        h.length = UInt32(ISAKMPHeader.size + bodyLength)
        return try ByteWriter.bytes(capacity: ISAKMPHeader.size) { (w: inout ByteWriter) throws(WireError) in try h.write(to: &w) }
    }

    /// The encoded message, in the clear.
    public func encode() throws(WireError) -> [UInt8] {
        let chain = try ISAKMPMessage.encodeChain(payloads)
        return try ISAKMPMessage.headerBytes(header, firstPayload: payloads.first?.type ?? .none, bodyLength: chain.count) + chain
    }
}

/// One IKEv1 payload, decoded and bounded.
public enum ISAKMPPayload: Equatable, Sendable {
    case securityAssociation(ISAKMPSecurityAssociation)
    case keyExchange([UInt8])
    case identification(ISAKMPIdentification)
    case certificate(encoding: UInt8, data: [UInt8])
    case certificateRequest(encoding: UInt8, authority: [UInt8])
    case hash([UInt8])
    case signature([UInt8])
    case nonce([UInt8])
    case notification(ISAKMPNotification)
    case delete(ISAKMPDelete)
    case vendorID([UInt8])
    /// RFC 3947 §3.2: HASH(CKY-I | CKY-R | IP | Port).
    case natDiscovery([UInt8])
    /// RFC 3947 §5.2: an original address (ID type 1 or 5).
    case natOriginalAddress(IPAddress)
    case unknown(type: UInt8, body: [UInt8])

    public var type: ISAKMPPayloadType {
        switch self {
        case .securityAssociation: return .securityAssociation
        case .keyExchange: return .keyExchange
        case .identification: return .identification
        case .certificate: return .certificate
        case .certificateRequest: return .certificateRequest
        case .hash: return .hash
        case .signature: return .signature
        case .nonce: return .nonce
        case .notification: return .notification
        case .delete: return .delete
        case .vendorID: return .vendorID
        case .natDiscovery: return .natDiscovery
        case .natOriginalAddress: return .natOriginalAddress
        case let .unknown(type, _): return ISAKMPPayloadType(rawValue: type)
        }
    }

    /// Nonces are 8 to 256 bytes (RFC 2409 §5).
    static let nonceLengths = 8...256

    static func decode(_ type: ISAKMPPayloadType, _ body: UnsafeRawBufferPointer) throws(WireError) -> ISAKMPPayload {
        var r = ByteReader(body)
        switch type {
        case .securityAssociation:
            return .securityAssociation(try ISAKMPSecurityAssociation.decode(body))
        case .keyExchange:
            guard !body.isEmpty else { throw .invalid(what: "KE length", value: 0) }
            return .keyExchange(Array(body))
        case .identification:
            return .identification(try ISAKMPIdentification.decode(&r))
        case .certificate:
            let encoding = try r.readUInt8("certificate encoding")
            return .certificate(encoding: encoding, data: Array(try r.readBytes(r.remaining)))
        case .certificateRequest:
            let encoding = try r.readUInt8("certificate encoding")
            return .certificateRequest(encoding: encoding, authority: Array(try r.readBytes(r.remaining)))
        case .hash:
            guard !body.isEmpty else { throw .invalid(what: "HASH length", value: 0) }
            return .hash(Array(body))
        case .signature:
            return .signature(Array(body))
        case .nonce:
            guard nonceLengths.contains(body.count) else { throw .invalid(what: "nonce length", value: UInt64(body.count)) }
            return .nonce(Array(body))
        case .notification:
            return .notification(try ISAKMPNotification.decode(&r))
        case .delete:
            return .delete(try ISAKMPDelete.decode(&r))
        case .vendorID:
            return .vendorID(Array(body))
        case .natDiscovery:
            guard !body.isEmpty else { throw .invalid(what: "NAT-D length", value: 0) }
            return .natDiscovery(Array(body))
        case .natOriginalAddress:
            let idType = try r.readUInt8("NAT-OA ID type")
            try r.skip(3, "reserved")
            let length = idType == IKEv1Number.IDType.ipv4 ? 4 : idType == IKEv1Number.IDType.ipv6 ? 16 : -1
            guard length > 0, r.remaining == length, let a = IPAddress(bytes: try r.readBytes(length)) else {
                throw .invalid(what: "NAT-OA", value: UInt64(idType))
            }
            return .natOriginalAddress(a)
        default:
            return .unknown(type: type.rawValue, body: Array(body))
        }
    }

    func writeBody(to w: inout ByteWriter) throws(WireError) {
        switch self {
        case let .securityAssociation(sa): try sa.write(to: &w)
        case let .keyExchange(data), let .hash(data), let .signature(data), let .nonce(data), let .vendorID(data),
             let .natDiscovery(data), let .unknown(_, data):
            try w.write(data)
        case let .identification(id): try id.write(to: &w)
        case let .certificate(encoding, data), let .certificateRequest(encoding, data):
            try w.write(encoding)
            try w.write(data)
        case let .notification(n): try n.write(to: &w)
        case let .delete(d): try d.write(to: &w)
        case let .natOriginalAddress(a):
            try w.write(a.isV4 ? IKEv1Number.IDType.ipv4 : IKEv1Number.IDType.ipv6)
            try w.write([0, 0, 0])
            try w.write(a.bytes)
        }
    }

    /// The body as sent (what HASH and the SA's SAi_b cover).
    public func body() throws(WireError) -> [UInt8] {
        try ByteWriter.bytes(capacity: 65536) { (w: inout ByteWriter) throws(WireError) in try writeBody(to: &w) }
    }
}

/// An ID payload (RFC 2408 §3.8 with the IPsec DOI's protocol and port, RFC 2407 §4.6.2).
public struct ISAKMPIdentification: Equatable, Sendable {
    public var type: UInt8
    public var protocolID: UInt8
    public var port: UInt16
    public var data: [UInt8]

    public init(type: UInt8, protocolID: UInt8 = 0, port: UInt16 = 0, data: [UInt8]) {
        self.type = type
        self.protocolID = protocolID
        self.port = port
        self.data = data
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> ISAKMPIdentification {
        let type = try r.readUInt8("ID type")
        let protocolID = try r.readUInt8("ID protocol")
        let port = try r.readUInt16("ID port")
        return ISAKMPIdentification(type: type, protocolID: protocolID, port: port, data: Array(try r.readBytes(r.remaining)))
    }

    func write(to w: inout ByteWriter) throws(WireError) {
        try w.write(type)
        try w.write(protocolID)
        try w.write(port)
        try w.write(data)
    }
}

/// A Notification payload (RFC 2408 §3.14).
public struct ISAKMPNotification: Equatable, Sendable {
    public var doi: UInt32
    public var protocolID: UInt8
    public var type: ISAKMPNotifyType
    public var spi: [UInt8]
    public var data: [UInt8]

    public init(_ type: ISAKMPNotifyType, protocolID: UInt8 = IKEv1Number.protocolISAKMP, spi: [UInt8] = [], data: [UInt8] = [],
                doi: UInt32 = IKEv1Number.doiIPsec) {
        self.doi = doi
        self.protocolID = protocolID
        self.type = type
        self.spi = spi
        self.data = data
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> ISAKMPNotification {
        let doi = try r.readUInt32("DOI")
        let protocolID = try r.readUInt8("protocol ID")
        let spiSize = Int(try r.readUInt8("SPI size"))
        let type = ISAKMPNotifyType(rawValue: try r.readUInt16("notify type"))
        let spi = Array(try r.readBytes(spiSize, "SPI"))
        return ISAKMPNotification(type, protocolID: protocolID, spi: spi, data: Array(try r.readBytes(r.remaining)), doi: doi)
    }

    func write(to w: inout ByteWriter) throws(WireError) {
        try w.write(doi)
        try w.write(protocolID)
        try w.write(UInt8(spi.count))
        try w.write(type.rawValue)
        try w.write(spi)
        try w.write(data)
    }
}

/// A Delete payload (RFC 2408 §3.15): SPIs of one protocol, all of one size.
public struct ISAKMPDelete: Equatable, Sendable {
    public var doi: UInt32
    public var protocolID: UInt8
    public var spis: [[UInt8]]

    public static let maxSPIs = 64

    public init(protocolID: UInt8, spis: [[UInt8]], doi: UInt32 = IKEv1Number.doiIPsec) {
        self.doi = doi
        self.protocolID = protocolID
        self.spis = spis
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> ISAKMPDelete {
        let doi = try r.readUInt32("DOI")
        let protocolID = try r.readUInt8("protocol ID")
        let spiSize = Int(try r.readUInt8("SPI size"))
        let count = Int(try r.readUInt16("number of SPIs"))
        guard count <= maxSPIs else { throw .tooMany(what: "SPIs", limit: maxSPIs) }
        guard spiSize > 0, count > 0, spiSize * count == r.remaining else { throw .invalid(what: "delete SPI size", value: UInt64(spiSize)) }
        var spis: [[UInt8]] = []
        for _ in 0..<count { spis.append(Array(try r.readBytes(spiSize, "SPI"))) }
        return ISAKMPDelete(protocolID: protocolID, spis: spis, doi: doi)
    }

    func write(to w: inout ByteWriter) throws(WireError) {
        try w.write(doi)
        try w.write(protocolID)
        try w.write(UInt8(spis.first?.count ?? 0))
        try w.write(UInt16(spis.count))
        for s in spis { try w.write(s) }
    }
}
