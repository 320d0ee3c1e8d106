import Broker
import CertificateProxy
import Control
import IKECore
import IKEWire
import IKEv1
import IKEv2
import Kernel
import Platform
import TunnelManager
import UCI

/// Carries out `ike cmd=` requests in the daemon and words the answers.
extension Daemon {
    func execute(_ request: ControlRequest) -> ControlServer.Outcome {
        switch request {
        case let .activate(phase, selection, wait):
            return activate(phase, selection, wait)
        case let .remove(phase, selection, all):
            switch manager.remove(selection, phase: phase, all: all) {
            case let .success(numbers): return .respond(.ok(numbers.map { "\($0) removed" }.joined(separator: "\n") + "\n"))
            case let .failure(e): return .respond(.failed("ike: \(e)"))
            }
        case let .rekey(phase, selection):
            switch manager.rekey(selection, phase: phase) {
            case let .success(numbers): return .respond(.ok(numbers.map { "\($0) rekeying" }.joined(separator: "\n") + "\n"))
            case let .failure(e): return .respond(.failed("ike: \(e)"))
            }
        case let .list(options):
            return .respond(.ok(list(options)))
        case let .log(level, json):
            let old = log.level
            if let level, level != old {
                log.level = level
                log.event(.tmd, "log level set to \(level) (was \(old))")
            }
            if json {
                let previous = level == nil ? [] : [("previous", JSON.string(old.description))]
                return .respond(.ok(JSON.object([("level", JSON.string(log.level.description))] + previous) + "\n"))
            }
            guard let level else { return .respond(.ok("log level: \(log.level)\n")) }
            return .respond(.ok("log level: \(level) (was \(old))\n"))
        case .reload:
            return .respond(reload())
        case let .status(json):
            return .respond(.ok(status(json: json)))
        }
    }

    private func list(_ options: ListOptions) -> String {
        if options.certificates {
            let infos = cpsd.listing() ?? []
            return options.json ? CertificateListing.json(infos) : options.verbose ? CertificateListing.verbose(infos) : CertificateListing.table(infos)
        }
        if options.configured {
            let rows = ConfiguredListing.rows(manager.configuration, manager.tunnels, held: manager.heldTunnels, names: options.names)
            return options.json ? ConfiguredListing.json(rows) : ConfiguredListing.table(rows)
        }
        let rows = TunnelListing.rows(manager, options)
        let now = loop.clock.now
        let kernel = self.kernel, v1 = ikev1.engine, v2 = ikev2.engine
        let versions = Dictionary(uniqueKeysWithValues: manager.tunnels.map { ($0.number, $0.config.version) })
        let counters: (SAIdentifier) -> SACounters? = { kernel.counters($0) }
        let rekeyIn: (TunnelNumber) -> (phase1: UInt64?, phase2: UInt64?) = { n in
            let t = versions[n] == .v1 ? v1.rekeyTimes(tunnel: n, now: now) : v2.rekeyTimes(tunnel: n, now: now)
            return (t.ike, t.child)
        }
        if options.json { return TunnelListing.json(rows, verbose: options.verbose, now: now, counters: counters, rekeyIn: rekeyIn) }
        return TunnelListing.table(rows, verbose: options.verbose, now: now, counters: counters, rekeyIn: rekeyIn)
    }

    private func activate(_ phase: Phase?, _ selection: Selection, _ wait: UInt32?) -> ControlServer.Outcome {
        let numbers: [TunnelNumber]
        switch manager.activate(selection, phase: phase) {
        case let .success(n): numbers = n
        case let .failure(e): return .respond(.failed("ike: \(e)"))
        }
        var printed = ""
        for n in numbers { printed += "\(n) \(manager.tunnel(n)?.name ?? "")\n" }
        guard let wait else { return .respond(.ok(printed)) }
        let manager = self.manager
        return .wait(
            until: loop.clock.now + .seconds(UInt64(wait)),
            check: {
                var errors: [String] = []
                for n in numbers {
                    guard let t = manager.tunnel(n) else {
                        errors.append("ike: tunnel \(n) was removed while waiting")
                        continue
                    }
                    if t.isFailed {
                        errors.append("ike: tunnel \(n) '\(t.name)' failed at \(t.failure ?? "an unknown step")")
                    } else if t.phase1Status != .active || (t.phase2Status != nil && t.phase2Status != .active) {
                        return nil
                    }
                }
                return errors.isEmpty ? .ok(printed) : ControlResponse(status: 1, output: printed, error: errors.joined(separator: "\n"))
            },
            timeout: {
                var errors: [String] = []
                for n in numbers {
                    guard let t = manager.tunnel(n) else { continue }
                    errors.append("ike: tunnel \(n) '\(t.name)' is not active after \(wait) s (phase 1 \(t.phase1Status.rawValue), phase 2 \(t.phase2Status?.rawValue ?? "not requested")); see ike cmd=list verbose")
                }
                return ControlResponse(status: 1, output: printed, error: errors.joined(separator: "\n"))
            })
    }

    /// Re-reads the file; a broken one is refused with all its errors and changes nothing.
    func reload() -> ControlResponse {
        let configuration: Configuration
        switch loadConfigurationFile() {
        case let .success(c): configuration = c
        case let .failure(problem):
            // One record per error: a syslog record is one line.
            for line in problem.description.split(separator: "\n") { log.error(.tmd, "reload refused: \(line)") }
            log.error(.tmd, "reload refused, the running configuration stays")
            return .failed(problem.description + "\nike: reload refused; the daemon keeps its running configuration")
        }
        if let problem = applyCredentials(configuration) {
            for line in problem.split(separator: "\n") { log.error(.tmd, "reload refused: \(line)") }
            log.error(.tmd, "reload refused, the running configuration stays")
            return .failed(problem + "\nike: reload refused; the daemon keeps its running configuration")
        }
        var notes: [String] = []
        let old = manager.configuration.global, new = configuration.global
        if old.port != new.port || old.nattPort != new.nattPort || old.listen != new.listen || old.socket != new.socket
            || old.kernel != new.kernel || old.syslogFacility != new.syslogFacility {
            notes.append("changes to listen, port, natt_port, socket, kernel and syslog_facility take effect when the daemon restarts")
        }
        ikev2.engine.fragmentSize = Int(configuration.global.fragmentSize)
        let s = manager.reload(configuration)
        let text = "reloaded \(options.configPath): \(s.unchanged.count) unchanged, \(s.changed.count) changed, \(s.added.count) added, \(s.removed.count) removed"
        log.event(.tmd, text)
        for note in notes { log.event(.tmd, note) }
        return .ok(([text] + notes).joined(separator: "\n") + "\n")
    }

    func status(json: Bool) -> String {
        let subsystems = [
            StatusReport.Subsystem("tmd", active: true),
            StatusReport.Subsystem("iked", active: !sockets.isEmpty),
            StatusReport.Subsystem("isakmpd", active: true),
            StatusReport.Subsystem("ikev2d", active: true),
            StatusReport.Subsystem("cpsd", active: cpsd.pid != nil, pid: cpsd.pid),
        ]
        let counters = statusCounters()
        return json ? StatusReport.json(subsystems, pid: Process.id, counters: counters)
            : StatusReport.render(subsystems, pid: Process.id, counters: counters)
    }

    /// The counters of `cmd=status`, each with its JSON group and keys (ike(8)).
    private func statusCounters() -> [StatusReport.Counter] {
        typealias C = StatusReport.Counter
        let count = manager.phase1StatusCounts
        let b = broker.counters, v1 = ikev1.engine, v2 = ikev2.engine
        let c1 = v1.counters, c2 = v2.counters
        let tunnels = [("tunnels", manager.tunnelCount), ("active", count[.active] ?? 0),
                       ("negotiating", count[.negotiating] ?? 0), ("failed", count[.failed] ?? 0)]
        let served = UInt64(control?.served ?? 0), malformed = UInt64(control?.malformed ?? 0), abandoned = UInt64(control?.abandoned ?? 0)
        return [
            .text("configuration", options.configPath, group: "tmd", key: "configuration"),
            .text("log level", log.level.description, group: "tmd", key: "log_level"),
            .text("kernel", kernel.name, group: "tmd", key: "kernel"),
            .counts("tunnels", "\(tunnels[0].1) (active \(tunnels[1].1), negotiating \(tunnels[2].1), failed \(tunnels[3].1))", group: "tmd", tunnels),
            .count("datagrams received", b.received, group: "iked", key: "received"),
            .counts("  IKEv1 / IKEv2", "\(b.ikev1) / \(b.ikev2)", group: "iked", [("ikev1", b.ikev1), ("ikev2", b.ikev2)]),
            .count("  dropped: malformed", b.malformed, group: "iked", key: "malformed"),
            .counts("  dropped: unsupported version", "\(b.unsupportedVersion) (\(c2.versionAnswersSuppressed) not answered: rate limit)", group: "iked",
                    [("unsupported_version", b.unsupportedVersion), ("version_answers_suppressed", c2.versionAnswersSuppressed)]),
            .count("  dropped: not IKE on NAT-T port", b.notIKE, group: "iked", key: "not_ike"),
            .count("  dropped: no free buffer", pool.exhausted, group: "iked", key: "no_buffer"),
            .count("  dropped: receive errors", b.receiveDrops - pool.exhausted + b.receiveErrors, group: "iked", key: "receive_errors"),
            .count("  NAT keepalives", b.natKeepalives, group: "iked", key: "nat_keepalives"),
            .count("ISAKMP SAs (IKEv1)", v1.saCount, group: "isakmpd", key: "sas"),
            .count("  dropped: unknown cookies", c1.unknownCookie, group: "isakmpd", key: "unknown_cookies"),
            .count("  dropped: bad HASH or decryption", c1.hashFailures, group: "isakmpd", key: "hash_failures"),
            .count("  dropped: malformed IKEv1", c1.malformed, group: "isakmpd", key: "malformed"),
            .counts("  half-open now", "\(v1.halfOpenCount) (half_open_max \(v1.limits.halfOpenTotal), per source \(v1.limits.halfOpenPerSource))", group: "isakmpd",
                    [("half_open", UInt64(v1.halfOpenCount)), ("half_open_max", UInt64(v1.limits.halfOpenTotal)), ("half_open_per_source", UInt64(v1.limits.halfOpenPerSource))]),
            .count("  dropped: half-open limit", c1.halfOpenRefused, group: "isakmpd", key: "half_open_refused"),
            .count("  dropped: Aggressive Mode rate", c1.aggressiveLimited, group: "isakmpd", key: "aggressive_limited"),
            .count("  half-open replaced (same source)", c1.halfOpenReplaced, group: "isakmpd", key: "half_open_replaced"),
            .count("  half-open expired", c1.halfOpenExpired, group: "isakmpd", key: "half_open_expired"),
            .count("  no tunnel for peer", c1.noMatchingTunnel, group: "isakmpd", key: "no_tunnel"),
            .counts("  retransmissions sent / answered", "\(c1.retransmitsSent) / \(c1.retransmitsAnswered)", group: "isakmpd",
                    [("retransmissions_sent", c1.retransmitsSent), ("retransmissions_answered", c1.retransmitsAnswered)]),
            .count("IKEv2 SAs", v2.saCount, group: "ikev2d", key: "sas"),
            .count("  dropped: unknown SPI", c2.unknownSPI, group: "ikev2d", key: "unknown_spi"),
            .count("  dropped: bad message ID", c2.badMessageID, group: "ikev2d", key: "bad_message_id"),
            .count("  dropped: integrity failures", c2.integrityFailures, group: "ikev2d", key: "integrity_failures"),
            .count("  dropped: malformed IKEv2", c2.malformed, group: "ikev2d", key: "malformed"),
            .count("  no tunnel for peer", c2.noMatchingTunnel, group: "ikev2d", key: "no_tunnel"),
            .counts("  retransmissions sent / answered", "\(c2.retransmitsSent) / \(c2.retransmitsAnswered)", group: "ikev2d",
                    [("retransmissions_sent", c2.retransmitsSent), ("retransmissions_answered", c2.retransmitsAnswered)]),
            .counts("  half-open now", "\(v2.halfOpenCount) (half_open_max \(v2.limits.halfOpenTotal), per source \(v2.limits.halfOpenPerSource))", group: "ikev2d",
                    [("half_open", UInt64(v2.halfOpenCount)), ("half_open_max", UInt64(v2.limits.halfOpenTotal)), ("half_open_per_source", UInt64(v2.limits.halfOpenPerSource))]),
            .counts("  COOKIEs sent / bad cookies", "\(c2.cookiesSent) / \(c2.badCookies)", group: "ikev2d",
                    [("cookies_sent", c2.cookiesSent), ("bad_cookies", c2.badCookies)]),
            .count("  dropped: half-open limit", c2.halfOpenRefused, group: "ikev2d", key: "half_open_refused"),
            .count("  half-open replaced (same source)", c2.halfOpenReplaced, group: "ikev2d", key: "half_open_replaced"),
            .count("  half-open expired", c2.halfOpenExpired, group: "ikev2d", key: "half_open_expired"),
            .count("  rekeys failed (retried)", c2.rekeyFailures, group: "ikev2d", key: "rekeys_failed"),
            .counts("  fragments received / dropped", "\(c2.fragmentsReceived) / \(c2.fragmentsDropped) (\(c2.messagesFragmented) messages sent in fragments)", group: "ikev2d",
                    [("fragments_received", c2.fragmentsReceived), ("fragments_dropped", c2.fragmentsDropped), ("messages_fragmented", c2.messagesFragmented)]),
            .count("cpsd restarts (died or stuck)", UInt64(cpsd.restarts), group: "cpsd", key: "restarts"),
            .counts("control requests", "\(served) served, \(malformed) malformed, \(abandoned) answers not read in time", group: "control",
                    [("served", served), ("malformed", malformed), ("abandoned", abandoned)]),
            .count("log records dropped (log_rate)", log.suppressed, group: "log", key: "suppressed"),
        ]
    }
}
