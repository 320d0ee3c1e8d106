import IKECore
import IKECrypto
import IKEWire

/// Informational exchanges (RFC 2408 §4.8, RFC 2409 §5.7): deletes both ways,
/// notifications, and DPD (RFC 3706), each one protected message:
///
///     HDR*, HASH(1), N/D      HASH(1) = prf(SKEYID_a, M-ID | N/D)
extension IKEv1Engine {
    /// `ike cmd=remove` and shutdown: deletes the tunnel's IPsec SAs (phase 2) or those
    /// and its ISAKMP SA (phase 1), telling the peer.
    public func delete(tunnel: UInt32, phase: Int, now: Instant) {
        let current = byTunnel[tunnel].flatMap { sas[$0] }
        defer {
            if let current { touch(current) }
            settle()
        }
        guard let c = byTunnel[tunnel], let sa = sas[c] else { return }
        delete(sa, phase: phase, now: now)
    }

    /// Deletes the IPsec SAs of `sa` at the peer and here, and with `phase` 1 the ISAKMP
    /// SA too (one not yet established just goes).
    func delete(_ sa: ISAKMPSA, phase: Int, now: Instant) {
        guard sa.isEstablished else {
            remove(sa)
            return
        }
        if let child = sa.child {
            var spis = [child.sa.inboundSPI.bigEndianBytes]
            for r in sa.retired { spis.append(r.inboundSPI.bigEndianBytes) }
            sendInformational(sa, [.delete(ISAKMPDelete(protocolID: IKEv1Number.protocolESP, spis: spis))])
            sa.child = nil
            sa.retired = []
        }
        if phase == 1 { deleteISAKMP(sa, now: now) }
    }

    /// Deletes an ISAKMP SA at the peer and here.
    func deleteISAKMP(_ sa: ISAKMPSA, now: Instant) {
        sendInformational(sa, [.delete(ISAKMPDelete(protocolID: IKEv1Number.protocolISAKMP, spis: [cookies(sa)]))])
        remove(sa)
    }

    /// Rekeys phase 1 (a new Main or Aggressive Mode that takes the tunnel over) or phase
    /// 2 (a new Quick Mode whose SAs replace the current ones).
    public func rekey(tunnel: UInt32, phase: Int, now: Instant) {
        let current = byTunnel[tunnel].flatMap { sas[$0] }
        defer {
            if let current { touch(current) }
            settle()
        }
        guard let c = byTunnel[tunnel], let sa = sas[c], sa.isEstablished, !sa.deletedByPeer else { return }
        if sa.pending != nil {
            // Our Quick Mode is in flight: a phase 2 rekey is that one; a phase 1 rekey
            // waits its turn, due a second from now (not left to the lifetime's rekey).
            let soon = now + .seconds(1)
            if phase == 1 { sa.rekeyAt = min(sa.rekeyAt ?? soon, soon) }
            return
        }
        if phase == 1 {
            guard !peerSAs(sa.remote.address).contains(where: { $0.replaces == sa.localCookie }) else { return }
            startPhase1(tunnel: tunnel, policy: sa.policy, remote: sa.remote.address, now: now, replacing: sa)
        } else {
            guard sa.child != nil, sa.quickModes.isEmpty else { return }
            startQuickMode(sa, rekey: true, now: now)
        }
    }

    /// Sends one protected Informational message (no answer is expected).
    func sendInformational(_ sa: ISAKMPSA, _ payloads: [ISAKMPPayload]) {
        let mid = IKEv1Engine.messageID()
        do throws(IKEv1Error) {
            let bytes = try protected(sa, .informational, messageID: mid, payloads)
            sa.ivs.removeValue(forKey: mid)
            send(sa, bytes)
        } catch {
            log(.error, "building an Informational message for \(sa.remote): \(error)")
        }
    }

    func informational(_ sa: ISAKMPSA, _ message: ISAKMPMessage, _ raw: [UInt8], now: Instant) {
        if !message.isEncrypted {
            // Before phase 1 has keys, errors come in the clear (and cannot be verified).
            for case let .notification(n) in message.payloads where n.type.isError && !sa.isEstablished {
                fail(sa, phase: 1, "peer answered \(n.type)" + (n.type == .authenticationFailed ? ": check psk, local_id and remote_id on both sides" : ""))
                return
            }
            counters.malformed += 1
            return
        }
        let mid = message.header.messageID
        guard sa.keys != nil, sa.isEstablished || sa.step == .mainSent5 else {
            counters.malformed += 1
            return
        }
        // RFC 2408 §4.8: an Informational after phase 1 has a message ID of its own; 0
        // belongs to phase 1, so such a message is dropped, not answered.
        guard mid != 0 || !sa.isEstablished else {
            counters.malformed += 1
            log(.debug, "Informational from \(sa.remote) with message ID 0 after phase 1; dropped")
            return
        }
        guard let (payloads, plaintext, _) = decrypt(sa, message, raw, iv: sa.exchangeIV(mid)),
              verify(sa, plaintext, first: payloads.first, prefix: mid.bigEndianBytes) else { return }
        sa.lastHeard = now
        sa.remember(raw, answer: [])
        for p in payloads.dropFirst() {
            switch p {
            case let .notification(n): notification(sa, n, now: now)
            case let .delete(d): deleted(sa, d, now: now)
            default: break
            }
            if sas[sa.localCookie] !== sa { return }
        }
    }

    func notification(_ sa: ISAKMPSA, _ n: ISAKMPNotification, now: Instant) {
        switch n.type {
        case .rUThere:
            guard n.data.count == 4 else { return }
            sendInformational(sa, [.notification(ISAKMPNotification(.rUThereAck, spi: cookies(sa), data: n.data))])
        case .rUThereAck:
            if let p = sa.dpdPending, UInt32(bigEndianBytes: n.data) == p.sequence { sa.dpdPending = nil }
        case .initialContact:
            initialContact(from: sa)
        default:
            if n.type.isError {
                log(.information, "\(sa.policy.name): \(sa.remote) reports \(n.type)")
                if let (mid, _) = sa.quickModes.first(where: { $0.value.initiator }) {
                    quickModeFailed(sa, mid, "peer answered \(n.type)", now: now)
                }
            }
        }
    }

    func deleted(_ sa: ISAKMPSA, _ d: ISAKMPDelete, now: Instant) {
        if d.protocolID == IKEv1Number.protocolISAKMP {
            guard d.spis.contains(cookies(sa)) else { return }
            if sa.tunnel != nil, let contender = peerSAs(sa.remote.address).first(where: { $0.contends == sa.localCookie }) {
                takeOver(by: contender, now: now)
            }
            if handBack(from: sa, now: now) {
                remove(sa)
                return
            }
            if sa.tunnel != nil, sa.replacedBy == nil,
               peerSAs(sa.remote.address).contains(where: { $0.replaces == sa.localCookie && $0.initiator && !$0.isEstablished }) {
                // The peer rekeyed this SA (its rekey crossed ours, which wins) and deleted
                // it; ours is still under way and takes the tunnel over when it is up.
                log(.information, "the peer \(sa.remote) deleted ISAKMP SA \(Hex.prefixed(sa.localCookie)), which our rekey under way replaces;"
                    + " the tunnel waits for it")
                sa.deletedByPeer = true
                return
            }
            if sa.replacedBy != nil || sa.tunnel == nil {
                log(.debug, "the peer deleted the replaced ISAKMP SA \(Hex.prefixed(sa.localCookie))")
            } else {
                log(.information, "the peer \(sa.remote) deleted ISAKMP SA \(Hex.prefixed(sa.localCookie))")
                if let t = sa.tunnel { output.append(.report(.deleted(t, .one))) }
            }
            remove(sa)
        } else if d.protocolID == IKEv1Number.protocolESP {
            for spi in d.spis {
                if let c = sa.child, c.sa.outboundSPI.bigEndianBytes == spi,
                   let (mid, qm) = sa.quickModes.first(where: { !$0.value.initiator && $0.value.rekey }) {
                    // The peer deletes the pair its Quick Mode rekey replaces: it had our
                    // QM2 and is on the new pair (its QM3 was lost), so ours goes up now.
                    log(.information, "\(sa.policy.name): \(sa.remote) deleted IPsec SA \(Hex.prefixed(c.sa.inboundSPI)) before its QM3 for"
                        + " Quick Mode \(Hex.prefixed(mid)) reached us; taking the new IPsec SAs as up")
                    sa.quickModes.removeValue(forKey: mid)
                    sa.ivs.removeValue(forKey: mid)
                    if sa.pending?.messageID == mid { sa.pending = nil }
                    childEstablished(sa, qm, now: now)
                    sa.retired.removeAll { $0.outboundSPI.bigEndianBytes == spi }
                } else if let c = sa.child, c.sa.outboundSPI.bigEndianBytes == spi {
                    sa.child = nil
                    log(.information, "the peer \(sa.remote) deleted IPsec SA \(Hex.prefixed(c.sa.inboundSPI))")
                    if let t = sa.tunnel { output.append(.report(.deleted(t, .two))) }
                } else {
                    // The old pair of a rekey: expected, reported to nobody. After a phase
                    // 1 rekey it comes on the old ISAKMP SA, and the pair moved on.
                    sa.retired.removeAll { $0.outboundSPI.bigEndianBytes == spi }
                    sa.replacedBy.flatMap { sas[$0] }?.retired.removeAll { $0.outboundSPI.bigEndianBytes == spi }
                }
            }
        }
    }

    /// RFC 2407 §4.6.3.3: the peer has no state from before; our older ISAKMP SAs of this
    /// tunnel with it (and what they carry) go, and so do the half-open ones its earlier run
    /// began (they would only wait out their 30 s).
    func initialContact(from sa: ISAKMPSA) {
        for other in peerSAs(sa.remote.address) where other !== sa && (other.isEstablished || !other.initiator)
            && other.policy.name == sa.policy.name {
            log(.information, "INITIAL-CONTACT from \(sa.remote): dropping ISAKMP SA \(Hex.prefixed(other.localCookie))")
            if let t = other.tunnel { output.append(.report(.deleted(t, .one))) }
            remove(other)
        }
    }

    /// RFC 3706: after `dpd_delay` of silence an R-U-THERE, retransmitted with back-off;
    /// no R-U-THERE-ACK after `maxAttempts` and the peer is dead. Anything authentic from
    /// the peer in the meantime (its own R-U-THERE, a Quick Mode) answers as well as the
    /// ACK: under loss the ACKs alone may all be lost while the peer talks. True when the
    /// SA went.
    func dpd(_ sa: ISAKMPSA, now: Instant) -> Bool {
        let delay = sa.policy.dpdDelaySeconds
        guard delay > 0, sa.peerDPD, sa.tunnel != nil, !sa.deletedByPeer else { return false }
        if let p = sa.dpdPending, sa.lastHeard > p.timing.roundStart { sa.dpdPending = nil }
        if var p = sa.dpdPending {
            switch p.timing.check(now: now) {
            case .notYet:
                return false
            case .resend:
                sa.dpdPending = p
                rUThere(sa, p.sequence)
            case .exhausted:
                log(.information, "\(sa.remote) does not answer R-U-THERE: ISAKMP SA \(Hex.prefixed(sa.localCookie)) is dead")
                if let t = sa.tunnel { output.append(.report(.peerDead(t))) }
                remove(sa)
                return true
            }
        } else if now - sa.lastHeard >= .seconds(UInt64(delay)) {
            sa.dpdSequence &+= 1
            sa.dpdPending = (sa.dpdSequence, Retransmission([], sentAt: now))
            log(.debug, "R-U-THERE to \(sa.remote)")
            rUThere(sa, sa.dpdSequence)
        }
        return false
    }

    func rUThere(_ sa: ISAKMPSA, _ sequence: UInt32) {
        sendInformational(sa, [.notification(ISAKMPNotification(.rUThere, spi: cookies(sa), data: sequence.bigEndianBytes))])
    }
}
