import IKECore

/// The tunnel table: the rows by number, and which numbers each tunnel name has, so that
/// what looks a tunnel up by name (starting it, a peer's tunnel arriving, a retry, a
/// liveness verdict) costs the same with 20,000 tunnels as with ten. A named tunnel has
/// one or two rows (an attempt beside the peer's); a template's responder instances
/// share its name, thousands of them on a hub.
///
/// The rows are held densely, in one array grown by a quarter at a time, and found by
/// number through `index`: a dictionary of rows held each row in its buckets, about 1.6
/// times over at 10,000, which made an established row's SAs a box of their own.
struct TunnelTable {
    private var stored: [Tunnel] = []
    private var index: [TunnelNumber: Int32] = [:]
    private var byName = MultiIndex<String, TunnelNumber>()
    /// How many rows are in each phase 1 status, kept as rows come, change and go: a
    /// monitor polling `cmd=status` costs a hub no pass over its 20,000 rows.
    private(set) var phase1Counts: [PhaseStatus: Int] = [:]

    subscript(number: TunnelNumber) -> Tunnel? {
        get { index[number].map { stored[Int($0)] } }
        set {
            guard let newValue else {
                removeValue(forKey: number)
                return
            }
            count(newValue.phase1Status, 1)
            if let i = index[number].map({ Int($0) }) {
                let oldName = stored[i].name
                count(stored[i].phase1Status, -1)
                stored[i] = newValue
                if oldName != newValue.name {
                    byName.remove(number, under: oldName)
                    byName.insert(number, under: newValue.name)
                }
            } else {
                if stored.count == stored.capacity { resize(to: stored.count + max(16, stored.count / 4)) }
                index[number] = Int32(stored.count)
                stored.append(newValue)
                byName.insert(number, under: newValue.name)
            }
        }
    }

    @discardableResult
    mutating func removeValue(forKey number: TunnelNumber) -> Tunnel? {
        guard let i = index.removeValue(forKey: number).map({ Int($0) }) else { return nil }
        let old = stored[i]
        count(old.phase1Status, -1)
        let last = stored.count - 1
        if i != last {
            stored.swapAt(i, last)
            index[stored[i].number] = Int32(i)
        }
        stored.removeLast()
        byName.remove(number, under: old.name)
        // After a burst of removals (a hub's spokes gone), the memory goes back too.
        if stored.capacity > 64 && stored.count < stored.capacity / 2 { resize(to: stored.count + stored.count / 4) }
        return old
    }

    private mutating func count(_ status: PhaseStatus, _ change: Int) {
        let n = phase1Counts[status, default: 0] + change
        phase1Counts[status] = n == 0 ? nil : n
    }

    /// The rows moved to storage of `capacity` rows.
    private mutating func resize(to capacity: Int) {
        var moved: [Tunnel] = []
        moved.reserveCapacity(capacity)
        moved.append(contentsOf: stored)
        stored = moved
    }

    /// Every row, in no particular order.
    var values: [Tunnel] { stored }
    var count: Int { stored.count }

    /// The rows of the tunnel named `name`, in no particular order.
    func named(_ name: String) -> [Tunnel] {
        byName.elements(under: name).compactMap { self[$0] }
    }

    /// The first row of `name` that `matches`, without copying the others.
    func first(named name: String, where matches: (Tunnel) -> Bool) -> Tunnel? {
        byName.first(under: name) { self[$0].map(matches) ?? false }.flatMap { self[$0] }
    }

    func contains(named name: String) -> Bool { byName.contains(name) }
}
