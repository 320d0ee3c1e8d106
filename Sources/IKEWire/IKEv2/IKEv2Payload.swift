/// One IKEv2 payload (RFC 7296 §3.2 onwards), decoded. Payload bodies are bounded by
/// their generic header before a decoder runs; unknown payloads are kept, unless marked
/// critical (§2.5).
public enum IKEv2Payload: Equatable, Sendable {
    case securityAssociation([ProposalPayload])
    /// §3.4: the DH group and the public value.
    case keyExchange(group: UInt16, data: [UInt8])
    /// §3.5: IDi or IDr.
    case identification(initiator: Bool, type: UInt8, data: [UInt8])
    /// §3.8: the method (2: shared key MIC) and the AUTH data.
    case authentication(method: UInt8, data: [UInt8])
    case nonce([UInt8])
    case notify(NotifyPayload)
    /// §3.11: protocol and the SPIs (none for the IKE SA).
    case delete(protocolID: UInt8, spis: [[UInt8]])
    case vendorID([UInt8])
    /// §3.13: TSi or TSr.
    case trafficSelectors(initiator: Bool, [TrafficSelector])
    /// §3.6: CERT, the encoding (4: X.509 signature) and the data.
    case certificate(encoding: UInt8, data: [UInt8])
    /// §3.7: CERTREQ, the encoding and the CA key hashes.
    case certificateRequest(encoding: UInt8, data: [UInt8])
    /// §3.15: CP, the configuration type and its attributes.
    case configuration(type: UInt8, attributes: [ConfigurationAttribute])
    /// §3.14: the inner chain's first payload type and IV | ciphertext | ICV.
    case encrypted(firstInner: PayloadType, body: [UInt8])
    /// RFC 7383 §2.5: SKF, fragment `number` of `total` of a protected message, and IV |
    /// ciphertext | ICV. Only the first fragment names the first inner payload.
    case encryptedFragment(firstInner: PayloadType, number: UInt16, total: UInt16, body: [UInt8])
    case other(type: PayloadType, critical: Bool, body: [UInt8])

    public var type: PayloadType {
        switch self {
        case .securityAssociation: return .securityAssociation
        case .keyExchange: return .keyExchange
        case let .identification(initiator, _, _): return initiator ? .identificationInitiator : .identificationResponder
        case .authentication: return .authentication
        case .nonce: return .nonce
        case .notify: return .notify
        case .delete: return .delete
        case .vendorID: return .vendorID
        case let .trafficSelectors(initiator, _): return initiator ? .trafficSelectorInitiator : .trafficSelectorResponder
        case .encrypted: return .encrypted
        case .encryptedFragment: return .encryptedFragment
        case .certificate: return .certificate
        case .certificateRequest: return .certificateRequest
        case .configuration: return .configuration
        case let .other(type, _, _): return type
        }
    }

    /// Decodes a payload body of `type`; `critical` is the header's critical bit.
    static func decode(_ type: PayloadType, critical: Bool, _ body: UnsafeRawBufferPointer) throws(WireError) -> IKEv2Payload {
        var r = ByteReader(body)
        switch type {
        case .securityAssociation:
            return .securityAssociation(try ProposalPayload.parseAll(&r))
        case .keyExchange:
            let group = try r.readUInt16("DH group")
            try r.skip(2, "KE reserved")
            return .keyExchange(group: group, data: Array(try r.readBytes(r.remaining)))
        case .identificationInitiator, .identificationResponder:
            let idType = try r.readUInt8("ID type")
            try r.skip(3, "ID reserved")
            return .identification(initiator: type == .identificationInitiator, type: idType, data: Array(try r.readBytes(r.remaining)))
        case .authentication:
            let method = try r.readUInt8("auth method")
            try r.skip(3, "AUTH reserved")
            return .authentication(method: method, data: Array(try r.readBytes(r.remaining)))
        case .nonce:
            // §3.9: 16 to 256 octets.
            guard r.remaining >= 16 && r.remaining <= 256 else { throw .invalid(what: "nonce length", value: UInt64(r.remaining)) }
            return .nonce(Array(try r.readBytes(r.remaining)))
        case .notify:
            return .notify(try NotifyPayload(from: &r))
        case .delete:
            let protocolID = try r.readUInt8("protocol ID")
            let spiSize = Int(try r.readUInt8("SPI size"))
            let count = Int(try r.readUInt16("number of SPIs"))
            guard count <= 1024 else { throw .tooMany(what: "SPIs to delete", limit: 1024) }
            var spis: [[UInt8]] = []
            for _ in 0..<count { spis.append(Array(try r.readBytes(spiSize, "SPI"))) }
            return .delete(protocolID: protocolID, spis: spis)
        case .vendorID:
            return .vendorID(Array(try r.readBytes(r.remaining)))
        case .trafficSelectorInitiator, .trafficSelectorResponder:
            return .trafficSelectors(initiator: type == .trafficSelectorInitiator, try TrafficSelector.parseAll(&r))
        case .certificate, .certificateRequest:
            let encoding = try r.readUInt8("certificate encoding")
            let data = Array(try r.readBytes(r.remaining))
            return type == .certificate ? .certificate(encoding: encoding, data: data) : .certificateRequest(encoding: encoding, data: data)
        case .configuration:
            let cfgType = try r.readUInt8("CFG type")
            try r.skip(3, "CP reserved")
            var attributes: [ConfigurationAttribute] = []
            while !r.isAtEnd {
                guard attributes.count < 64 else { throw .tooMany(what: "configuration attributes", limit: 64) }
                let t = try r.readUInt16("attribute type") & 0x7fff
                let length = Int(try r.readUInt16("attribute length"))
                attributes.append(ConfigurationAttribute(type: t, value: Array(try r.readBytes(length, "attribute value"))))
            }
            return .configuration(type: cfgType, attributes: attributes)
        case .encrypted:
            // The SK payload's first-inner type travels in its generic header; set by the caller.
            return .encrypted(firstInner: .none, body: Array(try r.readBytes(r.remaining)))
        case .encryptedFragment:
            let number = try r.readUInt16("fragment number"), total = try r.readUInt16("total fragments")
            guard number >= 1, number <= total else { throw .invalid(what: "fragment number", value: UInt64(number)) }
            return .encryptedFragment(firstInner: .none, number: number, total: total, body: Array(try r.readBytes(r.remaining)))
        default:
            if critical { throw .unsupportedCriticalPayload(type.rawValue) }
            return .other(type: type, critical: false, body: Array(body))
        }
    }

    /// Writes the body (without the generic header).
    func writeBody(to w: inout ByteWriter) throws(WireError) {
        switch self {
        case let .securityAssociation(proposals):
            for (i, p) in proposals.enumerated() { try p.write(to: &w, last: i == proposals.count - 1) }
        case let .keyExchange(group, data):
            try w.write(group)
            try w.write(UInt16(0))
            try w.write(data)
        case let .identification(_, type, data):
            try w.write(type)
            try w.write([0, 0, 0])
            try w.write(data)
        case let .authentication(method, data):
            try w.write(method)
            try w.write([0, 0, 0])
            try w.write(data)
        case let .nonce(data), let .vendorID(data):
            try w.write(data)
        case let .notify(n):
            try n.write(to: &w)
        case let .delete(protocolID, spis):
            try w.write(protocolID)
            try w.write(UInt8(spis.first?.count ?? 0))
            try w.write(UInt16(spis.count))
            for spi in spis { try w.write(spi) }
        case let .trafficSelectors(_, selectors):
            try TrafficSelector.write(selectors, to: &w)
        case let .certificate(encoding, data), let .certificateRequest(encoding, data):
            try w.write(encoding)
            try w.write(data)
        case let .configuration(type, attributes):
            try w.write(type)
            try w.write([0, 0, 0])
            for a in attributes {
                try w.write(a.type & 0x7fff)
                try w.write(UInt16(a.value.count))
                try w.write(a.value)
            }
        case let .encryptedFragment(_, number, total, body):
            try w.write(number)
            try w.write(total)
            try w.write(body)
        case let .encrypted(_, body), let .other(_, _, body):
            try w.write(body)
        }
    }

    /// The body as bytes: what RFC 7296 §2.15 calls RestOfInitIDPayload for an ID payload.
    public var body: [UInt8] {
        (try? ByteWriter.bytes(capacity: 65536) { (w: inout ByteWriter) throws(WireError) in try writeBody(to: &w) }) ?? []
    }
}

/// The Notify payload (RFC 7296 §3.10).
///
///      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     |  Protocol ID  |   SPI Size    |      Notify Message Type      |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     ~                Security Parameter Index (SPI)                 ~
///     ~                       Notification Data                       ~
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public struct NotifyPayload: Equatable, Sendable {
    public var protocolID: UInt8
    public var spi: [UInt8]
    public var type: NotifyType
    public var data: [UInt8]

    public init(_ type: NotifyType, protocolID: UInt8 = 0, spi: [UInt8] = [], data: [UInt8] = []) {
        self.type = type
        self.protocolID = protocolID
        self.spi = spi
        self.data = data
    }

    init(from r: inout ByteReader) throws(WireError) {
        protocolID = try r.readUInt8("protocol ID")
        let spiSize = Int(try r.readUInt8("SPI size"))
        type = NotifyType(rawValue: try r.readUInt16("notify type"))
        spi = Array(try r.readBytes(spiSize, "notify SPI"))
        data = Array(try r.readBytes(r.remaining))
    }

    func write(to w: inout ByteWriter) throws(WireError) {
        try w.write(protocolID)
        try w.write(UInt8(spi.count))
        try w.write(type.rawValue)
        try w.write(spi)
        try w.write(data)
    }
}

/// One attribute of a Configuration payload (RFC 7296 §3.15.1).
public struct ConfigurationAttribute: Equatable, Sendable {
    public var type: UInt16
    public var value: [UInt8]

    public init(type: UInt16, value: [UInt8]) {
        self.type = type
        self.value = value
    }
}
