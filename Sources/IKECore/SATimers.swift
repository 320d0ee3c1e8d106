import IKEWire

/// The deadlines of an engine's SAs, one per SA (its next retransmission, expiry, rekey,
/// liveness check or keepalive, whichever comes first), by the SA's key. `tick` services
/// only the SAs whose time has come, and the driver sleeps until `next`: holding 20,000
/// idle SAs costs nothing between their deadlines.
///
/// An engine works out an SA's deadline from the SA alone (`nextDeadline`), and sets it
/// again after every step that may change it: each entry point `touch`es the SAs it
/// changed and `settle`s them before it returns.
///
/// A binary heap, not the event loop's timer wheel: an SA's deadlines are mostly far
/// (answers kept 300 s, lifetimes of hours), and the wheel looks at every entry to find
/// the earliest when none falls within one turn, which a hub's 10,000 SAs made cost
/// 300 µs per tunnel set up. Here the earliest is always on top; a deadline that changes
/// leaves its old entry behind, dropped when it surfaces.
public struct SATimers {
    private struct Entry {
        let at: Instant
        let key: UInt64
    }

    private var heap: [Entry] = []
    /// Each SA's deadline: an entry of the heap is current when it matches.
    private var current: [UInt64: Instant] = [:]
    /// SAs the current entry point changed, for `settle`.
    private var touched: [UInt64] = []

    public init() {}

    /// The SA's deadline may have changed: `settle` sets it again.
    public mutating func touch(_ key: UInt64) { touched.append(key) }

    /// Sets the deadline of every SA touched since the last call, as `deadline` works it
    /// out (nil: none, or the SA is gone), none earlier than `floor`.
    public mutating func settle(floor: Instant? = nil, _ deadline: (UInt64) -> Instant?) {
        let keys = touched
        touched = []
        for key in keys {
            var at = deadline(key)
            if let floor, let t = at, t < floor { at = floor }
            set(key, at: at)
        }
    }

    /// Sets the SA's deadline to `at`; nil cancels it.
    public mutating func set(_ key: UInt64, at: Instant?) {
        if current[key] == at { return }
        guard let at else {
            current.removeValue(forKey: key)
            return
        }
        current[key] = at
        push(Entry(at: at, key: key))
        // Old entries of changed deadlines are dropped as they surface; when they pile up
        // (an SA's deadline moved many times before its time), the heap is rebuilt.
        if heap.count > 2 * current.count + 64 { rebuild() }
    }

    /// The keys of the SAs whose deadline has come, earliest first; their deadlines are
    /// spent.
    public mutating func due(now: Instant) -> [UInt64] {
        var keys: [UInt64] = []
        while let top = heap.first, top.at <= now {
            pop()
            if current[top.key] == top.at {
                current.removeValue(forKey: top.key)
                keys.append(top.key)
            }
        }
        return keys
    }

    /// The earliest deadline set, nil when none is.
    public var next: Instant? {
        mutating get {
            while let top = heap.first, current[top.key] != top.at { pop() }
            return heap.first?.at
        }
    }

    /// How many SAs have a deadline.
    public var count: Int { current.count }

    private mutating func rebuild() {
        heap = []
        for (key, at) in current { push(Entry(at: at, key: key)) }
    }

    private mutating func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].at < heap[parent].at else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func pop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count, heap[l].at < heap[smallest].at { smallest = l }
            if r < heap.count, heap[r].at < heap[smallest].at { smallest = r }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
