/// A point on the monotonic clock, in nanoseconds since an arbitrary origin.
///
/// The protocol cores are handed time as `Instant` values and never read a clock;
/// Platform's clocks produce them.
public struct Instant: Comparable, Hashable, CustomStringConvertible, Sendable {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    public static func + (a: Instant, b: Interval) -> Instant {
        let (sum, overflow) = a.nanoseconds.addingReportingOverflow(b.nanoseconds)
        return Instant(nanoseconds: overflow ? UInt64.max : sum)
    }

    /// The interval from `b` to `a`, zero when `b` is later.
    public static func - (a: Instant, b: Instant) -> Interval {
        Interval(nanoseconds: a.nanoseconds > b.nanoseconds ? a.nanoseconds - b.nanoseconds : 0)
    }

    public var description: String { Interval(nanoseconds: nanoseconds).description }
}

/// An optional instant in eight bytes where `Instant?` takes nine (sixteen before a word):
/// the last instant stands for none. A deadline there is never due either (`+` saturates
/// to it), while every other instant, the clock's start included, keeps its meaning. An
/// IKE SA's four lifetimes take 32 bytes rather than 64.
@propertyWrapper
public struct PackedInstant: Sendable {
    private var nanoseconds: UInt64

    public init(wrappedValue: Instant?) { nanoseconds = wrappedValue?.nanoseconds ?? .max }

    public var wrappedValue: Instant? {
        get { nanoseconds == .max ? nil : Instant(nanoseconds: nanoseconds) }
        set { nanoseconds = newValue?.nanoseconds ?? .max }
    }
}

/// A non-negative span of time, in nanoseconds.
public struct Interval: Comparable, Hashable, CustomStringConvertible, Sendable {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static func milliseconds(_ n: UInt64) -> Interval { Interval(nanoseconds: n &* 1_000_000) }
    public static func seconds(_ n: UInt64) -> Interval { Interval(nanoseconds: n &* 1_000_000_000) }

    public static func < (a: Interval, b: Interval) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func + (a: Interval, b: Interval) -> Interval {
        Interval(nanoseconds: a.nanoseconds &+ b.nanoseconds)
    }

    public var milliseconds: UInt64 { nanoseconds / 1_000_000 }

    /// Seconds with millisecond precision, e.g. `1.250s`.
    public var description: String {
        let ms = milliseconds
        let frac = ms % 1000
        let pad = frac < 10 ? "00" : frac < 100 ? "0" : ""
        return "\(ms / 1000).\(pad)\(frac)s"
    }
}

/// The earliest of several optional moments: an SA's deadline out of its timers, the
/// daemon's next wake-up out of the engines'.
public struct Soonest {
    public private(set) var at: Instant? = nil

    public init() {}

    public mutating func add(_ t: Instant?) {
        guard let t else { return }
        if at.map({ t < $0 }) ?? true { at = t }
    }
}
