import IKEWire

/// Identifies a scheduled timer, for cancellation.
public struct TimerID: Hashable, CustomStringConvertible, Sendable {
    public let raw: UInt64
    public var description: String { "timer#\(raw)" }
}

/// A hashed timing wheel: timers are kept in `slotCount` buckets by their deadline's
/// tick, so scheduling, cancelling and expiring cost O(1) per timer, however many
/// tunnels are up. Deadlines keep full precision; the tick only spreads them over
/// buckets. Timers that are due fire in deadline order, ties in scheduling order.
///
/// The wheel holds no clock: the driver says what time it is (`expire(upTo:)`) and
/// asks when to wake next (`nextDeadline`).
public struct TimerWheel<Event> {
    private struct Entry {
        let id: UInt64
        let deadline: Instant
        let tick: UInt64
        let event: Event
    }

    public static var slotCount: Int { 256 }

    private let tickNanoseconds: UInt64
    private var slots: [[Entry]]
    private var live: [UInt64: Instant] = [:]
    private var nextID: UInt64 = 1
    /// The tick of the last `expire`; nothing earlier remains in the wheel.
    private var currentTick: UInt64
    /// The earliest live deadline when known: the loop asks before every wait, and a
    /// scan of the slots each time would cost what the wheel saves.
    private var earliest: Instant?? = .some(nil)

    public init(tick: Interval = .milliseconds(10), start: Instant) {
        precondition(tick.nanoseconds > 0, "timer wheel tick must be positive")
        tickNanoseconds = tick.nanoseconds
        slots = [[Entry]](repeating: [], count: TimerWheel.slotCount)
        currentTick = start.nanoseconds / tick.nanoseconds
    }

    /// How many timers are scheduled and not cancelled.
    public var count: Int { live.count }

    public func isScheduled(_ id: TimerID) -> Bool { live[id.raw] != nil }

    public mutating func schedule(at deadline: Instant, _ event: Event) -> TimerID {
        let id = nextID
        nextID += 1
        let tick = max(deadline.nanoseconds / tickNanoseconds, currentTick)
        slots[Int(tick % UInt64(TimerWheel.slotCount))].append(
            Entry(id: id, deadline: deadline, tick: tick, event: event))
        live[id] = deadline
        if case let .some(known) = earliest, known.map({ deadline < $0 }) ?? true { earliest = .some(deadline) }
        return TimerID(raw: id)
    }

    /// Cancels a timer; false when it already fired or was cancelled.
    @discardableResult
    public mutating func cancel(_ id: TimerID) -> Bool {
        guard let deadline = live.removeValue(forKey: id.raw) else { return false }
        if case let .some(known) = earliest, known == deadline { earliest = nil }
        return true
    }

    /// The earliest deadline of a scheduled timer, nil when none is.
    public var nextDeadline: Instant? {
        mutating get {
            if case let .some(known) = earliest { return known }
            let next = scanForNextDeadline()
            earliest = .some(next)
            return next
        }
    }

    private func scanForNextDeadline() -> Instant? {
        if live.isEmpty { return nil }
        let n = UInt64(TimerWheel.slotCount)
        for distance in 0..<n {
            let tick = currentTick + distance
            var best: Instant? = nil
            for entry in slots[Int(tick % n)] where entry.tick == tick && live[entry.id] != nil {
                if best == nil || entry.deadline < best! { best = entry.deadline }
            }
            if let best { return best }
        }
        var best: Instant? = nil
        for (_, deadline) in live where best == nil || deadline < best! { best = deadline }
        return best
    }

    /// Removes and returns every timer due at `now`, earliest deadline first.
    public mutating func expire(upTo now: Instant) -> [(id: TimerID, event: Event)] {
        let nowTick = now.nanoseconds / tickNanoseconds
        let n = UInt64(TimerWheel.slotCount)
        let last = nowTick >= currentTick ? min(nowTick, currentTick + n - 1) : currentTick
        var due: [Entry] = []
        var tick = currentTick
        while tick <= last {
            let index = Int(tick % n)
            if !slots[index].isEmpty { collect(from: index, now: now, into: &due) }
            tick += 1
        }
        currentTick = max(currentTick, nowTick)
        if !due.isEmpty { earliest = nil }
        due.sort { a, b in a.deadline != b.deadline ? a.deadline < b.deadline : a.id < b.id }
        return due.map { (TimerID(raw: $0.id), $0.event) }
    }

    private mutating func collect(from index: Int, now: Instant, into due: inout [Entry]) {
        var keep: [Entry] = []
        for entry in slots[index] {
            guard live[entry.id] != nil else { continue }
            if entry.deadline <= now {
                live.removeValue(forKey: entry.id)
                due.append(entry)
            } else {
                keep.append(entry)
            }
        }
        slots[index] = keep
    }
}
