/// The IKEv1 SA payload's contents (RFC 2408 §3.4-§3.6, RFC 2407 §4.6.1): the DOI, the
/// situation, and proposals of transforms whose attributes are TV or TLV (§3.3).
public struct ISAKMPSecurityAssociation: Equatable, Sendable {
    public var doi: UInt32
    public var situation: UInt32
    public var proposals: [ISAKMPProposal]

    public static let maxProposals = 32

    public init(doi: UInt32 = IKEv1Number.doiIPsec, situation: UInt32 = IKEv1Number.situationIdentityOnly, proposals: [ISAKMPProposal]) {
        self.doi = doi
        self.situation = situation
        self.proposals = proposals
    }

    static func decode(_ body: UnsafeRawBufferPointer) throws(WireError) -> ISAKMPSecurityAssociation {
        var r = ByteReader(body)
        let doi = try r.readUInt32("DOI")
        let situation = try r.readUInt32("situation")
        guard doi == IKEv1Number.doiIPsec else { throw .invalid(what: "DOI", value: UInt64(doi)) }
        var proposals: [ISAKMPProposal] = []
        var next = ISAKMPPayloadType.proposal
        while next == .proposal {
            guard proposals.count < maxProposals else { throw .tooMany(what: "proposals", limit: maxProposals) }
            next = ISAKMPPayloadType(rawValue: try r.readUInt8("proposal next payload"))
            try r.skip(1, "reserved")
            let length = Int(try r.readUInt16("proposal length"))
            guard length >= 8 else { throw .invalid(what: "proposal length", value: UInt64(length)) }
            proposals.append(try ISAKMPProposal.decode(try r.readBytes(length - 4, "proposal")))
        }
        guard next == .none, !proposals.isEmpty else { throw .invalid(what: "proposal chain", value: UInt64(next.rawValue)) }
        return ISAKMPSecurityAssociation(doi: doi, situation: situation, proposals: proposals)
    }

    func write(to w: inout ByteWriter) throws(WireError) {
        try w.write(doi)
        try w.write(situation)
        for (i, p) in proposals.enumerated() {
            let body = try ByteWriter.bytes(capacity: 4096) { (b: inout ByteWriter) throws(WireError) in try p.write(to: &b) }
            try w.write(UInt8(i + 1 < proposals.count ? ISAKMPPayloadType.proposal.rawValue : 0))
            try w.write(UInt8(0))
            try w.write(UInt16(4 + body.count))
            try w.write(body)
        }
    }
}

/// A proposal (RFC 2408 §3.5): one protocol with its SPI and the transforms to choose from.
public struct ISAKMPProposal: Equatable, Sendable {
    public var number: UInt8
    public var protocolID: UInt8
    public var spi: [UInt8]
    public var transforms: [ISAKMPTransform]

    public static let maxTransforms = 64

    public init(number: UInt8, protocolID: UInt8, spi: [UInt8], transforms: [ISAKMPTransform]) {
        self.number = number
        self.protocolID = protocolID
        self.spi = spi
        self.transforms = transforms
    }

    static func decode(_ body: UnsafeRawBufferPointer) throws(WireError) -> ISAKMPProposal {
        var r = ByteReader(body)
        let number = try r.readUInt8("proposal number")
        let protocolID = try r.readUInt8("protocol ID")
        let spiSize = Int(try r.readUInt8("SPI size"))
        let count = Int(try r.readUInt8("number of transforms"))
        let spi = Array(try r.readBytes(spiSize, "SPI"))
        guard count >= 1, count <= maxTransforms else { throw .invalid(what: "number of transforms", value: UInt64(count)) }
        var transforms: [ISAKMPTransform] = []
        var next = ISAKMPPayloadType.transform
        while next == .transform {
            guard transforms.count < count else { throw .tooMany(what: "transforms", limit: count) }
            next = ISAKMPPayloadType(rawValue: try r.readUInt8("transform next payload"))
            try r.skip(1, "reserved")
            let length = Int(try r.readUInt16("transform length"))
            guard length >= 8 else { throw .invalid(what: "transform length", value: UInt64(length)) }
            transforms.append(try ISAKMPTransform.decode(try r.readBytes(length - 4, "transform")))
        }
        guard next == .none, transforms.count == count, r.isAtEnd else {
            throw .invalid(what: "transform chain", value: UInt64(transforms.count))
        }
        return ISAKMPProposal(number: number, protocolID: protocolID, spi: spi, transforms: transforms)
    }

    func write(to w: inout ByteWriter) throws(WireError) {
        try w.write(number)
        try w.write(protocolID)
        try w.write(UInt8(spi.count))
        try w.write(UInt8(transforms.count))
        try w.write(spi)
        for (i, t) in transforms.enumerated() {
            let body = try ByteWriter.bytes(capacity: 1024) { (b: inout ByteWriter) throws(WireError) in try t.write(to: &b) }
            try w.write(UInt8(i + 1 < transforms.count ? ISAKMPPayloadType.transform.rawValue : 0))
            try w.write(UInt8(0))
            try w.write(UInt16(4 + body.count))
            try w.write(body)
        }
    }
}

/// A transform (RFC 2408 §3.6): its ID and its SA attributes.
public struct ISAKMPTransform: Equatable, Sendable {
    public var number: UInt8
    public var id: UInt8
    public var attributes: [ISAKMPAttribute]

    public static let maxAttributes = 32

    public init(number: UInt8, id: UInt8, attributes: [ISAKMPAttribute]) {
        self.number = number
        self.id = id
        self.attributes = attributes
    }

    /// The first attribute of `type`, if any.
    public func attribute(_ type: UInt16) -> ISAKMPAttribute? { attributes.first { $0.type == type } }

    static func decode(_ body: UnsafeRawBufferPointer) throws(WireError) -> ISAKMPTransform {
        var r = ByteReader(body)
        let number = try r.readUInt8("transform number")
        let id = try r.readUInt8("transform ID")
        try r.skip(2, "reserved")
        var attributes: [ISAKMPAttribute] = []
        while !r.isAtEnd {
            guard attributes.count < maxAttributes else { throw .tooMany(what: "attributes", limit: maxAttributes) }
            attributes.append(try ISAKMPAttribute.decode(&r))
        }
        return ISAKMPTransform(number: number, id: id, attributes: attributes)
    }

    func write(to w: inout ByteWriter) throws(WireError) {
        try w.write(number)
        try w.write(id)
        try w.write(UInt16(0))
        for a in attributes { try a.write(to: &w) }
    }
}

/// An SA attribute (RFC 2408 §3.3): basic (TV, a 16-bit value, the AF bit set) or
/// variable (TLV).
public struct ISAKMPAttribute: Equatable, Sendable {
    public var type: UInt16
    public var isBasic: Bool
    public var value: [UInt8]

    public static func basic(_ type: UInt16, _ value: UInt16) -> ISAKMPAttribute {
        ISAKMPAttribute(type: type, isBasic: true, value: [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)])
    }

    public static func variable(_ type: UInt16, _ value: [UInt8]) -> ISAKMPAttribute {
        ISAKMPAttribute(type: type, isBasic: false, value: value)
    }

    /// A number that fits basic or variable form: basic when it fits 16 bits, as peers
    /// expect for durations (RFC 2409 Appendix A allows either).
    public static func number(_ type: UInt16, _ value: UInt32) -> ISAKMPAttribute {
        if value <= 0xffff { return .basic(type, UInt16(value)) }
        return .variable(type, [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)])
    }

    public init(type: UInt16, isBasic: Bool, value: [UInt8]) {
        self.type = type
        self.isBasic = isBasic
        self.value = value
    }

    /// The value as a number, for either form; nil above 64 bits.
    public var integer: UInt64? {
        guard value.count <= 8 else { return nil }
        var v: UInt64 = 0
        for b in value { v = v << 8 | UInt64(b) }
        return v
    }

    /// One attribute from `r` (the attribute lists of notifications such as RESPONDER-LIFETIME).
    public static func parse(_ r: inout ByteReader) throws(WireError) -> ISAKMPAttribute { try decode(&r) }

    /// The attribute as sent.
    public var encoded: [UInt8] {
        (try? ByteWriter.bytes(capacity: 4 + value.count) { (w: inout ByteWriter) throws(WireError) in try write(to: &w) }) ?? []
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> ISAKMPAttribute {
        let word = try r.readUInt16("attribute type")
        if word & 0x8000 != 0 {
            let v = try r.readUInt16("attribute value")
            return .basic(word & 0x7fff, v)
        }
        let length = Int(try r.readUInt16("attribute length"))
        return .variable(word, Array(try r.readBytes(length, "attribute value")))
    }

    func write(to w: inout ByteWriter) throws(WireError) {
        if isBasic {
            try w.write(type | 0x8000)
            try w.write(value)
        } else {
            try w.write(type)
            try w.write(UInt16(value.count))
            try w.write(value)
        }
    }
}
