import IKECore

/// The tunnel table: the rows by number, and which numbers each tunnel name has, so that
/// what looks a tunnel up by name (starting it, a peer's tunnel arriving, a retry, a
/// liveness verdict) costs the same with 20,000 tunnels as with ten. A named tunnel has
/// one or two rows (an attempt beside the peer's); a template's responder instances
/// share its name, thousands of them on a hub.
struct TunnelTable {
    private(set) var rows: [TunnelNumber: Tunnel] = [:]
    private var byName: [String: Numbers] = [:]

    /// One number inline (the common case costs no allocation of its own), or a set.
    private enum Numbers {
        case one(TunnelNumber)
        case many(Set<TunnelNumber>)
    }

    subscript(number: TunnelNumber) -> Tunnel? {
        get { rows[number] }
        set {
            guard let newValue else {
                removeValue(forKey: number)
                return
            }
            let old = rows.updateValue(newValue, forKey: number)
            if old?.name != newValue.name {
                if let old { unindex(old.name, number) }
                index(newValue.name, number)
            }
        }
    }

    @discardableResult
    mutating func removeValue(forKey number: TunnelNumber) -> Tunnel? {
        guard let old = rows.removeValue(forKey: number) else { return nil }
        unindex(old.name, number)
        return old
    }

    var values: Dictionary<TunnelNumber, Tunnel>.Values { rows.values }

    /// The rows of the tunnel named `name`, in no particular order.
    func named(_ name: String) -> [Tunnel] {
        switch byName[name] {
        case nil: return []
        case let .one(n)?: return rows[n].map { [$0] } ?? []
        case let .many(set)?: return set.compactMap { rows[$0] }
        }
    }

    /// The first row of `name` that `matches`, without copying the others.
    func first(named name: String, where matches: (Tunnel) -> Bool) -> Tunnel? {
        switch byName[name] {
        case nil: return nil
        case let .one(n)?: return rows[n].flatMap { matches($0) ? $0 : nil }
        case let .many(set)?:
            for n in set { if let t = rows[n], matches(t) { return t } }
            return nil
        }
    }

    func contains(named name: String) -> Bool { byName[name] != nil }

    private mutating func index(_ name: String, _ number: TunnelNumber) {
        switch byName[name] {
        case nil: byName[name] = .one(number)
        case let .one(n)?: byName[name] = .many([n, number])
        case var .many(set)?:
            byName[name] = nil
            set.insert(number)
            byName[name] = .many(set)
        }
    }

    private mutating func unindex(_ name: String, _ number: TunnelNumber) {
        switch byName[name] {
        case nil: return
        case let .one(n)?: if n == number { byName[name] = nil }
        case var .many(set)?:
            byName[name] = nil
            set.remove(number)
            if set.count == 1, let last = set.first {
                byName[name] = .one(last)
            } else if !set.isEmpty {
                byName[name] = .many(set)
            }
        }
    }
}
