/// Why bytes from the wire were refused, or why an encoding did not fit.
public enum WireError: Error, Equatable, CustomStringConvertible {
    case truncated(what: StaticString, needed: Int, available: Int)
    case noSpace(needed: Int, available: Int)
    case invalid(what: StaticString, value: UInt64)

    public static func == (a: WireError, b: WireError) -> Bool { a.description == b.description }

    public var description: String {
        switch self {
        case let .truncated(what, needed, available):
            return "truncated \(what.description): need \(needed) bytes, \(available) left"
        case let .noSpace(needed, available):
            return "no space: need \(needed) bytes, \(available) left"
        case let .invalid(what, value):
            return "invalid \(what.description): \(value)"
        }
    }
}
