/// One traffic selector (RFC 7296 §3.13.1): an address range, an IP protocol and a
/// port range.
///
///      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     |   TS Type     |IP Protocol ID*|       Selector Length         |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     |           Start Port*         |           End Port*           |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     ~                         Starting Address*                     ~
///     ~                         Ending Address*                       ~
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public struct TrafficSelector: Hashable, CustomStringConvertible, Sendable {
    // The addresses as 64-bit halves with their families apart: 40 bytes rather than 56
    // (two 17-byte enums aligned to 8), so that the one-selector array a CHILD_SA holds
    // for the peer's side takes an 80-byte heap chunk rather than 96.
    private var startHigh: UInt64
    private var startLow: UInt64
    private var endHigh: UInt64
    private var endLow: UInt64
    public var startPort: UInt16
    public var endPort: UInt16
    public var ipProtocol: UInt8
    private var startIsV6: Bool
    private var endIsV6: Bool

    public var start: IPAddress {
        get { TrafficSelector.address(startHigh, startLow, v6: startIsV6) }
        set { (startHigh, startLow, startIsV6) = TrafficSelector.halves(newValue) }
    }

    public var end: IPAddress {
        get { TrafficSelector.address(endHigh, endLow, v6: endIsV6) }
        set { (endHigh, endLow, endIsV6) = TrafficSelector.halves(newValue) }
    }

    private static func halves(_ a: IPAddress) -> (UInt64, UInt64, Bool) {
        switch a {
        case let .v4(v): return (0, UInt64(v), false)
        case let .v6(high, low): return (high, low, true)
        }
    }

    private static func address(_ high: UInt64, _ low: UInt64, v6: Bool) -> IPAddress {
        v6 ? .v6(high: high, low: low) : .v4(UInt32(truncatingIfNeeded: low))
    }

    public static let ipv4Range: UInt8 = 7
    public static let ipv6Range: UInt8 = 8
    public static let maxSelectors = 32

    public init(ipProtocol: UInt8 = 0, startPort: UInt16 = 0, endPort: UInt16 = 65535, start: IPAddress, end: IPAddress) {
        self.ipProtocol = ipProtocol
        self.startPort = startPort
        self.endPort = endPort
        (startHigh, startLow, startIsV6) = TrafficSelector.halves(start)
        (endHigh, endLow, endIsV6) = TrafficSelector.halves(end)
    }

    /// All ports and protocols of a subnet.
    public init(_ subnet: Subnet) {
        self.init(start: subnet.first, end: subnet.last)
    }

    /// The subnet this selector covers exactly, if it is one.
    public var subnet: Subnet? {
        for length in 0...(start.isV4 ? 32 : 128) {
            if let s = Subnet(address: start, prefixLength: UInt8(length)), s.last == end { return s }
        }
        return nil
    }

    public var description: String {
        let range = subnet?.description ?? "\(start)-\(end)"
        if ipProtocol == 0 && startPort == 0 && endPort == 65535 { return range }
        return "\(range)[\(ipProtocol)/\(startPort)-\(endPort)]"
    }

    static func parseAll(_ r: inout ByteReader) throws(WireError) -> [TrafficSelector] {
        let count = Int(try r.readUInt8("number of TSs"))
        guard count <= maxSelectors else { throw .tooMany(what: "traffic selectors", limit: maxSelectors) }
        try r.skip(3, "TS reserved")
        var out: [TrafficSelector] = []
        for _ in 0..<count {
            let type = try r.readUInt8("TS type")
            let ipProtocol = try r.readUInt8("IP protocol ID")
            let length = Int(try r.readUInt16("selector length"))
            let size: Int
            switch type {
            case ipv4Range: size = 4
            case ipv6Range: size = 16
            default: throw .invalid(what: "TS type", value: UInt64(type))
            }
            guard length == 8 + 2 * size else { throw .invalid(what: "selector length", value: UInt64(length)) }
            let startPort = try r.readUInt16("start port")
            let endPort = try r.readUInt16("end port")
            let start = IPAddress(bytes: try r.readBytes(size, "starting address"))!
            let end = IPAddress(bytes: try r.readBytes(size, "ending address"))!
            out.append(TrafficSelector(ipProtocol: ipProtocol, startPort: startPort, endPort: endPort, start: start, end: end))
        }
        guard r.isAtEnd else { throw .invalid(what: "bytes after the last TS", value: UInt64(r.remaining)) }
        return out
    }

    static func write(_ selectors: [TrafficSelector], to w: inout ByteWriter) throws(WireError) {
        try w.write(UInt8(selectors.count))
        try w.write(UInt8(0))
        try w.write(UInt16(0))
        for ts in selectors {
            let v4 = ts.start.isV4
            try w.write(v4 ? ipv4Range : ipv6Range)
            try w.write(ts.ipProtocol)
            try w.write(UInt16(v4 ? 16 : 40))
            try w.write(ts.startPort)
            try w.write(ts.endPort)
            try w.write(ts.start.bytes)
            try w.write(ts.end.bytes)
        }
    }
}
