import IKECore

/// The tunnel table: the rows by number, and which numbers each tunnel name has, so that
/// what looks a tunnel up by name (starting it, a peer's tunnel arriving, a retry, a
/// liveness verdict) costs the same with 20,000 tunnels as with ten. A named tunnel has
/// one or two rows (an attempt beside the peer's); a template's responder instances
/// share its name, thousands of them on a hub.
struct TunnelTable {
    private(set) var rows: [TunnelNumber: Tunnel] = [:]
    private var byName: [String: OneOrMany<TunnelNumber>] = [:]

    subscript(number: TunnelNumber) -> Tunnel? {
        get { rows[number] }
        set {
            guard let newValue else {
                removeValue(forKey: number)
                return
            }
            let old = rows.updateValue(newValue, forKey: number)
            if old?.name != newValue.name {
                if let old { byName.remove(number, under: old.name) }
                byName.insert(number, under: newValue.name)
            }
        }
    }

    @discardableResult
    mutating func removeValue(forKey number: TunnelNumber) -> Tunnel? {
        guard let old = rows.removeValue(forKey: number) else { return nil }
        byName.remove(number, under: old.name)
        return old
    }

    var values: Dictionary<TunnelNumber, Tunnel>.Values { rows.values }

    /// The rows of the tunnel named `name`, in no particular order.
    func named(_ name: String) -> [Tunnel] {
        byName[name]?.elements.compactMap { rows[$0] } ?? []
    }

    /// The first row of `name` that `matches`, without copying the others.
    func first(named name: String, where matches: (Tunnel) -> Bool) -> Tunnel? {
        byName[name]?.first { rows[$0].map(matches) ?? false }.flatMap { rows[$0] }
    }

    func contains(named name: String) -> Bool { byName[name] != nil }
}
