/// Reads big-endian fields from a borrowed byte range without copying.
///
/// Every read checks the remaining length first and throws `WireError.truncated`
/// naming what was expected; a reader never reads past its end.
public struct ByteReader {
    public let base: UnsafeRawBufferPointer
    public private(set) var offset: Int

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.base = bytes
        self.offset = 0
    }

    public var remaining: Int { base.count - offset }
    public var isAtEnd: Bool { offset == base.count }

    private mutating func need(_ n: Int, _ what: StaticString) throws(WireError) {
        guard n <= remaining else {
            throw .truncated(what: what, needed: n, available: remaining)
        }
    }

    public mutating func readUInt8(_ what: StaticString = "uint8") throws(WireError) -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return base[offset]
    }

    public mutating func readUInt16(_ what: StaticString = "uint16") throws(WireError) -> UInt16 {
        try need(2, what)
        defer { offset += 2 }
        return UInt16(base[offset]) << 8 | UInt16(base[offset + 1])
    }

    public mutating func readUInt32(_ what: StaticString = "uint32") throws(WireError) -> UInt32 {
        try need(4, what)
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(base[offset + i]) }
        offset += 4
        return v
    }

    public mutating func readUInt64(_ what: StaticString = "uint64") throws(WireError) -> UInt64 {
        let hi = try readUInt32(what)
        let lo = try readUInt32(what)
        return UInt64(hi) << 32 | UInt64(lo)
    }

    /// A view of the next `count` bytes, consumed.
    public mutating func readBytes(_ count: Int, _ what: StaticString = "bytes") throws(WireError) -> UnsafeRawBufferPointer {
        try need(count, what)
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<(offset + count)])
    }

    public mutating func skip(_ count: Int, _ what: StaticString = "bytes") throws(WireError) {
        try need(count, what)
        offset += count
    }
}
