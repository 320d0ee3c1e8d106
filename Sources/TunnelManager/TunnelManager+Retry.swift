import IKECore
import IKEWire
import UCI

/// A tunnel is never abandoned: failed negotiations are tried again with exponential
/// back-off and jitter (`retry_delay`, `retry_max_delay`, `keyingtries`), and new
/// initiations toward one peer are paced so that a thousand tunnels starting together
/// do not overrun it.
extension TunnelManager {
    /// Phase 1 negotiations in flight toward one peer at most; the rest wait in `queued`.
    /// Below strongSwan's default `block_threshold` (5 half-open IKE SAs per peer address),
    /// beyond which charon drops new IKE_SA_INIT requests.
    public static let maxNegotiatingPerPeer = 4

    /// Decides whether and when a failed initiator tunnel is tried again.
    func scheduleRetry(_ t: inout Tunnel) {
        t.nextAttempt = nil
        guard t.role == .initiator, configuration.tunnel(named: t.name) == t.config else { return }
        let limit = t.config.keyingTries ?? (t.persistent ? 0 : 1)
        if limit != 0 && t.attempt >= limit {
            if limit > 1 { log.error(.tmd, "\(label(t)): giving up after \(t.attempt) attempts (keyingtries \(limit))") }
            return
        }
        let first = UInt64(t.config.retryDelay) * 1000
        let delay = min(first << UInt64(min(t.attempt - 1, 20)), UInt64(t.config.retryMaxDelay) * 1000)
        let wait = Jitter.backOff(delay)
        let at = clock() + wait
        t.nextAttempt = at
        earliestRetry = min(earliestRetry ?? at, at)
        log.event(.tmd, "\(label(t)): attempt \(t.attempt) failed; next attempt in \(wait)")
    }

    /// When the next failed tunnel is due for its attempt: the driver calls `tick` then.
    public var wakeAt: Instant? { earliestRetry }

    /// Starts the failed tunnels whose next attempt is due. The daemon calls it on a timer;
    /// until the earliest retry is due it does nothing.
    public func tick(now: Instant) {
        guard let earliest = earliestRetry, now >= earliest else { return }
        earliestRetry = nil
        var due: [Tunnel] = []
        for t in table.values where t.isFailed {
            guard let at = t.nextAttempt else { continue }
            if now >= at { due.append(t) } else { earliestRetry = min(earliestRetry ?? at, at) }
        }
        for t in due.sorted(by: { $0.number < $1.number }) { retry(t) }
    }

    /// The next attempt of a failed tunnel, under its number. A phase 1 that is still up
    /// (phase 2 failed) is deleted first: the attempt starts from the beginning. None when
    /// the peer's attempt at the tunnel is up: ours crossed it and went on (from the lower
    /// address), then failed, and another would only come up beside it and fail on its
    /// filter rules, again and again (the board's netem run against charon found that).
    func retry(_ t: Tunnel) {
        if t.hasPhase1 { process(engine(for: t.config).delete(t.number, phase: .one)) }
        if let up = table.first(named: t.name, where: { $0.number != t.number && $0.remoteAddress == t.remoteAddress && $0.isEstablished }) {
            table.removeValue(forKey: t.number)
            log.event(.tmd, "\(label(t)): the peer brought the tunnel up (\(label(up))); no further attempt from here")
            return
        }
        _ = start(t.config, wantsPhase2: true, again: t)
    }

    /// `ike cmd=reload` and SIGHUP: failed `start 'auto'` tunnels start again at once,
    /// with a fresh count of attempts.
    func restartFailedAutoTunnels() {
        for t in tunnels where t.isFailed && t.role == .initiator && t.config.start == .auto {
            guard let config = configuration.tunnel(named: t.name), config.enabled else { continue }
            table.removeValue(forKey: t.number)
            _ = start(config, wantsPhase2: true)
        }
    }

    /// Resolves the tunnel's peer, then sends its phase 1 request; a name that gives no
    /// address fails the attempt, which is retried like a failed negotiation.
    func resolveThenRequest(_ tunnel: Tunnel, _ name: String) {
        guard let resolve else {
            fail(tunnel.number, step: 2, phase1: nil, "remote_address \(name) is a DNS name and this daemon has no resolver")
            return
        }
        log.event(.tmd, "\(label(tunnel)): resolving \(name)")
        let number = tunnel.number, attempt = tunnel.attempt
        resolve(name, tunnel.config.localAddress.map { $0.isV4 }) { [self] address, problem in
            guard var t = self.table[number], t.attempt == attempt, case .phase1Negotiating = t.state, t.resolvedAddress == nil else { return }
            guard let address else {
                self.fail(number, step: 2, phase1: nil, problem)
                self.dequeue()
                return
            }
            t.resolvedAddress = address
            self.table[number] = t
            self.log.event(.tmd, "\(self.label(t)): \(name) is \(address)")
            self.requestPhase1(t)
            self.dequeue()
        }
    }

    /// The phase 1 negotiations in flight toward `remote`, forgetting finished ones.
    func negotiating(toward remote: String) -> Int {
        guard var numbers = requested[remote] else { return 0 }
        for n in numbers {
            guard let t = table[n], case .phase1Negotiating = t.state else {
                numbers.remove(n)
                continue
            }
        }
        requested[remote] = numbers.isEmpty ? nil : numbers
        return numbers.count
    }

    /// Starts queued tunnels while their peers have free slots, oldest first.
    func dequeue() {
        for peer in Array(queued.keys) { dequeue(peer) }
    }

    /// Starts the tunnels queued toward `peer` while it has free slots. A tunnel removed
    /// meanwhile is skipped.
    func dequeue(_ peer: String) {
        while var waiting = queued[peer], let number = waiting.first,
              negotiating(toward: peer) < TunnelManager.maxNegotiatingPerPeer {
            waiting.removeFirst()
            queued[peer] = waiting.isEmpty ? nil : waiting
            guard let t = table[number], case .phase1Negotiating = t.state else { continue }
            requestPhase1(t)
        }
    }
}
