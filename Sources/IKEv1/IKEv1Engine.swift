import IKECore
import IKECrypto
import IKEWire

/// The IKEv1 engine (isakmpd), sans-I/O: Main and Aggressive Mode with pre-shared keys,
/// Main Mode with RSA and ECDSA signatures,
/// Quick Mode, Informational exchanges with deletes and DPD, NAT-T (RFC 2407, 2408, 2409,
/// 3947, 3706). Datagrams, requests and the time go in; datagrams, reports and log lines
/// come out of `takeOutput()`.
public final class IKEv1Engine: SansIOEngine {
    public var policies: [EnginePolicy] = [] {
        didSet { policyIndex = PolicyIndex(policies) }
    }
    /// The policies by the peer they name (and the templates).
    var policyIndex = PolicyIndex()
    public internal(set) var counters = IKEv1Counters()
    /// What an unauthenticated sender may make us hold and compute.
    public var limits = ResponderLimits()
    /// Key pairs made ahead of the negotiations that take them (the daemon prepares them
    /// once its answers are out).
    public let keyPairs = KeyPairSpares()
    /// Responder SAs by CKY-I and address, and the half-open ones by source.
    var responders = HalfOpenTable()
    var limitDrops = DropReport()
    /// Aggressive Mode responder exchanges begun in the current second: from addresses no
    /// tunnel names, and from configured peers' addresses.
    var aggressiveStarts = [RateWindow(), RateWindow()]
    public var allocateSPI: ((IPAddress, IPAddress) -> UInt32?)? = nil
    /// Numbers for the tunnels peers start (shared with the Tunnel Manager in the daemon).
    public var tunnelNumbers = TunnelNumbers()
    /// cpsd, for the tunnels that authenticate by certificate.
    public var certificates: CertificateAuthority? = nil
    public let port: UInt16
    public let nattPort: UInt16
    /// SAs by our own cookie (CKY-I as initiator, CKY-R as responder).
    var sas: [UInt64: ISAKMPSA] = [:]
    /// Each SA's next deadline, by our cookie.
    var timers = SATimers<ISAKMPSA>()
    var byTunnel: [UInt32: UInt64] = [:]
    /// Our cookies of the SAs with each peer address: a peer's rekey and its INITIAL-CONTACT
    /// look at its own SAs, not at every SA (a hub holds thousands).
    var byPeer: [IPAddress: [UInt64]] = [:]
    var output: [EngineOutput] = []
    let resolveLocal: (IPAddress) -> IPAddress?

    /// How long a responder keeps an SA whose peer has sent only its first message: its
    /// address is unproven (it may be spoofed), so not long.
    public static let halfOpenLifetime: Interval = .seconds(30)
    /// How long a responder keeps a Main Mode whose peer came back with our cookie (its MM3
    /// arrived): the peer receives at its address, and may retransmit its MM3 or MM5 while
    /// our answers are lost for as long as charon retransmits (165 s); an SA gone after 30 s
    /// would leave those copies unanswered and the peer's whole Main Mode (a rekey, say)
    /// failed.
    public static let provenHalfOpenLifetime: Interval = .seconds(180)

    /// When a responder SA still in phase 1 goes.
    func halfOpenEnd(_ sa: ISAKMPSA) -> Instant {
        sa.createdAt + (sa.peerCameBack ? IKEv1Engine.provenHalfOpenLifetime : IKEv1Engine.halfOpenLifetime)
    }
    /// Responder SAs still in phase 1 above which new Main and Aggressive Modes from
    /// addresses no tunnel names are dropped: IKEv1 has no cookie round trip, so this
    /// bounds what a flood can make us keep (and compute) until the half-open SAs expire.
    public var halfOpenLimit: Int {
        get { limits.halfOpenTotal }
        set { limits.halfOpenTotal = newValue }
    }
    /// How long the first Quick Mode waits behind Aggressive Mode's third message.
    static let aggressiveQuickModeDelay: Interval = .milliseconds(100)
    public static let keepaliveInterval: Interval = .seconds(20)
    /// How long a responder ISAKMP SA may stay without a tunnel: one the peer replaced by a
    /// rekey (then forgotten without a Delete, its IPsec SAs are the peer's business), or
    /// one without a Quick Mode (then deleted, the peer told).
    public static let retireGrace: Interval = .seconds(60)
    /// How long after our Quick Mode rekey the pair it replaced is deleted at the peer
    /// (and the ISAKMP SA it was made on, after a phase 1 rekey): our QM3 has no answer,
    /// and while it may be lost the peer must keep the pair it has. Each retransmitted QM2
    /// we answer again starts the wait anew.
    static let replacedDeleteDelay: Interval = .seconds(15)
    /// The peer's QM2 retransmissions (a second or more apart) after which our QM3 is taken
    /// for one it cannot accept (`quickModeNotTaken`): charon's come 4, 11 and 24 s after
    /// its QM2, each answered with two QM3s.
    static let qm2CopiesGivenUp = 3

    public init(port: UInt16 = 500, nattPort: UInt16 = 4500, resolveLocal: @escaping (IPAddress) -> IPAddress?) {
        self.port = port
        self.nattPort = nattPort
        self.resolveLocal = resolveLocal
    }

    public func takeOutput() -> [EngineOutput] {
        defer { output = [] }
        return output
    }

    public var saCount: Int { sas.count }

    /// Responder SAs still in phase 1.
    public var halfOpenCount: Int { responders.halfOpen }

    public func rekeyTimes(tunnel: UInt32, now: Instant) -> (ike: UInt64?, child: UInt64?) {
        guard let c = byTunnel[tunnel], let sa = sas[c] else { return (nil, nil) }
        return (sa.rekeyAt.map { ($0 - now).milliseconds / 1000 }, sa.child?.rekeyAt.map { ($0 - now).milliseconds / 1000 })
    }

    public func sas(tunnel: UInt32) -> (phase1: Phase1SA, child: ChildSA?)? {
        guard let c = byTunnel[tunnel], let sa = sas[c], sa.isEstablished, sa.choice != nil else { return nil }
        return (established(sa), sa.child?.sa)
    }

    public func move(tunnel: UInt32, local: IPAddress, remote: IPAddress) {
        guard let c = byTunnel[tunnel], let sa = sas[c] else { return }
        defer { settle(sa) }
        log(.information, "ISAKMP SA \(Hex.prefixed(sa.localCookie)): now \(local) <-> \(remote)")
        unindex(sa, from: sa.remote.address)
        sa.local = Endpoint(local, sa.local.port)
        sa.remote = Endpoint(remote, sa.remote.port)
        byPeer[remote, default: []].append(sa.localCookie)
    }

    /// The earliest SA deadline: the driver calls `tick` then.
    public var wakeAt: Instant? { timers.next }

    /// Which levels reach the log: a line of another level is never built.
    public var logs: (LogLevel) -> Bool = { _ in true }

    func log(_ level: LogLevel, _ text: @autoclosure () -> String) {
        if logs(level) { output.append(.log(level, text())) }
    }

    func send(_ sa: ISAKMPSA, _ bytes: [UInt8]) { output.append(.send(bytes, from: sa.local, to: sa.remote)) }

    /// Sends a request and keeps it for retransmission.
    func sendRequest(_ sa: ISAKMPSA, _ bytes: [UInt8], messageID: UInt32 = 0, now: Instant) {
        sa.pending = ISAKMPSA.Pending(request: Retransmission(bytes, sentAt: now), messageID: messageID)
        touch(sa)
        send(sa, bytes)
    }

    /// Sends an answer and keeps it for retransmissions of what it answers.
    func reply(_ sa: ISAKMPSA, to received: [UInt8], _ bytes: [UInt8]) {
        sa.remember(received, answer: bytes)
        send(sa, bytes)
    }

    static func cookie() -> UInt64 {
        var c = Random.uint64()
        while c == 0 { c = Random.uint64() }
        return c
    }

    static func messageID() -> UInt32 {
        var m = Random.uint32()
        while m == 0 { m = Random.uint32() }
        return m
    }

    /// How long after a failed phase 1 rekey the current ISAKMP SA tries again.
    static let rekeyRetry: Interval = .seconds(60)

    /// `now`, when known, times a failed rekey's next try (else its start does).
    func fail(_ sa: ISAKMPSA, phase: Int, _ reason: String, now: Instant? = nil) {
        if phase == 1, !sa.isEstablished, sa.isRekey, sa.replaces.flatMap({ sas[$0] }) == nil {
            // A rekey of an SA that is gone (the tunnel was deleted or started again
            // since): it fails nothing.
            log(.debug, "phase 1 rekey with \(sa.remote) of an ISAKMP SA gone since failed: \(reason)")
            remove(sa)
            return
        }
        if phase == 1, !sa.isEstablished, let old = sa.replaces.flatMap({ sas[$0] }), old.tunnel != nil, old.tunnel == sa.tunnel {
            // Our phase 1 rekey failed (its Main Mode went unanswered, say): the tunnel
            // runs on as it was, and the current ISAKMP SA tries again a minute later;
            // unless the peer deleted that SA meanwhile, and the tunnel goes with it.
            remove(sa)
            if old.deletedByPeer {
                log(.error, "\(sa.policy.name): phase 1 rekey with \(sa.remote) failed: \(reason); the peer deleted the ISAKMP SA it replaces")
                if let t = old.tunnel { output.append(.report(.deleted(t, .one))) }
                remove(old)
                return
            }
            log(.error, "\(sa.policy.name): phase 1 rekey with \(sa.remote) failed: \(reason); the current ISAKMP SA stays")
            old.rekeyAt = (now ?? sa.createdAt) + IKEv1Engine.rekeyRetry
            touch(old)
            return
        }
        log(.error, "\(sa.policy.name): phase \(phase) with \(sa.remote) failed: \(reason)")
        if let t = sa.tunnel {
            output.append(.report(phase == 1 ? .phase1Failed(t, reason: reason) : .phase2Failed(t, reason: reason)))
        }
        if phase == 1 { remove(sa) }
    }

    /// Keeps `sa` under our cookie and its peer's address.
    func add(_ sa: ISAKMPSA) {
        sas[sa.localCookie] = sa
        byPeer[sa.remote.address, default: []].append(sa.localCookie)
        touch(sa)
    }

    /// The SAs with peer address `address`.
    func peerSAs(_ address: IPAddress) -> [ISAKMPSA] {
        (byPeer[address] ?? []).compactMap { sas[$0] }
    }

    func unindex(_ sa: ISAKMPSA, from address: IPAddress) {
        guard var cookies = byPeer[address] else { return }
        cookies.removeAll { $0 == sa.localCookie }
        byPeer[address] = cookies.isEmpty ? nil : cookies
    }

    func remove(_ sa: ISAKMPSA) {
        guard sas.removeValue(forKey: sa.localCookie) != nil else { return }
        timers.set(sa, at: nil)
        unindex(sa, from: sa.remote.address)
        if !sa.initiator { responders.removed(HalfOpenTable.Key(sa.cookieI, sa.firstAddress), ours: sa.cookieR) }
        if let t = sa.tunnel, byTunnel[t] == sa.localCookie { byTunnel.removeValue(forKey: t) }
    }

    // MARK: Receiving

    /// The stateless checks on the pool buffer, before the datagram is copied: a
    /// well-formed header, and for anything but a first message of Main or Aggressive Mode
    /// an SA of ours. False: dropped and counted; `receive` is not needed.
    public func precheck(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var r = ByteReader(bytes)
        let h: ISAKMPHeader
        do throws(WireError) { h = try ISAKMPHeader(from: &r) } catch {
            counters.malformed += 1
            return false
        }
        let exchange = ISAKMPExchange(rawValue: h.exchangeType)
        if h.responderSPI == 0 && (exchange == .main || exchange == .aggressive) { return true }
        guard find(h) != nil else {
            counters.unknownCookie += 1
            return false
        }
        return true
    }

    /// A datagram for IKEv1 (the non-ESP marker already stripped).
    public func receive(_ bytes: [UInt8], from remote: Endpoint, to local: Endpoint, now: Instant) {
        defer { settle() }
        let parsed: Result<ISAKMPMessage, WireError> = bytes.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try ISAKMPMessage.parse(raw)) } catch { return .failure(error) }
        }
        let message: ISAKMPMessage
        switch parsed {
        case let .success(m): message = m
        case let .failure(e):
            counters.malformed += 1
            log(.debug, "malformed IKEv1 message from \(remote): \(e)")
            return
        }
        let h = message.header
        let raw = Array(bytes[0..<Int(h.length)])
        if h.responderSPI == 0 && (message.exchange == .main || message.exchange == .aggressive) && !message.isEncrypted {
            if let ours = responders.responder(initiatorSPI: h.initiatorSPI, from: remote.address), let sa = sas[ours],
               sa.cookieI == h.initiatorSPI {
                if let answer = sa.answer(to: raw, now: now)?.bytes {
                    counters.retransmitsAnswered += 1
                    send(sa, answer)
                }
                return
            }
            startResponder(message, raw, from: remote, to: local, now: now)
            return
        }
        guard let sa = find(h) else {
            counters.unknownCookie += 1
            log(.debug, "\(message.exchange) from \(remote) for an unknown ISAKMP SA; dropped")
            return
        }
        touch(sa)
        if remote != sa.remote || local != sa.local {
            // RFC 3947 §4: after NAT detection the peer moves to UDP 4500.
            guard remote.address == sa.remote.address else {
                counters.unknownCookie += 1
                return
            }
            log(.debug, "ISAKMP SA \(Hex.prefixed(sa.localCookie)) moves to \(local) <-> \(remote)")
            sa.remote = remote
            sa.local = local
        }
        if let (answer, copies) = sa.answer(to: raw, now: now) {
            // A copy of what we have taken already: answered again, or (a one-way
            // Informational) dropped.
            if !answer.isEmpty {
                counters.retransmitsAnswered += 1
                // A Quick Mode answer goes twice again: the peer's copy shows it went missing.
                if message.exchange == .quick { sendQuickModeAnswer(sa, answer) } else { send(sa, answer) }
                // A QM2 again: our QM3 may not have arrived, so the replaced pair waits.
                if sa.replacedDeleteAt != nil { sa.replacedDeleteAt = now + IKEv1Engine.replacedDeleteDelay }
                if let copies, copies >= IKEv1Engine.qm2CopiesGivenUp { quickModeNotTaken(sa, h.messageID, copies, now: now) }
            }
            return
        }
        if sa.cookieR == 0 && sa.initiator { sa.cookieR = h.responderSPI }
        if !sa.initiator, sa.isEstablished, message.exchange == .informational {
            // The peer has moved on from phase 1 (a liveness check, its answer, a delete):
            // its first message can no longer come late. Not at Quick Mode, which follows
            // Main Mode at once, while a delayed copy of the first message still may.
            responders.forget(HalfOpenTable.Key(sa.cookieI, sa.firstAddress), ours: sa.cookieR)
        }
        switch message.exchange {
        case .main, .aggressive: phase1Message(sa, message, raw, now: now)
        case .quick: quickModeMessage(sa, message, raw, now: now)
        case .informational: informational(sa, message, raw, now: now)
        default:
            counters.malformed += 1
            log(.debug, "\(message.exchange) from \(remote) is not supported; dropped")
        }
    }

    /// The SA a message belongs to: ours by CKY-R as responder, by CKY-I as initiator.
    func find(_ h: ISAKMPHeader) -> ISAKMPSA? {
        if let sa = sas[h.responderSPI], !sa.initiator, sa.cookieI == h.initiatorSPI { return sa }
        if let sa = sas[h.initiatorSPI], sa.initiator, sa.cookieR == 0 || sa.cookieR == h.responderSPI { return sa }
        return nil
    }

    /// Decrypts and parses an encrypted message of exchange `messageID` (0: phase 1):
    /// its payloads, the raw plaintext, the next IV. nil (counted) when it does not
    /// decrypt to a well-formed chain.
    func decrypt(_ sa: ISAKMPSA, _ message: ISAKMPMessage, _ raw: [UInt8], iv: [UInt8])
        -> (payloads: [ISAKMPPayload], plaintext: [UInt8], nextIV: [UInt8])? {
        guard message.isEncrypted else {
            counters.malformed += 1
            log(.debug, "\(message.exchange) from \(sa.remote) in the clear; dropped")
            return nil
        }
        let plaintext: [UInt8], next: [UInt8]
        do throws(IKEv1Error) {
            (plaintext, next) = try sa.opened(raw, message.header, iv: iv)
        } catch {
            counters.hashFailures += 1
            log(.debug, "\(message.exchange) from \(sa.remote) does not decrypt: \(error)")
            return nil
        }
        // A wrong key gives garbage, which does not parse as a payload chain.
        let parsed: Result<[ISAKMPPayload], WireError> = plaintext.withUnsafeBytes { p in
            var r = ByteReader(p)
            do throws(WireError) {
                return .success(try ISAKMPMessage.parseChain(first: ISAKMPPayloadType(rawValue: message.header.nextPayload), &r))
            } catch { return .failure(error) }
        }
        switch parsed {
        case let .success(payloads): return (payloads, plaintext, next)
        case let .failure(error):
            counters.hashFailures += 1
            log(.debug, "\(message.exchange) from \(sa.remote) does not decrypt to payloads: \(error)")
            return nil
        }
    }

    // MARK: Time

    /// Retransmissions, half-open expiry, lifetimes, DPD and NAT keepalives. The driver
    /// calls it at `wakeAt`; only the SAs whose deadline has come are looked at.
    public func tick(now: Instant) {
        for sa in timers.due(now: now) {
            guard sas[sa.localCookie] === sa else { continue }
            service(sa, now: now)
            touch(sa)
        }
        // What is still due after its turn waits (a step that could not be taken now).
        settle(floor: now + .seconds(1))
    }

    /// What is due for one SA at `now`.
    private func service(_ sa: ISAKMPSA, now: Instant) {
        if !sa.isEstablished, !sa.initiator, now >= halfOpenEnd(sa) {
            counters.halfOpenExpired += 1
            remove(sa)
            if sa.peerCameBack { peerMainModeAbandoned(sa, now: now) }
            return
        }
        if !sa.answers.isEmpty || !sa.taken.isEmpty, now - sa.lastHeard >= Retransmission.answerKept {
            sa.answers = []
            sa.taken = []
        }
        if retransmit(sa, now: now) { return }
        if let at = sa.retireAt, now >= at, sa.tunnel == nil {
            retire(sa, now: now)
            return
        }
        if let at = sa.replacedDeleteAt, now >= at { deleteReplaced(sa, now: now) }
        if let due = sa.quickModeDue, now >= due {
            sa.quickModeDue = nil
            startQuickMode(sa, rekey: false, now: now)
        }
        if sa.isEstablished { lifetimes(sa, now: now) }
    }

    /// The peer's Main Mode came back with our cookie and then stopped: for a tunnel we
    /// hold with it, that was its phase 1 rekey, and it failed at the peer. charon moves a
    /// tunnel's IPsec SAs to its new ISAKMP SA when its reauthentication begins and
    /// deletes them with it when that fails, without a word to us (it has no SA to say it
    /// on), so our IPsec SAs would lead nowhere: we rekey phase 1 ourselves, and its Quick
    /// Mode renews them on both sides.
    func peerMainModeAbandoned(_ sa: ISAKMPSA, now: Instant) {
        guard let current = peerSAs(sa.remote.address).first(where: { $0.isEstablished && $0.tunnel != nil
            && $0.replacedBy == nil && $0.policy.name == sa.policy.name }), let t = current.tunnel else { return }
        log(.information, "\(sa.policy.name): \(sa.remote) stopped its phase 1 rekey halfway; rekeying phase 1 from here")
        rekey(tunnel: t, phase: 1, now: now)
    }

    /// When `service` next has something to do for the SA: the conditions are its own.
    func nextDeadline(_ sa: ISAKMPSA) -> Instant? {
        var next = Soonest()
        if !sa.isEstablished, !sa.initiator { next.add(halfOpenEnd(sa)) }
        if !sa.answers.isEmpty || !sa.taken.isEmpty { next.add(sa.lastHeard + Retransmission.answerKept) }
        if let p = sa.pending { next.add(p.request.due) }
        if sa.tunnel == nil { next.add(sa.retireAt) }
        next.add(sa.quickModeDue)
        next.add(sa.replacedDeleteAt)
        guard sa.isEstablished else { return next.at }
        next.add(sa.expiresAt)
        if let c = sa.child, sa.tunnel != nil { next.add(c.expiresAt) }
        let delay = sa.policy.dpdDelaySeconds
        if delay > 0, sa.peerDPD, sa.tunnel != nil {
            next.add(sa.dpdPending.map { $0.timing.due } ?? sa.lastHeard + .seconds(UInt64(delay)))
        }
        if sa.pending == nil, sa.tunnel != nil {
            next.add(sa.rekeyAt)
            next.add(sa.child?.rekeyAt)
            if sa.behindNAT, sa.local.port == nattPort { next.add(sa.lastKeepalive + IKEv1Engine.keepaliveInterval) }
        }
        return next.at
    }

    /// The SA's deadline may have changed: it is set again before the entry point returns.
    func touch(_ sa: ISAKMPSA) { timers.touch(sa) }

    /// Sets the deadlines of the SAs touched (and of `sa`), none earlier than `floor`.
    func settle(_ sa: ISAKMPSA? = nil, floor: Instant? = nil) {
        if let sa { touch(sa) }
        timers.settle(floor: floor) { sa in sas[sa.localCookie] === sa ? nextDeadline(sa) : nil }
    }

    /// A responder SA past `retireGrace` without a tunnel goes: so a peer that rekeys
    /// phase 1 without deleting, or runs phase 1 alone, cannot pile up ISAKMP SAs.
    private func retire(_ sa: ISAKMPSA, now: Instant) {
        if sa.replacedBy != nil {
            log(.debug, "ISAKMP SA \(Hex.prefixed(sa.localCookie)) replaced by \(sa.remote) \(IKEv1Engine.retireGrace) ago; forgotten")
            remove(sa)
        } else {
            log(.information, "\(sa.policy.name): ISAKMP SA \(Hex.prefixed(sa.localCookie)) with \(sa.remote) had no Quick Mode"
                + " for \(IKEv1Engine.retireGrace); deleting it")
            deleteISAKMP(sa, now: now)
        }
    }

    /// True when the SA is gone.
    private func retransmit(_ sa: ISAKMPSA, now: Instant) -> Bool {
        guard var p = sa.pending else { return false }
        switch p.request.check(now: now) {
        case .notYet:
            return false
        case .resend:
            sa.pending = p
            counters.retransmitsSent += 1
            send(sa, p.request.bytes)
            return false
        case .exhausted:
            sa.pending = nil
            let reason = "no answer from \(sa.remote) after \(p.request.attempts) transmissions"
            if p.messageID != 0, sa.isEstablished {
                if let qm = sa.quickModes[p.messageID], !qm.initiator, sa.lastHeard > p.request.roundStart + .seconds(1) {
                    // Our QM2 went unanswered, but the peer spoke since (a second after it,
                    // so not a message already on its way): it had QM2 and sent its QM3
                    // (which has no retransmission of its own once the peer has moved on),
                    // so its IPsec SAs are up, and ours go up too.
                    log(.information, "\(sa.policy.name): no QM3 from \(sa.remote) for Quick Mode \(Hex.prefixed(p.messageID)),"
                        + " but the peer has spoken since our answer; taking its IPsec SAs as up")
                    sa.quickModes.removeValue(forKey: p.messageID)
                    sa.ivs.removeValue(forKey: p.messageID)
                    childEstablished(sa, qm, now: now)
                    return false
                }
                quickModeFailed(sa, p.messageID, reason, now: now)
                return false
            }
            fail(sa, phase: 1, reason, now: now)
            return true
        }
    }

    private func lifetimes(_ sa: ISAKMPSA, now: Instant) {
        if let end = sa.expiresAt, now >= end {
            log(.information, "ISAKMP SA \(Hex.prefixed(sa.localCookie)) reached its lifetime without a rekey; deleting it")
            if let t = sa.tunnel {
                delete(tunnel: t, phase: 1, now: now)
                output.append(.report(.deleted(t, .one)))
            } else {
                remove(sa)
            }
            return
        }
        if let c = sa.child, now >= c.expiresAt, let t = sa.tunnel {
            log(.information, "IPsec SA \(Hex.prefixed(c.sa.inboundSPI)) reached its lifetime without a rekey; deleting it")
            delete(tunnel: t, phase: 2, now: now)
            output.append(.report(.deleted(t, .two)))
            return
        }
        if dpd(sa, now: now) { return }
        guard sa.pending == nil, let t = sa.tunnel else { return }
        if let at = sa.rekeyAt, now >= at {
            sa.rekeyAt = nil
            rekey(tunnel: t, phase: 1, now: now)
        } else if let c = sa.child, let at = c.rekeyAt, now >= at {
            sa.child?.rekeyAt = nil
            rekey(tunnel: t, phase: 2, now: now)
        } else if sa.behindNAT, sa.local.port == nattPort, now - sa.lastKeepalive >= IKEv1Engine.keepaliveInterval {
            // RFC 3948 §4: only the side behind the NAT keeps it open.
            sa.lastKeepalive = now
            output.append(.keepalive(from: sa.local, to: sa.remote))
        }
    }
}

/// Why the engine dropped what it received, counted for `ike cmd=status`.
public struct IKEv1Counters: Sendable {
    public var malformed: UInt64 = 0
    public var unknownCookie: UInt64 = 0
    /// Messages that did not decrypt, or whose HASH or SIG did not verify.
    public var hashFailures: UInt64 = 0
    public var noMatchingTunnel: UInt64 = 0
    public var retransmitsAnswered: UInt64 = 0
    public var retransmitsSent: UInt64 = 0
    public var halfOpenExpired: UInt64 = 0
    /// First messages dropped at `halfOpenLimit`.
    public var halfOpenRefused: UInt64 = 0
    /// Half-open SAs dropped for a newer one from the same source (its share was used).
    public var halfOpenReplaced: UInt64 = 0
    /// Aggressive Mode first messages dropped by the per-second limit.
    public var aggressiveLimited: UInt64 = 0
    public init() {}
}
