import IKECore
import IKEWire
import UCI

extension TunnelManager {
    /// `ike cmd=remove`: deletes the SAs (informing the peer), the kernel SAs and the
    /// policies of the selected tunnels. `phase` 2 keeps phase 1 up. With `all`, every
    /// tunnel. A held tunnel (named, numbered, or `all`) has no SAs: its hold ends, and
    /// its trap goes. Returns the numbers removed.
    public func remove(_ selection: Selection, phase: Phase? = nil, all: Bool = false) -> Result<[TunnelNumber], TunnelError> {
        var numbers: [TunnelNumber] = []
        var holds: [String] = []
        if all {
            numbers = tunnels.map { $0.number }
            holds = holding.keys.filter { table.named($0).isEmpty }.sorted()
        } else {
            for number in selection.numbers {
                if table[number] == nil, let held = holding.first(where: { $0.value == number }) {
                    holds.append(held.key)
                    continue
                }
                guard table[number] != nil else { return .failure(TunnelError("no tunnel number \(number); see ike cmd=list")) }
                numbers.append(number)
            }
            for name in selection.names {
                let matching = table.named(name).map { $0.number }.sorted()
                if matching.isEmpty, holding[name] != nil {
                    holds.append(name)
                    continue
                }
                guard !matching.isEmpty else {
                    return .failure(TunnelError("no tunnel named '\(name)' is in the table; see ike cmd=list"))
                }
                numbers += matching
            }
            if selection.remoteID != nil || selection.addresses != nil {
                for t in tunnels {
                    if let id = selection.remoteID, t.config.remoteID == id || phase1SA(of: t)?.remoteID == id { numbers.append(t.number) }
                    if let pair = selection.addresses, t.endpoints?.local == pair.local, t.remoteAddress == pair.remote {
                        numbers.append(t.number)
                    }
                }
            }
            if numbers.isEmpty && holds.isEmpty { return .failure(TunnelError("no tunnel matches; see ike cmd=list")) }
        }
        var removed: [TunnelNumber] = []
        var seen: Set<TunnelNumber> = []
        for number in numbers where seen.insert(number).inserted {
            if phase == .two { removePhase2(number) } else { removeTunnel(number) }
            removed.append(number)
        }
        for name in Set(holds).sorted() {
            if let number = endHold(name) { removed.append(number) }
        }
        return .success(removed)
    }

    /// A held tunnel removed by hand: its traffic is no longer held (the trap goes, unless
    /// the tunnel starts on traffic anyway). The number it had.
    func endHold(_ name: String) -> TunnelNumber? {
        guard let number = holding[name] else { return nil }
        if let config = configuration.tunnel(named: name), config.start != .trap { removeTrap(config) }
        holding.removeValue(forKey: name)
        log.event(.tmd, "tunnel \(number) '\(name)': removed; its traffic is no longer held")
        return number
    }

    func removeTunnel(_ number: TunnelNumber) {
        guard let t = table[number] else { return }
        log.event(.tmd, "\(label(t)): removing")
        uninstall(t)
        table.removeValue(forKey: number)
        defer { dequeue() }
        if !t.isFailed || t.hasPhase1 {
            process(engine(for: t.config).delete(number, phase: .one))
        }
        log.event(.tmd, "\(label(t)): removed")
        if t.config.start == .trap, configuration.tunnel(named: t.name) == t.config {
            installTrap(t.config)
        } else if holding[t.name] != nil {
            // Removed by hand: the hold is over.
            holding.removeValue(forKey: t.name)
        }
    }

    func removePhase2(_ number: TunnelNumber) {
        guard var t = table[number], t.wantsPhase2 else { return }
        let p1 = phase1SA(of: t)
        if t.isEstablished && p1 == nil {
            // Its engine holds no phase 1 for it any more: nothing would be left.
            removeTunnel(number)
            return
        }
        log.event(.tmd, "\(label(t)): removing phase 2")
        uninstall(t)
        t.wantsPhase2 = false
        if let p1 {
            t.state = .phase1Active(p1)
            table[number] = t
            process(engine(for: t.config).delete(number, phase: .two))
        } else {
            table[number] = t
        }
    }

    /// SIGTERM: every tunnel removed, peers informed, the kernel left clean.
    public func removeAll() {
        for t in tunnels { removeTunnel(t.number) }
    }
}
