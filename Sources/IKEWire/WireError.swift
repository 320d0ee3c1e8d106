/// Why bytes from the wire were refused, or why an encoding did not fit.
public enum WireError: Error, Equatable, CustomStringConvertible {
    case truncated(what: StaticString, needed: Int, available: Int)
    case noSpace(needed: Int, available: Int)
    case invalid(what: StaticString, value: UInt64)
    /// RFC 7296 §2.5: a payload we do not know with its critical bit set.
    case unsupportedCriticalPayload(UInt8)
    /// More items than the bound for `what` (payloads, proposals, transforms, selectors).
    case tooMany(what: StaticString, limit: Int)

    public static func == (a: WireError, b: WireError) -> Bool { a.description == b.description }

    public var description: String {
        switch self {
        case let .truncated(what, needed, available):
            return "truncated \(what.description): need \(needed) bytes, \(available) left"
        case let .noSpace(needed, available):
            return "no space: need \(needed) bytes, \(available) left"
        case let .invalid(what, value):
            return "invalid \(what.description): \(value)"
        case let .unsupportedCriticalPayload(type):
            return "unsupported critical payload \(type)"
        case let .tooMany(what, limit):
            return "more than \(limit) \(what.description)"
        }
    }
}
