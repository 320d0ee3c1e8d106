import IKECore
import IKECrypto
import IKEWire

/// Phase 1 established: a tunnel's first ISAKMP SA, our rekey taking the tunnel over,
/// the peer's rekey, and crossed rekeys settled by the lower-address rule.
extension IKEv1Engine {

    func phase1Established(_ sa: ISAKMPSA, now: Instant) {
        sa.settle()
        sa.establishedAt = now
        if !sa.initiator { responders.settled(HalfOpenTable.Key(sa.cookieI, sa.firstAddress), ours: sa.cookieR) }
        sa.lastHeard = now
        var lifetime = sa.policy.ikeLifetimeSeconds
        if let offered = sa.choice?.lifetimeSeconds, offered > 0 { lifetime = min(lifetime, offered) }
        sa.lifetimeSeconds = lifetime
        (sa.rekeyAt, sa.expiresAt) = Lifetime.schedule(lifetime, from: now)
        log(.information, "\(sa.policy.name): ISAKMP SA \(Hex.prefixed(sa.cookieI))/\(Hex.prefixed(sa.cookieR)) with \(sa.remote) established"
            + " (\(sa.choice!.algorithms)\(sa.natDetected ? ", NAT-T" : ""))")
        if sa.initiator, sa.isRekey, let gone = sa.replaces, sas[gone] == nil {
            // The SA this rekey replaces went meanwhile (the tunnel was deleted, or started
            // again on another SA): this one has nothing to take over.
            log(.information, "\(sa.policy.name): ISAKMP SA \(Hex.prefixed(sa.localCookie)) rekeyed one that is gone since; deleting it")
            sa.tunnel = nil
            deleteISAKMP(sa, now: now)
            return
        }
        // Who holds our rekey's tunnel now: the SA it replaces, or, when the peer rekeyed
        // the same SA at the same time and its SA came first, the peer's.
        let holder = sa.replaces == nil ? nil : sa.tunnel.flatMap { byTunnel[$0] }.flatMap { sas[$0] }
        if let holder, holder !== sa {
            // Our phase 1 rekey: the new SA takes over the tunnel. Peers keep IPsec SAs
            // with the ISAKMP SA that made them (strongSwan drops them with it), so they are
            // renewed on the new one first; the old ISAKMP SA goes after that.
            var from = holder
            let old = sa.replaces.flatMap { sas[$0] }
            if holder.localCookie != sa.replaces, !holder.initiator {
                let theirs = holder
                guard IKEv1Engine.ourRekeyWins(sa) else {
                    log(.information, "\(sa.policy.name): our phase 1 rekey crossed the peer's, which stays (it came from the lower address)")
                    sa.replaces = nil
                    deleteISAKMP(sa, now: now)
                    return
                }
                log(.information, "\(sa.policy.name): our phase 1 rekey crossed the peer's; ours, from the lower address, stays")
                theirs.retireAt = now + IKEv1Engine.retireGrace
                from = theirs
            }
            handOver(from: from, to: sa)
            if let t = sa.tunnel { output.append(.report(.phase1Rekeyed(t, established(sa)))) }
            if sa.child != nil {
                startQuickMode(sa, rekey: true, now: now)
            } else {
                if let old { deleteISAKMP(old, now: now) }
                sa.replaces = nil
            }
            return
        }
        if sa.initiator {
            if let t = sa.tunnel { output.append(.report(.phase1Created(t, established(sa)))) }
            guard sa.phase2Wanted else { return }
            if sa.aggressive {
                // Our third message has no answer: a Quick Mode right behind it can reach a
                // multi-threaded responder (charon) first and be dropped as early, and then
                // waits for its retransmission. It goes a moment later instead.
                sa.quickModeDue = now + IKEv1Engine.aggressiveQuickModeDelay
                touch(sa)
            } else {
                startQuickMode(sa, rekey: false, now: now)
            }
            return
        }
        // The peer's phase 1 rekey crossed ours (it began before ours was up, so both
        // rekeyed the same SA at once): the one the lower address initiated stays on both
        // sides; here, ours. The peer's is refused: it gets no tunnel and no Quick Mode,
        // and goes after the grace.
        if let ours = peerSAs(sa.remote.address).first(where: { $0 !== sa && $0.initiator && $0.isRekey && $0.replacedBy == nil
            && $0.policy.name == sa.policy.name && ($0.establishedAt.map { sa.createdAt <= $0 } ?? true) }),
           IKEv1Engine.ourRekeyWins(ours) {
            log(.information, "\(sa.policy.name): the peer's phase 1 rekey crossed ours; ours, from the lower address, stays")
            sa.replacedBy = ours.localCookie
            sa.retireAt = now + IKEv1Engine.retireGrace
            return
        }
        // The peer's phase 1 rekey: a new ISAKMP SA for a tunnel that already runs.
        if let old = peerSAs(sa.remote.address).first(where: { $0 !== sa && $0.isEstablished && $0.tunnel != nil
            && $0.replacedBy == nil && $0.policy.name == sa.policy.name }) {
            if old.initiator, old.isRekey, IKEv1Engine.ourRekeyWins(old), let up = old.establishedAt,
               sa.createdAt <= up + IKEv1Engine.crossingWindow {
                // Its first message came moments after ours was up here: whether the peer
                // began it before ours reached it (crossed there) or rekeyed ours since,
                // only the peer knows, and shows.
                log(.information, "\(sa.policy.name): the peer's phase 1 rekey came right after ours; it takes the tunnel when the peer uses it")
                sa.contends = old.localCookie
                sa.retireAt = now + IKEv1Engine.retireGrace
                return
            }
            handOver(from: old, to: sa)
            old.retireAt = now + IKEv1Engine.retireGrace
            touch(old)
            if let t = sa.tunnel { output.append(.report(.phase1Rekeyed(t, established(sa)))) }
        } else {
            sa.retireAt = now + IKEv1Engine.retireGrace
        }
    }

    /// How long after our phase 1 rekey came up a peer's rekey whose first message then
    /// reaches us may still be one that crossed it (delayed, or lost once and sent again):
    /// the peer, which began it before ours reached it, judged the two crossed and deletes
    /// it. Such a rekey contends for the tunnel: it takes it over once the peer runs Quick
    /// Mode on it or deletes ours (as it does after a real rekey), and goes after the grace
    /// otherwise. A later one is the peer's rekey of ours.
    static let crossingWindow: Interval = .seconds(3)

    /// The peer ran Quick Mode on the contending SA, or deleted the one it contends with.
    func takeOver(by sa: ISAKMPSA, now: Instant) {
        guard let holder = sa.contends.flatMap({ sas[$0] }), holder.tunnel != nil else { return }
        sa.contends = nil
        sa.retireAt = nil
        handOver(from: holder, to: sa)
        holder.retireAt = now + IKEv1Engine.retireGrace
        log(.information, "\(sa.policy.name): the peer uses its phase 1 rekey ISAKMP SA \(Hex.prefixed(sa.localCookie)); it takes the tunnel over")
        if let t = sa.tunnel { output.append(.report(.phase1Rekeyed(t, established(sa)))) }
    }

    /// The peer deleted the SA that took our tunnel over by its phase 1 rekey moments after
    /// ours came up: it judged the two crossed after all (its first message reached us
    /// too late for `crossingWindow`), and ours, still in its grace, takes the tunnel back.
    /// True when it did.
    func handBack(from sa: ISAKMPSA, now: Instant) -> Bool {
        guard sa.tunnel != nil, !sa.initiator,
              let ours = peerSAs(sa.remote.address).first(where: { $0.replacedBy == sa.localCookie && $0.initiator && $0.isRekey
                  && $0.isEstablished && IKEv1Engine.ourRekeyWins($0) }) else { return false }
        ours.replacedBy = nil
        ours.retireAt = nil
        ours.rekeyAt = Lifetime.schedule(ours.lifetimeSeconds, from: now).rekey
        handOver(from: sa, to: ours)
        log(.information, "\(sa.policy.name): the peer deleted its phase 1 rekey that crossed ours; the tunnel goes back to ISAKMP SA \(Hex.prefixed(ours.localCookie))")
        if let t = ours.tunnel { output.append(.report(.phase1Rekeyed(t, established(ours)))) }
        return true
    }

    /// The peer runs Quick Mode on its phase 1 rekey's SA, which ours replaced here since
    /// (its MM6 reached the peer late: to us the two came in sequence), while our own
    /// renewal goes unanswered: the peer judged the two crossed and refused ours, as the
    /// lower address does. The tunnel goes back to the peer's SA, and ours is deleted.
    /// True when it did.
    func yieldToThePeersRekey(_ sa: ISAKMPSA, now: Instant) -> Bool {
        guard !sa.initiator, sa.isEstablished, let ours = sa.replacedBy.flatMap({ sas[$0] }), ours.initiator, ours.isRekey,
              ours.replaces == sa.localCookie, ours.tunnel != nil, !IKEv1Engine.ourRekeyWins(ours),
              ours.quickModes.contains(where: { $0.value.initiator && $0.value.rekey }) else { return false }
        ours.replaces = nil
        handOver(from: ours, to: sa)
        sa.replacedBy = nil
        sa.retireAt = nil
        sa.rekeyAt = Lifetime.schedule(sa.lifetimeSeconds, from: now).rekey
        log(.information, "\(sa.policy.name): the peer keeps ISAKMP SA \(Hex.prefixed(sa.localCookie)), which our phase 1 rekey replaced"
            + " (it took the two for crossed); the tunnel goes back to it")
        if let t = sa.tunnel { output.append(.report(.phase1Rekeyed(t, established(sa)))) }
        deleteISAKMP(ours, now: now)
        return true
    }

    /// When both sides rekey phase 1 at once, the SA the lower address initiated stays on
    /// both (the rule the Tunnel Manager applies to crossed attempts).
    static func ourRekeyWins(_ sa: ISAKMPSA) -> Bool {
        sa.local.address.bytes.lexicographicallyPrecedes(sa.remote.address.bytes)
    }

    /// Moves a tunnel and its IPsec SAs from an ISAKMP SA to its successor.
    func handOver(from old: ISAKMPSA, to new: ISAKMPSA) {
        new.tunnel = old.tunnel
        new.child = old.child
        new.retired = old.retired
        old.child = nil
        old.retired = []
        old.replacedBy = new.localCookie
        old.rekeyAt = nil
        if let t = new.tunnel { byTunnel[t] = new.localCookie }
        old.tunnel = nil
        touch(old)
        touch(new)
    }

    func established(_ sa: ISAKMPSA) -> Phase1SA {
        Phase1SA(localAddress: sa.local.address, remoteAddress: sa.remote.address, localID: localIdentity(sa),
                         remoteID: sa.peerID ?? sa.policy.remoteID, initiatorSPI: sa.cookieI, responderSPI: sa.cookieR,
                         algorithms: sa.choice!.algorithms, natTraversal: sa.natDetected, lifetimeSeconds: sa.lifetimeSeconds,
                         startedAt: sa.createdAt)
    }
}
