/// Writes big-endian fields into a caller-provided byte range (a pool buffer).
///
/// Running out of room throws `WireError.noSpace`; nothing is written past the end.
public struct ByteWriter {
    public let base: UnsafeMutableRawBufferPointer
    public private(set) var count: Int = 0

    public init(_ bytes: UnsafeMutableRawBufferPointer) { self.base = bytes }

    public var remaining: Int { base.count - count }
    public var written: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: base[0..<count]) }

    private mutating func need(_ n: Int) throws(WireError) {
        guard n <= remaining else { throw .noSpace(needed: n, available: remaining) }
    }

    public mutating func write(_ v: UInt8) throws(WireError) {
        try need(1)
        base[count] = v
        count += 1
    }

    public mutating func write(_ v: UInt16) throws(WireError) {
        try need(2)
        base[count] = UInt8(truncatingIfNeeded: v >> 8)
        base[count + 1] = UInt8(truncatingIfNeeded: v)
        count += 2
    }

    public mutating func write(_ v: UInt32) throws(WireError) {
        try need(4)
        for i in 0..<4 { base[count + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(i))) }
        count += 4
    }

    public mutating func write(_ v: UInt64) throws(WireError) {
        try write(UInt32(truncatingIfNeeded: v >> 32))
        try write(UInt32(truncatingIfNeeded: v))
    }

    public mutating func write(bytes: UnsafeRawBufferPointer) throws(WireError) {
        try need(bytes.count)
        if bytes.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: base[count..<(count + bytes.count)]).copyMemory(from: bytes)
        }
        count += bytes.count
    }

    public mutating func write(_ bytes: [UInt8]) throws(WireError) {
        try need(bytes.count)
        let start = count
        bytes.withUnsafeBytes { src in
            if src.count > 0 { UnsafeMutableRawBufferPointer(rebasing: base[start..<(start + src.count)]).copyMemory(from: src) }
        }
        count += bytes.count
    }

    /// Overwrites a 16-bit field written earlier (a length known only afterwards).
    public mutating func patch(_ v: UInt16, at position: Int) {
        precondition(position + 2 <= count, "patch beyond written bytes")
        base[position] = UInt8(truncatingIfNeeded: v >> 8)
        base[position + 1] = UInt8(truncatingIfNeeded: v)
    }
}

extension ByteWriter {
    /// Runs `body` on a writer over a scratch buffer of `capacity` bytes and returns what
    /// it wrote, in an array of that size. The scratch is neither zero-filled nor kept:
    /// a writer only ever reads back bytes it wrote, and encoding a payload into room
    /// for the largest one must not cost a 64 KiB memset.
    public static func bytes(capacity: Int, _ body: (inout ByteWriter) throws(WireError) -> Void) throws(WireError) -> [UInt8] {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer { scratch.deallocate() }
        var writer = ByteWriter(scratch)
        try body(&writer)
        return Array(UnsafeRawBufferPointer(rebasing: scratch[0..<writer.count]))
    }
}
