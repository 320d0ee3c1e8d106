import Broker
import Control
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
            let rows = TunnelListing.rows(manager.tunnels, options)
            let now = loop.clock.now
            if options.json { return .respond(.ok(TunnelListing.json(rows, now: now))) }
            let kernel = self.kernel, v1 = ikev1.engine, v2 = ikev2.engine
            let versions = Dictionary(uniqueKeysWithValues: manager.tunnels.map { ($0.number, $0.config.version) })
            return .respond(.ok(TunnelListing.table(rows, verbose: options.verbose, now: now, counters: { kernel.counters($0) },
                                                    rekeyIn: { n in
                                                        let t = versions[n] == .v1 ? v1.rekeyTimes(tunnel: n, now: now) : v2.rekeyTimes(tunnel: n, now: now)
                                                        return (t.ike, t.child)
                                                    })))
        case let .log(level):
            guard let level else { return .respond(.ok("log level: \(log.level)\n")) }
            let old = log.level
            log.level = level
            log.event(.tmd, "log level set to \(level) (was \(old))")
            return .respond(.ok("log level: \(level) (was \(old))\n"))
        case .reload:
            return .respond(reload())
        case .status:
            return .respond(.ok(status()))
        }
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
        var notes: [String] = []
        let old = manager.configuration.global, new = configuration.global
        if old.port != new.port || old.nattPort != new.nattPort || old.listen != new.listen || old.socket != new.socket
            || old.kernel != new.kernel || old.syslogFacility != new.syslogFacility {
            notes.append("changes to listen, port, natt_port, socket, kernel and syslog_facility take effect when the daemon restarts")
        }
        let s = manager.reload(configuration)
        let text = "reloaded \(options.configPath): \(s.unchanged.count) unchanged, \(s.changed.count) changed, \(s.added.count) added, \(s.removed.count) removed"
        log.event(.tmd, text)
        for note in notes { log.event(.tmd, note) }
        return .ok(([text] + notes).joined(separator: "\n") + "\n")
    }

    func status() -> String {
        let subsystems = [
            StatusReport.Subsystem("tmd", active: true),
            StatusReport.Subsystem("iked", active: !sockets.isEmpty),
            StatusReport.Subsystem("isakmpd", active: true),
            StatusReport.Subsystem("ikev2d", active: true),
            StatusReport.Subsystem("cpsd", active: false),
        ]
        var count: [PhaseStatus: Int] = [:]
        for t in manager.tunnels { count[t.phase1Status, default: 0] += 1 }
        let b = broker.counters
        let counters: [(String, String)] = [
            ("configuration", options.configPath),
            ("log level", log.level.description),
            ("kernel", kernel.name),
            ("tunnels", "\(manager.tunnels.count) (active \(count[.active] ?? 0), negotiating \(count[.negotiating] ?? 0), failed \(count[.failed] ?? 0))"),
            ("datagrams received", b.received.description),
            ("  IKEv1 / IKEv2", "\(b.ikev1) / \(b.ikev2)"),
            ("  dropped: malformed", b.malformed.description),
            ("  dropped: unsupported version", "\(b.unsupportedVersion) (\(ikev2.engine.counters.versionAnswersSuppressed) not answered: rate limit)"),
            ("  dropped: not IKE on NAT-T port", b.notIKE.description),
            ("  dropped: no free buffer", pool.exhausted.description),
            ("  dropped: receive errors", (b.receiveDrops - pool.exhausted + b.receiveErrors).description),
            ("  NAT keepalives", b.natKeepalives.description),
            ("ISAKMP SAs (IKEv1)", ikev1.engine.saCount.description),
            ("  dropped: unknown cookies", ikev1.engine.counters.unknownCookie.description),
            ("  dropped: bad HASH or decryption", ikev1.engine.counters.hashFailures.description),
            ("  dropped: malformed IKEv1", ikev1.engine.counters.malformed.description),
            ("  half-open now", "\(ikev1.engine.halfOpenCount) (half_open_max \(ikev1.engine.limits.halfOpenTotal), per source \(ikev1.engine.limits.halfOpenPerSource))"),
            ("  dropped: half-open limit", ikev1.engine.counters.halfOpenRefused.description),
            ("  dropped: Aggressive Mode rate", ikev1.engine.counters.aggressiveLimited.description),
            ("  half-open replaced (same source)", ikev1.engine.counters.halfOpenReplaced.description),
            ("  half-open expired", ikev1.engine.counters.halfOpenExpired.description),
            ("  no tunnel for peer", ikev1.engine.counters.noMatchingTunnel.description),
            ("  retransmissions sent / answered", "\(ikev1.engine.counters.retransmitsSent) / \(ikev1.engine.counters.retransmitsAnswered)"),
            ("IKEv2 SAs", ikev2.engine.saCount.description),
            ("  dropped: unknown SPI", ikev2.engine.counters.unknownSPI.description),
            ("  dropped: bad message ID", ikev2.engine.counters.badMessageID.description),
            ("  dropped: integrity failures", ikev2.engine.counters.integrityFailures.description),
            ("  dropped: malformed IKEv2", ikev2.engine.counters.malformed.description),
            ("  no tunnel for peer", ikev2.engine.counters.noMatchingTunnel.description),
            ("  retransmissions sent / answered", "\(ikev2.engine.counters.retransmitsSent) / \(ikev2.engine.counters.retransmitsAnswered)"),
            ("  half-open now", "\(ikev2.engine.halfOpenCount) (half_open_max \(ikev2.engine.limits.halfOpenTotal), per source \(ikev2.engine.limits.halfOpenPerSource))"),
            ("  COOKIEs sent / bad cookies", "\(ikev2.engine.counters.cookiesSent) / \(ikev2.engine.counters.badCookies)"),
            ("  dropped: half-open limit", ikev2.engine.counters.halfOpenRefused.description),
            ("  half-open replaced (same source)", ikev2.engine.counters.halfOpenReplaced.description),
            ("  half-open expired", ikev2.engine.counters.halfOpenExpired.description),
            ("  rekeys failed (retried)", ikev2.engine.counters.rekeyFailures.description),
            ("control requests", "\(control?.served ?? 0) served, \(control?.malformed ?? 0) malformed, \(control?.abandoned ?? 0) answers not read in time"),
            ("log records dropped (log_rate)", log.suppressed.description),
        ]
        return StatusReport.render(subsystems, pid: Process.id, counters: counters)
    }
}
