import IKEWire

/// The deadlines of an engine's SAs, one per SA (its next retransmission, expiry, rekey,
/// liveness check or keepalive, whichever comes first), on a timer wheel by the SA's key.
/// `tick` services only the SAs whose time has come, and the driver sleeps until `next`:
/// holding 20,000 idle SAs costs nothing between their deadlines.
///
/// An engine works out an SA's deadline from the SA alone (`nextDeadline`), and sets it
/// again after every step that may change it: each entry point `touch`es the SAs it
/// changed and `settle`s them before it returns.
public struct SATimers {
    /// A deadline set for one SA.
    public struct Armed {
        let id: TimerID
        public let at: Instant
    }

    private var wheel = TimerWheel<UInt64>(tick: .seconds(1), start: .zero)

    public init() {}

    /// Sets the SA's deadline to `at`; nil cancels it.
    public mutating func set(_ armed: inout Armed?, key: UInt64, at: Instant?) {
        if let a = armed {
            if a.at == at { return }
            wheel.cancel(a.id)
        }
        armed = at.map { Armed(id: wheel.schedule(at: $0, key), at: $0) }
    }

    /// The keys of the SAs whose deadline has come, earliest first. Their `Armed` is
    /// spent: the engine clears it before it sets the next.
    public mutating func due(now: Instant) -> [UInt64] {
        wheel.expire(upTo: now).map { $0.event }
    }

    /// The earliest deadline set, nil when none is.
    public var next: Instant? {
        mutating get { wheel.nextDeadline }
    }

    /// How many SAs have a deadline.
    public var count: Int { wheel.count }
}
