import IKECore
import IKECrypto
import IKEWire

/// The IKEv2 engine (ikev2d), sans-I/O: datagrams, requests and the time go in; datagrams
/// to send, reports and log lines come out of `takeOutput()`. It never touches a socket,
/// a clock or the kernel.
public final class IKEv2Engine: SansIOEngine {
    /// The tunnels it may negotiate, set from the configuration.
    public var policies: [EnginePolicy] = [] {
        didSet { policyIndex = PolicyIndex(policies) }
    }
    /// The policies by the peer they name (and the templates).
    var policyIndex = PolicyIndex()
    public internal(set) var counters = IKEv2Counters()
    /// What an unauthenticated sender may make us hold.
    public var limits = ResponderLimits()
    /// Key pairs made ahead of the negotiations that take them (the daemon prepares them
    /// once its answers are out).
    public let keyPairs = KeyPairSpares()
    /// The half-open responder SAs, by source (a responder SA is found by its first
    /// message through its SPI: `responderSPI`).
    var responders = HalfOpenTable()
    /// The key of `responderSPI`.
    let spiSecret = (Random.uint64(), Random.uint64())
    /// How many established IKE SAs we hold with each peer, by the hash of the address
    /// each began at (`firstAddress`; 8 bytes rather than 24 per peer of a hub): a peer
    /// listed gets no INITIAL_CONTACT, one we hold none with does (RFC 7296 §2.4: it asserts
    /// that the new SA is the only one, so the peer drops what it still holds with us).
    /// An entry goes with its peer's last SA (`insert`, `established`, `remove`), so the
    /// table holds no more than the SAs do. Two addresses sharing a hash would cost one of
    /// them its INITIAL_CONTACT, nothing more.
    var contacted: [Int: UInt32] = [:]
    /// The IKE SA whose IKE_AUTH carries INITIAL_CONTACT to a peer, while it is in flight.
    var initialContactInFlight: [IPAddress: UInt64] = [:]
    /// Drops at the half-open limits, reported at most every ten seconds.
    var limitDrops = DropReport()
    /// INVALID_MAJOR_VERSION answers in the current second (the rate limit).
    var versionAnswers = RateWindow()
    public static let versionAnswersPerSecond = 10
    /// The port IKE runs on (the local port of what we send).
    public let port: UInt16
    var sas: [UInt64: IKESA] = [:]
    /// Each SA's next deadline, by our SPI.
    var timers = SATimers<IKESA>()
    var byTunnel: [UInt32: UInt64] = [:]
    /// Our SPIs of the SAs each authenticated identity holds, under the identity's hash:
    /// INITIAL_CONTACT finds a peer's older SAs here, not by a scan of every SA (a hub's
    /// spokes each send one), and checks each SA's identity (two identities may share a
    /// hash). A hash rather than the identity: 8 bytes of key rather than 24, per peer.
    var byPeer = MultiIndex<Int, UInt64>()
    var output: [EngineOutput] = []
    let resolveLocal: (IPAddress) -> IPAddress?
    var cookies = CookieJar()
    /// The kernel's SPI allocation for inbound CHILD_SAs (from peer, to us); nil or a nil
    /// answer: a random SPI.
    public var allocateSPI: ((IPAddress, IPAddress) -> UInt32?)? = nil
    /// Numbers for the tunnels peers start (shared with the Tunnel Manager in the daemon).
    public var tunnelNumbers = TunnelNumbers()
    /// The certificate proxy (cpsd) for `auth 'pubkey'` policies.
    public var certificates: CertificateAuthority? = nil
    /// RFC 7383: the largest IP datagram a protected message goes in whole
    /// (`fragment_size`); larger ones leave in fragments when the peer supports them.
    public var fragmentSize = 1280
    /// Half-open SAs above which IKE_SA_INIT needs a cookie (§2.6).
    public var halfOpenThreshold: Int {
        get { limits.cookieThreshold }
        set { limits.cookieThreshold = newValue }
    }
    /// NAT keepalive interval (RFC 3948 §4) when we are behind a NAT.
    public static let keepaliveInterval: Interval = .seconds(20)

    /// A half-open responder SA is forgotten after this long.
    public static let halfOpenLifetime: Interval = .seconds(30)

    /// `resolveLocal` names the local address the route to a peer uses.
    /// The NAT-T port (RFC 7296 §2.23) the SA moves to when a NAT is detected.
    public let nattPort: UInt16

    public init(port: UInt16 = 500, nattPort: UInt16 = 4500, resolveLocal: @escaping (IPAddress) -> IPAddress?) {
        self.port = port
        self.nattPort = nattPort
        self.resolveLocal = resolveLocal
    }

    /// Everything the engine produced since the last call.
    public func takeOutput() -> [EngineOutput] {
        defer { output = [] }
        return output
    }

    public var saCount: Int { sas.count }

    /// Responder SAs waiting for IKE_AUTH.
    public var halfOpenCount: Int { responders.halfOpen }

    /// Seconds until the tunnel's IKE SA and CHILD_SA are rekeyed, for `list verbose`.
    public func rekeyTimes(tunnel: UInt32, now: Instant) -> (ike: UInt64?, child: UInt64?) {
        guard let spi = byTunnel[tunnel], let sa = sas[spi] else { return (nil, nil) }
        return (sa.ikeRekeyAt.map { ($0 - now).milliseconds / 1000 },
                sa.childEstablished ? sa.childRekeyAt.map { ($0 - now).milliseconds / 1000 } : nil)
    }

    public func sas(tunnel: UInt32) -> (phase1: Phase1SA, child: ChildSA?)? {
        guard let spi = byTunnel[tunnel], let sa = sas[spi], let policy = sa.policy, let chosen = sa.chosen else { return nil }
        let ike = Phase1SA(localAddress: sa.local.address, remoteAddress: sa.remote.address, localID: localIdentity(sa, policy),
                           remoteID: sa.peerID ?? policy.remoteID, initiatorSPI: sa.spiI, responderSPI: sa.spiR, algorithms: chosen,
                           natTraversal: sa.natDetected, lifetimeSeconds: policy.ikeLifetimeSeconds, startedAt: sa.createdAt)
        guard sa.childEstablished, let childChosen = sa.childChosen else { return (ike, nil) }
        let child = ChildSA(inboundSPI: sa.childInboundSPI, outboundSPI: sa.childOutboundSPI, algorithms: childChosen,
                            inbound: .handedOver, outbound: .handedOver, localSelectors: sa.childLocal, remoteSelectors: sa.childRemote,
                            transportMode: sa.childTransport, lifetimeSeconds: policy.childLifetimeSeconds,
                            encapsulation: sa.natDetected ? (sa.local.port, sa.remote.port) : nil)
        return (ike, child.withoutKeys)
    }

    /// The tunnel's IKE SA now runs between new addresses (same ports): its outer
    /// addresses moved under it (a kernel migrate).
    public func move(tunnel: UInt32, local: IPAddress, remote: IPAddress) {
        guard let spi = byTunnel[tunnel], let sa = sas[spi] else { return }
        defer { settle(sa) }
        log(.information, "IKE SA \(Hex.prefixed(sa.localSPI)): now \(local) <-> \(remote)")
        sa.local = Endpoint(local, sa.local.port)
        sa.remote = Endpoint(remote, sa.remote.port)
    }

    /// The earliest SA deadline: the driver calls `tick` then.
    public var wakeAt: Instant? { timers.next }

    /// Which levels reach the log: a line of another level is never built.
    public var logs: (LogLevel) -> Bool = { _ in true }

    func log(_ level: LogLevel, _ text: @autoclosure () -> String) {
        if logs(level) { output.append(.log(level, text())) }
    }

    /// Sends a message, or each of the fragments it was sealed into.
    func send(_ sa: IKESA, _ bytes: [UInt8]) {
        guard sa.fragmentLimit != nil, ikeMessageLength(bytes) != bytes.count else {
            output.append(.send(bytes, from: sa.local, to: sa.remote))
            return
        }
        let messages = ikeMessages(bytes)
        counters.messagesFragmented += 1
        for m in messages { output.append(.send(Array(m), from: sa.local, to: sa.remote)) }
    }

    /// Sends a request and keeps it for retransmission.
    func sendRequest(_ sa: IKESA, _ bytes: [UInt8], messageID: UInt32, now: Instant, isDelete: Bool = false) {
        sa.pending = IKESA.Pending(messageID: messageID, request: Retransmission(bytes, sentAt: now), isDelete: isDelete)
        touch(sa)
        send(sa, bytes)
    }

    /// A fresh inbound SPI for a CHILD_SA of `sa`: the kernel's when it allocates them.
    func newInboundSPI(_ sa: IKESA) -> UInt32 {
        if let allocate = allocateSPI, let spi = allocate(sa.remote.address, sa.local.address) { return spi }
        var spi = Random.uint32()
        while spi < 256 { spi = Random.uint32() }
        return spi
    }

    /// The SA has authenticated `peer`.
    func authenticated(_ sa: IKESA, as peer: Identity) {
        sa.peerID = peer
        byPeer.insert(sa.localSPI, under: peer.hashValue)
    }

    /// An SA enters the table; an established one (a rekey's successor) counts its peer
    /// as contacted.
    func insert(_ sa: IKESA) {
        if sas.updateValue(sa, forKey: sa.localSPI) == nil, sa.isEstablished { contacted[sa.firstAddress.hashValue, default: 0] += 1 }
    }

    /// IKE_AUTH done for an SA in the table: its handshake goes, and its peer counts as
    /// contacted while it lives.
    func established(_ sa: IKESA) {
        guard !sa.isEstablished else { return }
        sa.establish()
        contacted[sa.firstAddress.hashValue, default: 0] += 1
    }

    func remove(_ sa: IKESA) {
        guard sas.removeValue(forKey: sa.localSPI) != nil else { return }
        if sa.isEstablished {
            let peer = sa.firstAddress.hashValue
            if let n = contacted[peer] { contacted[peer] = n > 1 ? n - 1 : nil }
        }
        timers.set(sa, at: nil)
        if let peer = sa.peerID { byPeer.remove(sa.localSPI, under: peer.hashValue) }
        if !sa.initiator { responders.removed(HalfOpenTable.Key(sa.remoteSPI, sa.firstAddress), ours: sa.localSPI) }
        if let t = sa.tunnel, byTunnel[t] == sa.localSPI { byTunnel.removeValue(forKey: t) }
    }

    func fail(_ sa: IKESA, phase: Int, _ reason: String) {
        if let t = sa.tunnel { output.append(.report(phase == 1 ? .phase1Failed(t, reason: reason) : .phase2Failed(t, reason: reason))) }
        log(.information, "IKE SA \(Hex.prefixed(sa.localSPI)) with \(sa.remote) failed: \(reason)")
        remove(sa)
    }

    // MARK: Input

    /// The stateless checks, on the buffer itself and without allocating: a sane header,
    /// and for anything but a new IKE_SA_INIT request an SA of ours. False: dropped and
    /// counted; `receive` is not needed.
    public func precheck(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var r = ByteReader(bytes)
        let header: ISAKMPHeader
        do throws(WireError) { header = try ISAKMPHeader(from: &r) } catch {
            counters.malformed += 1
            return false
        }
        let isResponse = header.flags & HeaderFlags.response != 0
        if header.exchangeType == ExchangeType.ikeSAInit.rawValue && !isResponse && header.responderSPI == 0 {
            // §3.1: the initiator's SPI MUST NOT be zero.
            guard header.initiatorSPI != 0 else {
                counters.malformed += 1
                return false
            }
            return true
        }
        let ours = header.flags & HeaderFlags.initiator != 0 ? header.responderSPI : header.initiatorSPI
        guard sas[ours] != nil else {
            counters.unknownSPI += 1
            return false
        }
        return true
    }

    /// A datagram for IKEv2 (the non-ESP marker already stripped).
    public func receive(_ bytes: [UInt8], from remote: Endpoint, to local: Endpoint, now: Instant) {
        defer { settle() }
        let parsed: Result<IKEv2Message, WireError> = bytes.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try IKEv2Message.parse(raw)) } catch { return .failure(error) }
        }
        let message: IKEv2Message
        switch parsed {
        case let .success(m): message = m
        case let .failure(e):
            counters.malformed += 1
            log(.debug, "malformed IKEv2 message from \(remote): \(e)")
            return
        }
        let h = message.header
        if message.exchange == .ikeSAInit && !message.isResponse && h.responderSPI == 0 {
            guard h.initiatorSPI != 0 else {
                counters.malformed += 1
                log(.debug, "IKE_SA_INIT from \(remote) with initiator SPI 0 dropped (RFC 7296 §3.1)")
                return
            }
            receiveInitRequest(message, bytes, from: remote, to: local, now: now)
            return
        }
        let ours = message.fromInitiator ? h.responderSPI : h.initiatorSPI
        guard let sa = sas[ours] else {
            counters.unknownSPI += 1
            log(.debug, "\(message.exchange) from \(remote) for an unknown IKE SA \(Hex.prefixed(ours)); dropped")
            return
        }
        touch(sa)
        if remote != sa.remote || local != sa.local {
            // RFC 7296 §2.23: after NAT detection the peer may float to UDP 4500; we answer
            // and send from where its messages now come and go.
            guard remote.address == sa.remote.address else {
                counters.unknownSPI += 1
                return
            }
            log(.debug, "IKE SA \(Hex.prefixed(sa.localSPI)) moves to \(local) <-> \(remote)")
            sa.remote = remote
            sa.local = local
        }
        if case .encryptedFragment? = message.payloads.first {
            guard reassemble(sa, message, bytes, now: now) else { return }
        }
        if message.isResponse {
            receiveResponse(sa, message, bytes, now: now)
        } else {
            receiveRequest(sa, message, bytes, now: now)
        }
    }

    func receiveResponse(_ sa: IKESA, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) {
        guard let pending = sa.pending, pending.messageID == message.header.messageID else {
            counters.badMessageID += 1
            return
        }
        switch (sa.state, message.exchange) {
        case let (.initSent(handshake), .ikeSAInit): initResponse(sa, handshake, message, raw, now: now)
        case let (.authSent(handshake), .ikeAuth): authResponse(sa, handshake, message, raw, now: now)
        case (.established, .informational): informationalResponse(sa, message, raw, now: now)
        case (.established, .createChildSA): createChildResponse(sa, message, raw, now: now)
        default:
            counters.badMessageID += 1
            log(.debug, "unexpected \(message.exchange) response for IKE SA \(Hex.prefixed(sa.localSPI)); dropped")
        }
    }

    func receiveRequest(_ sa: IKESA, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) {
        let id = message.header.messageID
        if let last = sa.lastResponse, last.messageID == id {
            answerAgain(sa, last)
            return
        }
        guard id == sa.peerRequestID else {
            counters.badMessageID += 1
            return
        }
        switch (sa.state, message.exchange) {
        case let (.halfOpen(handshake), .ikeAuth): authRequest(sa, handshake, message, raw, now: now)
        case (.established, .informational): informationalRequest(sa, message, raw, now: now)
        case (.established, .createChildSA): createChildRequest(sa, message, raw, now: now)
        default:
            counters.badMessageID += 1
            log(.debug, "unexpected \(message.exchange) request for IKE SA \(Hex.prefixed(sa.localSPI)); dropped")
        }
    }

    /// The inner payloads of a protected message, nil (counted, logged) when it does not
    /// decrypt and verify. Only a verified message counts as a sign of life (§2.4).
    func decrypt(_ sa: IKESA, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) -> [IKEv2Payload]? {
        if let payloads = sa.reassembled {
            // Authenticated fragment by fragment already.
            sa.reassembled = nil
            sa.lastHeard = now
            sa.probing = false
            return payloads
        }
        do throws(IKEv2Error) {
            let payloads = try sa.open(raw, message)
            sa.lastHeard = now
            sa.probing = false
            return payloads
        } catch {
            counters.integrityFailures += 1
            log(.debug, "\(message.exchange) from \(sa.remote) refused: \(error)")
            return nil
        }
    }

    /// Answers request `id` and keeps the answer for retransmitted requests: as sent,
    /// or as `kept` says it is made again.
    func respond(_ sa: IKESA, _ bytes: [UInt8], to id: UInt32, keeping kept: IKESA.KeptAnswer? = nil) {
        sa.lastResponse = (id, kept ?? .sealed(bytes))
        sa.peerRequestID = id &+ 1
        send(sa, bytes)
    }

    /// Answers request `id` with an empty INFORMATIONAL (a liveness check's answer, or a
    /// delete's with nothing to add) and keeps none of it: a retransmitted request gets
    /// the same empty message sealed anew. A hub whose spokes check liveness then holds
    /// no answer for them between checks, rather than about 100 bytes each.
    func respondEmpty(_ sa: IKESA, to id: UInt32) {
        guard let bytes = try? sa.seal(.informational, messageID: id, response: true, []) else { return }
        sa.lastResponse = (id, .empty)
        sa.peerRequestID = id &+ 1
        send(sa, bytes)
    }

    /// §2.1: a retransmitted request gets the same answer again: as it was sent, or
    /// made and sealed anew (an empty INFORMATIONAL, a pre-shared-key IKE_AUTH answer).
    func answerAgain(_ sa: IKESA, _ last: (messageID: UInt32, answer: IKESA.KeptAnswer)) {
        counters.retransmitsAnswered += 1
        let bytes: [UInt8]?
        switch last.answer {
        case let .sealed(sent): bytes = sent
        case .empty: bytes = try? sa.seal(.informational, messageID: last.messageID, response: true, [])
        case let .authentication(made): bytes = authAnswer(sa, made, messageID: last.messageID)
        }
        if let bytes { send(sa, bytes) }
    }

    // MARK: Time

    /// Retransmits unanswered requests and gives up after `maxAttempts`; forgets stale
    /// half-open SAs; rekeys at the soft lifetime and deletes at the hard one; checks
    /// liveness after `dpd_delay` of silence; sends NAT keepalives. The driver calls it
    /// at `wakeAt`; only the SAs whose deadline has come are looked at.
    public func tick(now: Instant) {
        for sa in timers.due(now: now) {
            guard sas[sa.localSPI] === sa else { continue }
            service(sa, now: now)
            touch(sa)
        }
        // What is still due after its turn waits (a step that could not be taken now).
        settle(floor: now + .seconds(1))
    }

    /// What is due for one SA at `now`.
    private func service(_ sa: IKESA, now: Instant) {
        if sa.isHalfOpen, now - sa.createdAt >= IKEv2Engine.halfOpenLifetime {
            counters.halfOpenExpired += 1
            remove(sa)
            return
        }
        expireReassembly(sa, now: now)
        if sa.lastResponse != nil, now - sa.lastHeard >= Retransmission.answerKept {
            sa.lastResponse = nil
        }
        if retransmit(sa, now: now) { return }
        if sa.rekeyedTo != nil, sa.pending == nil, let at = sa.retireAt, now >= at {
            retire(sa)
            return
        }
        if sa.isEstablished, sa.rekeyedTo == nil { lifetimes(sa, now: now) }
    }

    /// When `service` next has something to do for the SA: the conditions are its own.
    func nextDeadline(_ sa: IKESA) -> Instant? {
        var next = Soonest()
        if sa.isHalfOpen { next.add(sa.createdAt + IKEv2Engine.halfOpenLifetime) }
        if let r = sa.reassembly { next.add(r.startedAt + IKEv2Engine.reassemblyLifetime) }
        if sa.lastResponse != nil { next.add(sa.lastHeard + Retransmission.answerKept) }
        if let p = sa.pending { next.add(p.request.due) }
        if sa.rekeyedTo != nil {
            if sa.pending == nil { next.add(sa.retireAt) }
        } else if sa.isEstablished {
            next.add(sa.ikeExpiresAt)
            if sa.childEstablished, sa.tunnel != nil { next.add(sa.childExpiresAt) }
            if sa.pending == nil, sa.rekey == nil, sa.tunnel != nil {
                next.add(sa.ikeRekeyAt)
                if sa.childEstablished { next.add(sa.childRekeyAt) }
                if let delay = sa.policy?.dpdDelaySeconds, delay > 0 { next.add(sa.lastHeard + .seconds(UInt64(delay))) }
                if sa.behindNAT, sa.local.port == nattPort { next.add(sa.lastKeepalive + IKEv2Engine.keepaliveInterval) }
            }
        }
        return next.at
    }

    /// The SA's deadline may have changed: it is set again before the entry point returns.
    func touch(_ sa: IKESA) { timers.touch(sa) }

    /// Sets the deadlines of the SAs touched (and of `sa`), none earlier than `floor`.
    func settle(_ sa: IKESA? = nil, floor: Instant? = nil) {
        if let sa { touch(sa) }
        timers.settle(floor: floor) { sa in sas[sa.localSPI] === sa ? nextDeadline(sa) : nil }
    }

    /// How many rounds of retransmissions a request gets at most when the peer is heard
    /// during each (its own requests arrive, ours or its answers are lost): about three
    /// minutes in all, near strongSwan's 165 s; a silent peer gets one round, about 60 s
    /// (five transmissions 2, 4, 8 and 16 s apart, then 32 s for the last answer).
    static let maxRequestRounds = 3

    /// True when the SA is gone.
    private func retransmit(_ sa: IKESA, now: Instant) -> Bool {
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
            if p.isDelete {
                // An unanswered delete: the old IKE SA goes anyway, a live one stays.
                sa.pending = nil
                if sa.rekeyedTo != nil { remove(sa); return true }
                return false
            }
            if sa.isEstablished, sa.lastHeard > p.request.roundStart, p.request.rounds < IKEv2Engine.maxRequestRounds {
                // Unanswered, but the peer's own requests came in meanwhile: it is alive
                // and ours (or its answers) were lost. The request goes on, a round more.
                p.request.again(now: now)
                sa.pending = p
                counters.retransmitsSent += 1
                log(.debug, "request \(p.messageID) to \(sa.remote) unanswered, but the peer is heard: sending it again")
                send(sa, p.request.bytes)
                return false
            }
            if sa.isEstablished {
                log(.information, "\(sa.remote) does not answer: IKE SA \(Hex.prefixed(sa.localSPI)) is dead")
                if let t = sa.tunnel { output.append(.report(.peerDead(t))) }
                remove(sa)
            } else {
                fail(sa, phase: 1, "no answer from \(sa.remote) after \(p.request.attempts) transmissions")
            }
            return true
        }
    }

    private func lifetimes(_ sa: IKESA, now: Instant) {
        if let end = sa.ikeExpiresAt, now >= end {
            log(.information, "IKE SA \(Hex.prefixed(sa.localSPI)) reached its lifetime without a rekey; deleting it")
            if let t = sa.tunnel {
                delete(tunnel: t, phase: 1, now: now)
                output.append(.report(.deleted(t, .one)))
            } else {
                remove(sa)
            }
            return
        }
        if sa.childEstablished, let end = sa.childExpiresAt, now >= end, let t = sa.tunnel {
            log(.information, "CHILD_SA \(Hex.prefixed(sa.childInboundSPI)) reached its lifetime without a rekey; deleting it")
            delete(tunnel: t, phase: 2, now: now)
            output.append(.report(.deleted(t, .two)))
            return
        }
        guard sa.pending == nil, sa.rekey == nil, let t = sa.tunnel else { return }
        if let at = sa.ikeRekeyAt, now >= at {
            sa.ikeRekeyAt = nil
            rekey(tunnel: t, phase: 1, now: now)
        } else if sa.childEstablished, let at = sa.childRekeyAt, now >= at {
            sa.childRekeyAt = nil
            rekey(tunnel: t, phase: 2, now: now)
        } else if let delay = sa.policy?.dpdDelaySeconds, delay > 0, now - sa.lastHeard >= .seconds(UInt64(delay)) {
            // §2.4: an empty INFORMATIONAL request; its answer is the proof of life.
            let id = sa.nextRequestID
            guard let bytes = try? sa.seal(.informational, messageID: id, response: false, []) else { return }
            sa.nextRequestID = id &+ 1
            sa.probing = true
            log(.debug, "liveness check of \(sa.remote)")
            sendRequest(sa, bytes, messageID: id, now: now)
        } else if sa.behindNAT, sa.local.port == nattPort, now - sa.lastKeepalive >= IKEv2Engine.keepaliveInterval {
            // RFC 3948 §4, RFC 7296 §2.23: only the side behind the NAT keeps it open.
            sa.lastKeepalive = now
            output.append(.keepalive(from: sa.local, to: sa.remote))
        }
    }
}

// MARK: For the fuzzer

extension IKEv2Engine {
    /// A request or response of the tunnel's IKE SA around any payload chain, sealed with
    /// its keys, so that the fuzzer reaches what lies behind decryption at the peer.
    /// The next request ID is taken when `messageID` is nil.
    @_spi(Fuzzing)
    public func seal(tunnel: UInt32, exchange: ExchangeType, messageID: UInt32?, response: Bool, first: PayloadType, chain: [UInt8]) -> [UInt8]? {
        guard let spi = byTunnel[tunnel], let sa = sas[spi] else { return nil }
        let id = messageID ?? sa.nextRequestID
        if messageID == nil { sa.nextRequestID = id &+ 1 }
        return try? sa.seal(exchange, messageID: id, response: response, first: first, chain: chain)
    }
}
