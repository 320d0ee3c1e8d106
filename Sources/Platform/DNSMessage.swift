import IKEWire

/// Just enough DNS (RFC 1035) for a stub resolver that finds a peer's address: one
/// recursive question for A or AAAA, and the addresses of its answer. Every length is
/// checked before it is read; compression pointers are followed a bounded number of times.
public enum DNSMessage {
    public static let typeA: UInt16 = 1
    public static let typeAAAA: UInt16 = 28

    /// A query with recursion desired for `name` (a validated host name).
    public static func query(id: UInt16, name: String, type: UInt16) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(truncatingIfNeeded: id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            out.append(UInt8(label.utf8.count))
            out += Array(label.utf8)
        }
        out += [0, UInt8(type >> 8), UInt8(truncatingIfNeeded: type), 0, 1]
        return out
    }

    public enum Answer: Equatable {
        /// The addresses of the asked type (possibly none: the name has only the other).
        case addresses([IPAddress])
        /// NXDOMAIN: the name does not exist.
        case noSuchName
        /// Another error code (SERVFAIL, REFUSED, ...).
        case failure(UInt8)
    }

    /// Reads the answer to query `id`; nil when the message is not that answer or is
    /// malformed (it is then ignored, as a spoofed or broken one would be).
    public static func parse(_ bytes: [UInt8], id: UInt16, type: UInt16) -> Answer? {
        guard bytes.count >= 12, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id, bytes[2] & 0x80 != 0 else { return nil }
        let rcode = bytes[3] & 0x0f
        if rcode == 3 { return .noSuchName }
        if rcode != 0 { return .failure(rcode) }
        let questions = Int(bytes[4]) << 8 | Int(bytes[5])
        let answers = Int(bytes[6]) << 8 | Int(bytes[7])
        var offset = 12
        for _ in 0..<questions {
            guard let end = skipName(bytes, from: offset), end + 4 <= bytes.count else { return nil }
            offset = end + 4
        }
        var found: [IPAddress] = []
        for _ in 0..<answers {
            guard let end = skipName(bytes, from: offset), end + 10 <= bytes.count else { return nil }
            let rrType = UInt16(bytes[end]) << 8 | UInt16(bytes[end + 1])
            let length = Int(bytes[end + 8]) << 8 | Int(bytes[end + 9])
            let data = end + 10
            guard data + length <= bytes.count else { return nil }
            if rrType == type, length == (type == typeA ? 4 : 16) {
                let address = bytes[data..<(data + length)].withUnsafeBytes { IPAddress(bytes: $0) }
                if let address { found.append(address) }
            }
            offset = data + length
        }
        return .addresses(found)
    }

    /// The offset after the name at `offset`: labels up to a zero octet, or a pointer
    /// (which ends the name where it stands).
    static func skipName(_ bytes: [UInt8], from offset: Int) -> Int? {
        var i = offset
        for _ in 0..<128 {
            guard i < bytes.count else { return nil }
            let n = Int(bytes[i])
            if n == 0 { return i + 1 }
            if n & 0xc0 == 0xc0 { return i + 2 <= bytes.count ? i + 2 : nil }
            guard n & 0xc0 == 0 else { return nil }
            i += 1 + n
        }
        return nil
    }
}

/// The parts of /etc/hosts and /etc/resolv.conf a stub resolver needs.
public enum ResolverFiles {
    /// The addresses /etc/hosts gives `name` (case-insensitive), in file order.
    public static func hosts(_ text: String, name: String) -> [IPAddress] {
        let wanted = name.asciiLowercased
        var found: [IPAddress] = []
        for line in lines(text) {
            let fields = words(line)
            guard fields.count >= 2, let address = IPAddress(fields[0]) else { continue }
            if fields.dropFirst().contains(where: { $0.asciiLowercased == wanted }) { found.append(address) }
        }
        return found
    }

    /// The `nameserver` addresses of resolv.conf, at most three (as glibc reads them).
    public static func nameservers(_ text: String) -> [IPAddress] {
        var found: [IPAddress] = []
        for line in lines(text) {
            let fields = words(line)
            if fields.count >= 2, fields[0] == "nameserver", let a = IPAddress(fields[1]), found.count < 3 { found.append(a) }
        }
        return found
    }

    static func lines(_ text: String) -> [Substring] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).map { line in
            if let hash = line.firstIndex(where: { $0 == "#" || $0 == ";" }) { return line[..<hash] }
            return line
        }
    }

    static func words(_ line: Substring) -> [String] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }
}
