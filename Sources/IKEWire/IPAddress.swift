/// An IPv4 or IPv6 address, as carried in ID and traffic-selector payloads and used
/// for sockets. Parses the usual text forms and prints IPv6 as RFC 5952 recommends.
public enum IPAddress: Hashable, CustomStringConvertible, Sendable {
    /// The address in network byte order read as a big-endian integer.
    case v4(UInt32)
    /// The 128-bit address as two big-endian halves.
    case v6(high: UInt64, low: UInt64)

    public static let anyV4 = IPAddress.v4(0)
    public static let anyV6 = IPAddress.v6(high: 0, low: 0)

    public var isV4: Bool {
        switch self {
        case .v4: return true
        case .v6: return false
        }
    }

    /// The address bytes in network order (4 or 16 of them).
    public var bytes: [UInt8] {
        switch self {
        case let .v4(a):
            return [UInt8(a >> 24), UInt8(truncatingIfNeeded: a >> 16),
                    UInt8(truncatingIfNeeded: a >> 8), UInt8(truncatingIfNeeded: a)]
        case let .v6(high, low):
            var out: [UInt8] = []
            out.reserveCapacity(16)
            for half in [high, low] {
                for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: half >> (56 - 8 * UInt64(i)))) }
            }
            return out
        }
    }

    /// Builds an address from 4 or 16 network-order bytes.
    public init?(bytes: UnsafeRawBufferPointer) {
        switch bytes.count {
        case 4:
            var a: UInt32 = 0
            for b in bytes { a = a << 8 | UInt32(b) }
            self = .v4(a)
        case 16:
            var h: UInt64 = 0, l: UInt64 = 0
            for i in 0..<8 { h = h << 8 | UInt64(bytes[i]) }
            for i in 8..<16 { l = l << 8 | UInt64(bytes[i]) }
            self = .v6(high: h, low: l)
        default:
            return nil
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 §2.2 IPv6 text (with `::` and an embedded
    /// IPv4 tail); nil for anything else.
    public init?(_ text: String) {
        let chars = Array(text.utf8)
        if chars.contains(UInt8(ascii: ":")) {
            guard let v6 = IPAddress.parseV6(chars) else { return nil }
            self = v6
        } else {
            guard let v4 = IPAddress.parseV4(chars[...]) else { return nil }
            self = .v4(v4)
        }
    }

    private static func parseV4(_ chars: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var parts = 0
        var digits = 0
        var part: UInt32 = 0
        for c in chars {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | part
                parts += 1
                digits = 0
                part = 0
            } else if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                if digits > 0 && part == 0 { return nil }  // no leading zeros
                part = part * 10 + UInt32(c - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, part <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return value << 8 | part
    }

    private static func hexValue(_ c: UInt8) -> UInt16? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt16(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt16(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt16(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private static func parseV6(_ chars: [UInt8]) -> IPAddress? {
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        var i = 0
        let n = chars.count
        if n >= 2 && chars[0] == UInt8(ascii: ":") && chars[1] == UInt8(ascii: ":") {
            sawGap = true
            i = 2
            if i == n { return .anyV6 }
        } else if n > 0 && chars[0] == UInt8(ascii: ":") {
            return nil
        }
        while i < n {
            var j = i
            var group: UInt16 = 0
            while j < n, j - i < 4, let h = hexValue(chars[j]) {
                group = group << 4 | h
                j += 1
            }
            if j < n && chars[j] == UInt8(ascii: ".") {
                guard let v4 = parseV4(chars[i...]) else { return nil }
                let pair = [UInt16(v4 >> 16), UInt16(truncatingIfNeeded: v4)]
                if sawGap { tail += pair } else { head += pair }
                i = n
                break
            }
            guard j > i else { return nil }
            if sawGap { tail.append(group) } else { head.append(group) }
            if j == n { i = n; break }
            guard chars[j] == UInt8(ascii: ":") else { return nil }
            if j + 1 < n && chars[j + 1] == UInt8(ascii: ":") {
                guard !sawGap else { return nil }
                sawGap = true
                i = j + 2
            } else {
                guard j + 1 < n else { return nil }
                i = j + 1
            }
        }
        let total = head.count + tail.count
        guard sawGap ? total <= 7 : total == 8 else { return nil }
        let groups = head + [UInt16](repeating: 0, count: 8 - total) + tail
        var h: UInt64 = 0, l: UInt64 = 0
        for k in 0..<4 { h = h << 16 | UInt64(groups[k]) }
        for k in 4..<8 { l = l << 16 | UInt64(groups[k]) }
        return .v6(high: h, low: l)
    }

    public var description: String {
        switch self {
        case let .v4(a):
            return "\(a >> 24).\((a >> 16) & 0xff).\((a >> 8) & 0xff).\(a & 0xff)"
        case let .v6(high, low):
            return IPAddress.formatV6(high: high, low: low)
        }
    }

    /// RFC 5952 §4: lowercase, no leading zeros, the longest run (two or more) of zero
    /// groups shortened to `::`, the first such run on a tie.
    private static func formatV6(high: UInt64, low: UInt64) -> String {
        var groups: [UInt16] = []
        for k in 0..<4 { groups.append(UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64(k)))) }
        for k in 0..<4 { groups.append(UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64(k)))) }
        var bestStart = -1, bestLen = 0, k = 0
        while k < 8 {
            if groups[k] == 0 {
                var e = k
                while e < 8 && groups[e] == 0 { e += 1 }
                if e - k > bestLen && e - k >= 2 { bestStart = k; bestLen = e - k }
                k = e
            } else {
                k += 1
            }
        }
        var out = ""
        var g = 0
        while g < 8 {
            if g == bestStart {
                out += "::"
                g += bestLen
                continue
            }
            if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
            out += hex(groups[g])
            g += 1
        }
        return out
    }

    private static func hex(_ v: UInt16) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        var s = ""
        var started = false
        for shift in stride(from: 12, through: 0, by: -4) {
            let d = Int((v >> UInt16(shift)) & 0xf)
            if d != 0 || started || shift == 0 {
                s.append(digits[d])
                started = true
            }
        }
        return s
    }
}
