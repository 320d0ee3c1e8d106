import IKEWire

/// What the deadline heap needs of an SA: where its entry is, kept in the SA itself
/// (-1: it has none) rather than in an index beside the heap.
public protocol HeapPlaced: AnyObject {
    var heapSlot: Int32 { get set }
}

/// The deadlines of an engine's SAs, one per SA (its next retransmission, expiry, rekey,
/// liveness check or keepalive, whichever comes first). `tick` services only the SAs
/// whose time has come, and the driver sleeps until `next`: holding 20,000 idle SAs
/// costs nothing between their deadlines.
///
/// An engine works out an SA's deadline from the SA alone (`nextDeadline`), and sets it
/// again after every step that may change it: each entry point `touch`es the SAs it
/// changed and `settle`s them before it returns.
///
/// A binary heap, not the event loop's timer wheel: an SA's deadlines are mostly far
/// (answers kept 300 s, lifetimes of hours), and the wheel looks at every entry to find
/// the earliest when none falls within one turn, which a hub's 10,000 SAs made cost
/// 300 µs per tunnel set up. Here the earliest is always on top, and each SA has exactly
/// one entry: a deadline that changes moves its entry in place (the SA knows where its
/// entry is), so a hub holds one 16-byte entry per SA however often its deadlines moved,
/// in storage grown by a quarter at a time.
public struct SATimers<SA: HeapPlaced> {
    private struct Entry {
        var at: Instant
        let sa: SA
    }

    private var heap: [Entry] = []
    /// SAs the current entry point changed, for `settle`.
    private var touched: [SA] = []

    public init() {}

    /// The SA's deadline may have changed: `settle` sets it again.
    public mutating func touch(_ sa: SA) { touched.append(sa) }

    /// Sets the deadline of every SA touched since the last call, as `deadline` works it
    /// out (nil: none, or the SA is gone), none earlier than `floor`.
    public mutating func settle(floor: Instant? = nil, _ deadline: (SA) -> Instant?) {
        let changed = touched
        touched = []
        for sa in changed {
            var at = deadline(sa)
            if let floor, let t = at, t < floor { at = floor }
            set(sa, at: at)
        }
    }

    /// Sets the SA's deadline to `at`; nil cancels it.
    public mutating func set(_ sa: SA, at: Instant?) {
        guard sa.heapSlot >= 0, Int(sa.heapSlot) < heap.count, heap[Int(sa.heapSlot)].sa === sa else {
            guard let at else { return }
            // Grown by a quarter, not doubled: a hub's heap holds an entry per SA.
            if heap.count == heap.capacity {
                var grown: [Entry] = []
                grown.reserveCapacity(heap.count + max(16, heap.count / 4))
                grown.append(contentsOf: heap)
                heap = grown
            }
            heap.append(Entry(at: at, sa: sa))
            sa.heapSlot = Int32(heap.count - 1)
            siftUp(heap.count - 1)
            return
        }
        let i = Int(sa.heapSlot)
        guard let at else {
            remove(at: i)
            return
        }
        let old = heap[i].at
        if old == at { return }
        heap[i].at = at
        if at < old { siftUp(i) } else { siftDown(i) }
    }

    /// The SAs whose deadline has come, earliest first; their deadlines are spent.
    public mutating func due(now: Instant) -> [SA] {
        var due: [SA] = []
        while let top = heap.first, top.at <= now {
            remove(at: 0)
            due.append(top.sa)
        }
        return due
    }

    /// The earliest deadline set, nil when none is.
    public var next: Instant? { heap.first?.at }

    /// How many SAs have a deadline.
    public var count: Int { heap.count }

    private mutating func remove(at i: Int) {
        heap[i].sa.heapSlot = -1
        let last = heap.removeLast()
        guard i < heap.count else { return }
        heap[i] = last
        last.sa.heapSlot = Int32(i)
        siftDown(i)
        siftUp(i)
    }

    private mutating func swapEntries(_ i: Int, _ j: Int) {
        heap.swapAt(i, j)
        heap[i].sa.heapSlot = Int32(i)
        heap[j].sa.heapSlot = Int32(j)
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].at < heap[parent].at else { return }
            swapEntries(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count, heap[l].at < heap[smallest].at { smallest = l }
            if r < heap.count, heap[r].at < heap[smallest].at { smallest = r }
            if smallest == i { return }
            swapEntries(i, smallest)
            i = smallest
        }
    }
}
