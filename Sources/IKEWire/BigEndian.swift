/// Network byte order for the values the protocols hash, derive keys from and put in
/// payloads outside a ByteWriter (SPIs, cookies, message IDs).
extension UInt32 {
    public var bigEndianBytes: [UInt8] {
        [UInt8(self >> 24), UInt8(truncatingIfNeeded: self >> 16), UInt8(truncatingIfNeeded: self >> 8), UInt8(truncatingIfNeeded: self)]
    }

    /// The value of exactly four bytes in network order.
    public init?(bigEndianBytes b: [UInt8]) {
        guard b.count == 4 else { return nil }
        self = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
    }
}

extension UInt64 {
    public var bigEndianBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8)
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: self >> (56 - 8 * UInt64(k)))) }
        return out
    }
}
