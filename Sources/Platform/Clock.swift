import CLibc
import IKEWire

/// A source of monotonic time. The daemon uses `MonotonicClock`; tests drive a
/// `ManualClock` so that timers and lifetimes are deterministic.
public protocol Clock: AnyObject {
    var now: Instant { get }
}

/// CLOCK_MONOTONIC: never jumps with wall-clock changes, the clock timerfd uses.
public final class MonotonicClock: Clock {
    public init() {}
    public var now: Instant { Instant(nanoseconds: ike_monotonic_ns()) }
}

/// A clock that moves only when told to.
public final class ManualClock: Clock {
    public private(set) var now: Instant

    public init(start: Instant = .zero) { now = start }

    public func advance(by interval: Interval) { now = now + interval }
    public func set(_ instant: Instant) {
        precondition(instant >= now, "a monotonic clock cannot go back")
        now = instant
    }
}
