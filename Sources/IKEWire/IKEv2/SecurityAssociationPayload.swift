/// The SA payload's proposals (RFC 7296 §3.3).
///
///                          1                   2                   3
///      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     | Last Substruc |   RESERVED    |         Proposal Length       |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     ~                        SPI (variable)                         ~
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     ~                        <Transforms>                           ~
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public struct ProposalPayload: Equatable, Sendable {
    public var number: UInt8
    public var protocolID: UInt8
    public var spi: [UInt8]
    public var transforms: [TransformPayload]

    public init(number: UInt8, protocolID: UInt8, spi: [UInt8], transforms: [TransformPayload]) {
        self.number = number
        self.protocolID = protocolID
        self.spi = spi
        self.transforms = transforms
    }

    public static let maxProposals = 32
    public static let maxTransforms = 64

    /// The transforms of one type, in order.
    public func transforms(ofType type: UInt8) -> [TransformPayload] { transforms.filter { $0.type == type } }

    static func parseAll(_ reader: inout ByteReader) throws(WireError) -> [ProposalPayload] {
        var out: [ProposalPayload] = []
        var last: UInt8 = 2
        while last == 2 {
            guard out.count < maxProposals else { throw .tooMany(what: "proposals", limit: maxProposals) }
            last = try reader.readUInt8("proposal last substructure")
            guard last == 0 || last == 2 else { throw .invalid(what: "proposal last substructure", value: UInt64(last)) }
            _ = try reader.readUInt8("proposal reserved")
            let length = Int(try reader.readUInt16("proposal length"))
            guard length >= 8 else { throw .invalid(what: "proposal length", value: UInt64(length)) }
            var body = ByteReader(try reader.readBytes(length - 4, "proposal"))
            out.append(try parseOne(&body))
        }
        guard reader.isAtEnd else { throw .invalid(what: "bytes after the last proposal", value: UInt64(reader.remaining)) }
        return out
    }

    private static func parseOne(_ r: inout ByteReader) throws(WireError) -> ProposalPayload {
        let number = try r.readUInt8("proposal number")
        let protocolID = try r.readUInt8("protocol ID")
        let spiSize = Int(try r.readUInt8("SPI size"))
        let count = Int(try r.readUInt8("number of transforms"))
        guard count <= maxTransforms else { throw .tooMany(what: "transforms", limit: maxTransforms) }
        let spi = Array(try r.readBytes(spiSize, "proposal SPI"))
        var transforms: [TransformPayload] = []
        for i in 0..<count {
            let last = try r.readUInt8("transform last substructure")
            guard last == (i == count - 1 ? 0 : 3) else { throw .invalid(what: "transform last substructure", value: UInt64(last)) }
            _ = try r.readUInt8("transform reserved")
            let length = Int(try r.readUInt16("transform length"))
            guard length >= 8 else { throw .invalid(what: "transform length", value: UInt64(length)) }
            var t = ByteReader(try r.readBytes(length - 4, "transform"))
            transforms.append(try TransformPayload(from: &t))
        }
        guard r.isAtEnd else { throw .invalid(what: "bytes after the last transform", value: UInt64(r.remaining)) }
        return ProposalPayload(number: number, protocolID: protocolID, spi: spi, transforms: transforms)
    }

    func write(to w: inout ByteWriter, last: Bool) throws(WireError) {
        let start = w.count
        try w.write(UInt8(last ? 0 : 2))
        try w.write(UInt8(0))
        try w.write(UInt16(0))
        try w.write(number)
        try w.write(protocolID)
        try w.write(UInt8(spi.count))
        try w.write(UInt8(transforms.count))
        try w.write(spi)
        for (i, t) in transforms.enumerated() { try t.write(to: &w, last: i == transforms.count - 1) }
        w.patch(UInt16(w.count - start), at: start + 2)
    }
}

/// A transform with its Key Length attribute (RFC 7296 §3.3.2, §3.3.5), the only
/// attribute IKEv2 defines.
public struct TransformPayload: Equatable, Sendable {
    public var type: UInt8
    public var id: UInt16
    public var keyLength: UInt16?

    public init(type: UInt8, id: UInt16, keyLength: UInt16? = nil) {
        self.type = type
        self.id = id
        self.keyLength = keyLength
    }

    init(from r: inout ByteReader) throws(WireError) {
        type = try r.readUInt8("transform type")
        _ = try r.readUInt8("transform reserved")
        id = try r.readUInt16("transform ID")
        keyLength = nil
        while !r.isAtEnd {
            let typeField = try r.readUInt16("attribute type")
            if typeField & 0x8000 != 0 {
                let value = try r.readUInt16("attribute value")
                if typeField & 0x7fff == 14 { keyLength = value }
            } else {
                let length = Int(try r.readUInt16("attribute length"))
                try r.skip(length, "attribute value")
            }
        }
    }

    func write(to w: inout ByteWriter, last: Bool) throws(WireError) {
        try w.write(UInt8(last ? 0 : 3))
        try w.write(UInt8(0))
        try w.write(UInt16(keyLength == nil ? 8 : 12))
        try w.write(type)
        try w.write(UInt8(0))
        try w.write(id)
        if let keyLength {
            try w.write(UInt16(0x800e))
            try w.write(keyLength)
        }
    }
}
