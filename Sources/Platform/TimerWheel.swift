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
/// asks when to wake next (`nextDeadline`). The event loop keeps its handlers on it; the
/// engines keep their SAs' deadlines in `SATimers`.
public struct TimerWheel<Event> {
    private struct Entry {
        let id: UInt64
        let deadline: Instant
        let event: Event
    }

    public let slotCount: Int
    private let tickNanoseconds: UInt64
    private var slots: [[Entry]]
    /// How many timers are scheduled and not cancelled.
    public private(set) var count = 0
    private var nextID: UInt64 = 1
    /// The tick of the last `expire`; nothing earlier remains in the wheel.
    private var currentTick: UInt64
    /// The earliest live deadline when known: the loop asks before every wait, and a
    /// scan of the slots each time would cost what the wheel saves.
    private var earliest: Instant?? = .some(nil)

    /// A timer's ID holds its slot (the low 16 bits): a cancel looks in that slot only.
    /// Nothing else is kept per timer: an engine's 20,000 SAs cost 24 bytes each here.
    static var slotBits: UInt64 { 16 }

    public init(tick: Interval = .milliseconds(10), slots: Int = 256, start: Instant) {
        precondition(tick.nanoseconds > 0 && slots > 0 && slots <= 1 << 16, "timer wheel tick and slots out of range")
        tickNanoseconds = tick.nanoseconds
        slotCount = slots
        self.slots = [[Entry]](repeating: [], count: slots)
        currentTick = start.nanoseconds / tick.nanoseconds
    }

    private func slot(of deadline: Instant) -> Int {
        Int(max(deadline.nanoseconds / tickNanoseconds, currentTick) % UInt64(slotCount))
    }

    private func find(_ id: TimerID) -> (slot: Int, index: Int)? {
        let slot = Int(id.raw & ((1 << TimerWheel.slotBits) - 1))
        guard slot < slotCount, let index = slots[slot].firstIndex(where: { $0.id == id.raw }) else { return nil }
        return (slot, index)
    }

    public func isScheduled(_ id: TimerID) -> Bool { find(id) != nil }

    public mutating func schedule(at deadline: Instant, _ event: Event) -> TimerID {
        let slot = slot(of: deadline)
        let id = nextID << TimerWheel.slotBits | UInt64(slot)
        nextID += 1
        slots[slot].append(Entry(id: id, deadline: deadline, event: event))
        count += 1
        if case let .some(known) = earliest, known.map({ deadline < $0 }) ?? true { earliest = .some(deadline) }
        return TimerID(raw: id)
    }

    /// Cancels a timer; false when it already fired or was cancelled.
    @discardableResult
    public mutating func cancel(_ id: TimerID) -> Bool {
        guard let (slot, index) = find(id) else { return false }
        let deadline = slots[slot][index].deadline
        slots[slot].swapAt(index, slots[slot].count - 1)
        slots[slot].removeLast()
        count -= 1
        // The daemon moves its one wake-up timer by a cancel and a schedule: with nothing
        // left, the next deadline is known (none) and the schedule sets it, with no scan.
        if count == 0 {
            earliest = .some(nil)
        } else if case let .some(known) = earliest, known == deadline {
            earliest = nil
        }
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

    /// The earliest deadline in the first slot, from the current tick on, that holds one of
    /// this turn; when no slot does, the earliest of all.
    private func scanForNextDeadline() -> Instant? {
        if count == 0 { return nil }
        let n = UInt64(slotCount)
        for distance in 0..<n {
            let tick = currentTick + distance
            var best: Instant? = nil
            for entry in slots[Int(tick % n)] where max(entry.deadline.nanoseconds / tickNanoseconds, currentTick) == tick {
                if best == nil || entry.deadline < best! { best = entry.deadline }
            }
            if let best { return best }
        }
        var best: Instant? = nil
        for slot in slots {
            for entry in slot where best == nil || entry.deadline < best! { best = entry.deadline }
        }
        return best
    }

    /// Removes and returns every timer due at `now`, earliest deadline first.
    public mutating func expire(upTo now: Instant) -> [(id: TimerID, event: Event)] {
        let nowTick = now.nanoseconds / tickNanoseconds
        let n = UInt64(slotCount)
        let last = nowTick >= currentTick ? min(nowTick, currentTick + n - 1) : currentTick
        var due: [Entry] = []
        var tick = currentTick
        while tick <= last {
            let index = Int(tick % n)
            if !slots[index].isEmpty { collect(from: index, now: now, into: &due) }
            tick += 1
        }
        currentTick = max(currentTick, nowTick)
        if !due.isEmpty {
            earliest = nil
            count -= due.count
        }
        due.sort { a, b in a.deadline != b.deadline ? a.deadline < b.deadline : a.id >> TimerWheel.slotBits < b.id >> TimerWheel.slotBits }
        return due.map { (TimerID(raw: $0.id), $0.event) }
    }

    private mutating func collect(from index: Int, now: Instant, into due: inout [Entry]) {
        guard slots[index].contains(where: { $0.deadline <= now }) else { return }
        for entry in slots[index] where entry.deadline <= now { due.append(entry) }
        slots[index].removeAll { $0.deadline <= now }
    }
}
