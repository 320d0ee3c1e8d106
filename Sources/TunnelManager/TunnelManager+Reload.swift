import IKECore
import IKEWire
import Kernel
import UCI

extension TunnelManager {
    /// Removes the trap policy of a tunnel of the previous configuration that is not up.
    func removeTrapOf(_ config: TunnelConfig, in old: Configuration) {
        guard waitsForTraffic(config), table.first(named: config.name, where: { !$0.isFailed }) == nil,
              let local = config.localSubnets.first, let remote = config.remoteSubnets.first else { return }
        try? kernel.deletePolicy(PolicyIdentifier(source: local, destination: remote, direction: .outbound))
    }
}

/// What a reload did, by tunnel name.
public struct ReloadSummary: Equatable, Sendable {
    public var unchanged: [String] = []
    public var changed: [String] = []
    public var added: [String] = []
    public var removed: [String] = []
}

extension TunnelManager {
    /// `ike cmd=reload` and SIGHUP, with a configuration that already loaded cleanly:
    /// unchanged tunnels are not touched; removed ones are torn down; changed ones are
    /// torn down and, if they were up or start automatically, re-established; added
    /// `start 'auto'` ones are started.
    public func reload(_ new: Configuration) -> ReloadSummary {
        var summary = ReloadSummary()
        let old = configuration
        configuration = new
        sharedConfigs = [:]
        log.level = new.global.logLevel
        log.maxPerSecond = new.global.logRate
        v1.configure(new)
        v2.configure(new)
        for config in old.tunnels {
            guard let replacement = new.tunnel(named: config.name) else {
                summary.removed.append(config.name)
                for t in tunnels where t.name == config.name { removeTunnel(t.number) }
                log.event(.tmd, "reload: tunnel '\(config.name)' removed from the configuration")
                continue
            }
            if replacement == config {
                summary.unchanged.append(config.name)
                continue
            }
            summary.changed.append(config.name)
            log.event(.tmd, "reload: tunnel '\(config.name)' changed; re-establishing it")
            var wasUp = false
            for t in tunnels where t.name == config.name {
                if t.role == .initiator && !t.isFailed { wasUp = true }
                removeTunnel(t.number)
            }
            if (wasUp || replacement.start == .auto) && refusal(replacement) == nil {
                _ = start(replacement, wantsPhase2: true)
            }
        }
        for config in old.tunnels where waitsForTraffic(config) && new.tunnel(named: config.name) != config {
            removeTrapOf(config, in: old)
            // A changed or removed tunnel is no longer held.
            holding.removeValue(forKey: config.name)
        }
        installTraps()
        for config in new.tunnels where old.tunnel(named: config.name) == nil {
            summary.added.append(config.name)
            log.event(.tmd, "reload: tunnel '\(config.name)' added")
            if config.enabled && config.start == .auto && refusal(config) == nil { _ = start(config, wantsPhase2: true) }
        }
        restartFailedAutoTunnels()
        return summary
    }
}
