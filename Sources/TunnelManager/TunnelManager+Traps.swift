import IKECore
import IKEWire
import Kernel
import UCI

/// `start 'trap'` tunnels: an outbound policy without SAs waits for traffic; the kernel's
/// acquire starts the tunnel, whose own policy then takes the selector over. And the
/// kernel's expire notifications.
extension TunnelManager {
    /// Trap policies use reqids above the tunnels' and below the larval SAs'.
    static let trapReqidBase = reqidBase + 0x7000

    /// The trap policy of a configured tunnel, nil unless it starts on traffic and knows
    /// both its subnets and its addresses.
    func trapPolicy(_ config: TunnelConfig) -> Policy? {
        guard waitsForTraffic(config), config.mode == .tunnel, let local = config.localSubnets.first,
              let remote = config.remoteSubnets.first, let localAddress = config.localAddress,
              case let .address(remoteAddress) = config.remoteAddress,
              let index = configuration.place(of: config.name) else { return nil }
        return Policy(id: PolicyIdentifier(source: local, destination: remote, direction: .outbound),
                      templateSource: localAddress, templateDestination: remoteAddress,
                      reqid: TunnelManager.trapReqidBase + UInt32(index), mode: .tunnel, priority: 1000)
    }

    /// Installs the trap policy of every enabled `start 'trap'` tunnel that is not up.
    public func installTraps() {
        for config in configuration.tunnels where config.enabled && config.start == .trap {
            installTrap(config)
        }
    }

    func installTrap(_ config: TunnelConfig) {
        guard table.first(named: config.name, where: { !$0.isFailed }) == nil else { return }
        guard let trap = trapPolicy(config) else {
            log.error(.tmd, "tunnel '\(config.name)': start 'trap' needs local_address and one local_subnet and remote_subnet")
            return
        }
        do throws(KernelError) {
            try kernel.addPolicy(trap)
            log.event(.tmd, "tunnel '\(config.name)': trap policy installed (\(trap.id.source) -> \(trap.id.destination))")
        } catch {
            if error.errno != 17 { log.error(.tmd, "tunnel '\(config.name)': trap policy: \(error)") }
        }
    }

    func removeTrap(_ config: TunnelConfig) {
        guard let trap = trapPolicy(config) else { return }
        try? kernel.deletePolicy(trap.id)
    }

    /// What the kernel reports on its own.
    public func handle(_ event: KernelEvent) {
        switch event {
        case let .acquire(source, destination):
            guard let config = configuration.tunnels.first(where: { c in
                c.enabled && waitsForTraffic(c) && c.localSubnets.first == source && c.remoteSubnets.first == destination
            }) else {
                log.debug(.tmd, "acquire for \(source) -> \(destination): no trap tunnel")
                return
            }
            guard refusal(config) == nil else { return }
            log.event(.tmd, "tunnel '\(config.name)': traffic \(source) -> \(destination) starts it (acquire)")
            // A held tunnel comes back under the number it had when its peer died.
            _ = start(config, wantsPhase2: true, keeping: holding[config.name])
        case let .expire(id, reqid, hard):
            guard TunnelManager.reqidRange.contains(reqid),
                  let t = tunnel(reqid: reqid, where: { $0.isEstablished }) else { return }
            if hard {
                log.information(.tmd, "\(label(t)): kernel SA \(id) reached its hard lifetime")
            } else {
                log.information(.tmd, "\(label(t)): kernel SA \(id) reached its soft lifetime; rekeying")
                process(engine(for: t.config).rekey(t.number, phase: .two))
            }
        case let .migrate(reqid, from, to):
            migrated(reqid: reqid, from: from, to: to)
        }
    }

    /// Another program moved a tunnel's SAs and policies to new outer addresses
    /// (XFRM_MSG_MIGRATE). The kernel state is already there; the tunnel's record follows
    /// it, so that rekeys install and removals find the SAs at the new addresses, and the
    /// engine sends its IKE messages between them. The out policy's template names
    /// (local, remote), the in and fwd ones (remote, local): each reports the same move.
    func migrated(reqid: UInt32, from: KernelEvent.Endpoints, to: KernelEvent.Endpoints) {
        guard TunnelManager.reqidRange.contains(reqid),
              var t = tunnel(reqid: reqid, where: { $0.hasPhase1 }),
              let p1 = t.endpoints else { return }
        var local = to.source, remote = to.destination
        if from.source == p1.remote && from.destination == p1.local {
            swap(&local, &remote)
        } else if !(from.source == p1.local && from.destination == p1.remote) {
            log.debug(.tmd, "\(label(t)): kernel migrate \(from) => \(to) names other endpoints; ignored")
            return
        }
        if local == p1.local && remote == p1.remote { return }
        log.event(.tmd, "\(label(t)): the kernel moved its SAs from \(p1.local) <-> \(p1.remote) to \(local) <-> \(remote) (migrate)")
        t.moveEndpoints(local: local, remote: remote)
        table[t.number] = t
        process(engine(for: t.config).migrate(t.number, local: local, remote: remote))
    }
}
