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
        guard config.start == .trap, config.mode == .tunnel, let local = config.localSubnets.first,
              let remote = config.remoteSubnets.first, let localAddress = config.localAddress,
              case let .address(remoteAddress) = config.remoteAddress,
              let index = configuration.tunnels.firstIndex(where: { $0.name == config.name }) else { return nil }
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
        guard table.values.first(where: { $0.name == config.name && !$0.isFailed }) == nil else { return }
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
                c.enabled && c.start == .trap && c.localSubnets.first == source && c.remoteSubnets.first == destination
            }) else {
                log.debug(.tmd, "acquire for \(source) -> \(destination): no trap tunnel")
                return
            }
            guard refusal(config) == nil else { return }
            log.event(.tmd, "tunnel '\(config.name)': traffic \(source) -> \(destination) starts it (acquire)")
            _ = start(config, wantsPhase2: true)
        case let .expire(id, reqid, hard):
            guard TunnelManager.reqidRange.contains(reqid),
                  let t = table.values.first(where: { self.reqid($0) == reqid && $0.childSA != nil }) else { return }
            if hard {
                log.information(.tmd, "\(label(t)): kernel SA \(id) reached its hard lifetime")
            } else {
                log.information(.tmd, "\(label(t)): kernel SA \(id) reached its soft lifetime; rekeying")
                process(engine(for: t.config).rekey(t.number, phase: .two))
            }
        }
    }
}
