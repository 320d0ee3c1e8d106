/// An IPv4 or IPv6 prefix, `10.1.0.0/24` or `2001:db8::/48`: a tunnel's protected
/// network and, as an address range, a traffic selector.
public struct Subnet: Hashable, CustomStringConvertible, Sendable {
    public let address: IPAddress
    public let prefixLength: UInt8

    /// A subnet whose host bits are zero; nil otherwise.
    public init?(address: IPAddress, prefixLength: UInt8) {
        guard prefixLength <= (address.isV4 ? 32 : 128) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
        guard first == address else { return nil }
    }

    /// Why subnet text was refused.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case notAnAddress
        case badPrefix
        /// Host bits are set; the payload is the subnet that was probably meant.
        case hostBitsSet(Subnet)

        public var description: String {
            switch self {
            case .notAnAddress: return "not an IPv4 or IPv6 subnet, e.g. 10.1.0.0/24"
            case .badPrefix: return "the prefix length must be 0-32 (IPv4) or 0-128 (IPv6)"
            case let .hostBitsSet(meant): return "host bits are set; did you mean '\(meant)'?"
            }
        }
    }

    /// `ADDRESS/PREFIX`, or a single address (a /32 or /128).
    public static func parse(_ text: String) -> Result<Subnet, ParseError> {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return .failure(.notAnAddress) }
        let maxLength = address.isV4 ? 32 : 128
        var length = maxLength
        if parts.count == 2 {
            guard let n = Int(parts[1]), n >= 0, n <= maxLength, !parts[1].hasPrefix("+") else {
                return .failure(.badPrefix)
            }
            length = n
        }
        let masked = Subnet.masked(address, UInt8(length))
        guard masked == address else {
            return .failure(.hostBitsSet(Subnet(address: masked, prefixLength: UInt8(length))!))
        }
        return .success(Subnet(address: address, prefixLength: UInt8(length))!)
    }

    public static func masked(_ address: IPAddress, _ length: UInt8) -> IPAddress {
        switch address {
        case let .v4(a):
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - UInt32(length))
            return .v4(a & mask)
        case let .v6(high, low):
            let hmask: UInt64 = length == 0 ? 0 : length >= 64 ? ~0 : ~UInt64(0) << (64 - UInt64(length))
            let lmask: UInt64 = length <= 64 ? 0 : length == 128 ? ~0 : ~UInt64(0) << (128 - UInt64(length))
            return .v6(high: high & hmask, low: low & lmask)
        }
    }

    /// The first address of the range.
    public var first: IPAddress { Subnet.masked(address, prefixLength) }

    /// The last address of the range.
    public var last: IPAddress {
        switch address {
        case let .v4(a):
            let host: UInt32 = prefixLength == 0 ? ~0 : prefixLength == 32 ? 0 : ~UInt32(0) >> UInt32(prefixLength)
            return .v4(a | host)
        case let .v6(high, low):
            let hhost: UInt64 = prefixLength >= 64 ? 0 : prefixLength == 0 ? ~0 : ~UInt64(0) >> UInt64(prefixLength)
            let lhost: UInt64 = prefixLength <= 64 ? ~0 : prefixLength == 128 ? 0 : ~UInt64(0) >> UInt64(prefixLength - 64)
            return .v6(high: high | hhost, low: low | lhost)
        }
    }

    /// `10.1.0.0-10.1.0.255`, as `ike cmd=list` shows phase 2 IDs.
    public var rangeDescription: String { "\(first)-\(last)" }

    public var description: String { "\(address)/\(prefixLength)" }
}
