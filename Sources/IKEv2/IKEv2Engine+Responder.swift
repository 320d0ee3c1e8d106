import IKECore
import IKECrypto
import IKEWire

/// The responder's IKE_SA_INIT and IKE_AUTH.
extension IKEv2Engine {
    /// The policies that may apply to a peer: those naming its address first, then the
    /// `remote_address 'any'` templates.
    func candidates(for peer: IPAddress) -> [EnginePolicy] {
        policyIndex.candidates(for: peer)
    }

    func receiveInitRequest(_ message: IKEv2Message, _ raw: [UInt8], from remote: Endpoint, to local: Endpoint, now: Instant) {
        let spiI = message.header.initiatorSPI
        let derived = responderSPI(spiI, remote.address)
        if let existing = sas[derived], !existing.initiator, existing.remoteSPI == spiI, existing.remote == remote {
            // A retransmitted IKE_SA_INIT gets the same answer while IKE_AUTH has not come;
            // a late copy after that is dropped, for the SA's life.
            if existing.handshake?.initRequest == raw, let last = existing.lastResponse, last.messageID == 0 {
                answerAgain(existing, last)
            } else {
                counters.badMessageID += 1
            }
            return
        }
        let found = gather(message.payloads)
        let proposals = found.proposals, ke = found.ke, nonce = found.nonce
        if let problem = ExchangeRules.violation(.initRequest, message.payloads) {
            counters.malformed += 1
            log(.debug, "\(problem) from \(remote)")
            answerInitError(message, .invalidSyntax, from: local, to: remote)
            return
        }
        guard let (keGroup, publicValue) = ke, let nonce, !proposals.isEmpty else {
            counters.malformed += 1
            answerInitError(message, .invalidSyntax, from: local, to: remote)
            return
        }
        // §2.6: the cheap gate before any state or public-key work.
        guard case let .pass(proven) = cookieGate(message, nonce: nonce, from: remote, to: local, now: now) else { return }
        let policies = candidates(for: remote.address)
        guard !policies.isEmpty else {
            counters.noMatchingTunnel += 1
            log(.information, "IKE_SA_INIT from \(remote): no tunnel is configured for this peer")
            answerInitError(message, .noProposalChosen, from: local, to: remote)
            return
        }
        var ours: [AlgorithmSet] = []
        for p in policies { ours += p.ikeProposals }
        guard let (proposal, chosenFirst) = Proposals.select(from: proposals, ours: ours, protocolID: SecurityProtocol.ike, withGroups: true) else {
            log(.information, "IKE_SA_INIT from \(remote): no proposal in common (NO_PROPOSAL_CHOSEN)")
            answerInitError(message, .noProposalChosen, from: local, to: remote)
            return
        }
        var chosen = chosenFirst
        let offered = proposal.transforms(ofType: TransformType.dh).map { $0.id }
        let acceptable = Proposals.groups(ours)
        if keGroup != chosen.group?.rawValue {
            // §1.3: the initiator guessed another group; take it if this proposal offers it
            // and we accept it, else name the one we want.
            let group = DHGroup(rawValue: keGroup)
            if offered.contains(keGroup) && acceptable.contains(group) && KeyExchange.isSupported(group) {
                chosen.group = group
            } else {
                let want = chosen.group!.rawValue
                answerInitError(message, .invalidKEPayload, data: [UInt8(want >> 8), UInt8(truncatingIfNeeded: want)], from: local, to: remote)
                return
            }
        }
        // The limits come after the cheap checks, so that a request no tunnel takes does not
        // displace a half-open SA; before the Diffie-Hellman.
        guard admitHalfOpen(from: remote, proven: proven, now: now) else { return }
        let handshake = IKESA.Handshake()
        // Our SPI from the initiator's and its address (`responderSPI`); a random one in the
        // rare case an SA holds that one already (its late copies then make a half-open SA,
        // which expires).
        let sa = IKESA(initiator: false, local: local, remote: remote, group: chosen.group!, now: now,
                       spi: sas[derived] == nil ? derived : nil, handshake: handshake)
        sa.remoteSPI = spiI
        handshake.candidates = policies
        sa.chosen = chosen
        handshake.nonceI = nonce
        handshake.nonceR = Random.bytes(32)
        handshake.initRequest = raw
        notePeerCertificateHints(sa, message.payloads)
        handshake.peerAsksForCertificate = false  // a CERTREQ counts in IKE_AUTH
        (sa.natDetected, sa.behindNAT) = NATDetection.detected(message, spiI: sa.spiI, spiR: 0, local: local, remote: remote)
        do throws(CryptoError) {
            let keyExchange = try KeyExchange(group: sa.group, spares: keyPairs)
            handshake.keyExchange = keyExchange
            try sa.deriveKeys(peerKE: publicValue)
            var payloads: [IKEv2Payload] = [
                .securityAssociation([Proposals.reply(proposal, chosen, spi: [])]),
                .keyExchange(group: sa.group.rawValue, data: keyExchange.publicValue),
                .nonce(handshake.nonceR),
            ]
            payloads += NATDetection.payloads(spiI: sa.spiI, spiR: sa.spiR, local: local, remote: remote)
            agreeOnFragmentation(sa, message.payloads)
            if sa.fragmentLimit != nil { payloads.append(.notify(IKEv2Engine.fragmentationSupported)) }
            if let request = certificateRequest(policies) {
                // A tunnel here signs: announce RFC 7427's hashes and name our CAs (§3.7).
                payloads.append(request)
                payloads.append(.notify(IKEv2Engine.signatureHashes))
            }
            let reply = IKEv2Message(header: sa.header(.ikeSAInit, messageID: 0, response: true),
                                     payloads: ExchangeRules.ordered(.initResponse, payloads))
            do throws(WireError) { handshake.initResponse = try reply.encode() } catch {
                log(.error, "encoding IKE_SA_INIT response: \(error)")
                return
            }
        } catch {
            log(.information, "IKE_SA_INIT from \(remote) refused: \(error)")
            answerInitError(message, .invalidKEPayload, data: [UInt8(sa.group.rawValue >> 8), UInt8(truncatingIfNeeded: sa.group.rawValue)],
                            from: local, to: remote)
            return
        }
        insert(sa)
        touch(sa)
        responders.insert(HalfOpenTable.Key(spiI, remote.address), ours: sa.localSPI, findable: false)
        log(.debug, "IKE_SA_INIT from \(remote) answered with \(chosen)")
        respond(sa, handshake.initResponse, to: 0)
    }

    /// Our SPI for the responder SA an initiator's IKE_SA_INIT makes: a hash of its SPI and
    /// address keyed with this engine's secret (unpredictable without it), so that a
    /// retransmission or a late copy of that message finds the SA by its SPI, with no
    /// index beside it (a hub would hold an entry per SA).
    func responderSPI(_ initiatorSPI: UInt64, _ address: IPAddress) -> UInt64 {
        var h = Hasher()
        h.combine(spiSecret.0)
        h.combine(spiSecret.1)
        h.combine(initiatorSPI)
        h.combine(address)
        let spi = UInt64(bitPattern: Int64(h.finalize()))
        return spi == 0 ? 1 : spi
    }

    /// An unencrypted IKE_SA_INIT error answer; no state is kept (§2.21.1).
    func answerInitError(_ request: IKEv2Message, _ type: NotifyType, data: [UInt8] = [], from local: Endpoint, to remote: Endpoint) {
        let header = ISAKMPHeader(initiatorSPI: request.header.initiatorSPI, responderSPI: 0, nextPayload: 0, majorVersion: 2,
                                  minorVersion: 0, exchangeType: ExchangeType.ikeSAInit.rawValue, flags: HeaderFlags.response,
                                  messageID: 0, length: 0)
        let reply = IKEv2Message(header: header, payloads: [.notify(NotifyPayload(type, data: data))])
        if let bytes = try? reply.encode() { output.append(.send(bytes, from: local, to: remote)) }
    }

    func authRequest(_ sa: IKESA, _ handshake: IKESA.Handshake, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) {
        guard let keys = sa.keys else { return }
        guard let payloads = decrypt(sa, message, raw, now: now) else { return }
        if let problem = ExchangeRules.violation(.authRequest, payloads) {
            counters.malformed += 1
            log(.information, "\(problem) from \(sa.remote)")
            if let bytes = try? sa.seal(.ikeAuth, messageID: message.header.messageID, response: true,
                                        [.notify(NotifyPayload(.invalidSyntax))]) {
                send(sa, bytes)
            }
            remove(sa)
            return
        }
        var idi: IKEv2Payload? = nil
        var auth: [UInt8]? = nil
        var method: UInt8 = 0
        var proposals: [ProposalPayload] = []
        var tsi: [TrafficSelector] = [], tsr: [TrafficSelector] = []
        var transport = false
        for p in payloads {
            switch p {
            case .identification(true, _, _): idi = p
            case let .authentication(m, data): (method, auth) = (m, data)
            case let .securityAssociation(list): proposals = list
            case let .trafficSelectors(initiator, list): if initiator { tsi = list } else { tsr = list }
            case let .notify(n): if n.type == .useTransportMode { transport = true }
            default: break
            }
        }
        let id = message.header.messageID
        guard let idPayload = idi, case let .identification(_, idType, idData) = idPayload, let auth,
              let presented = Authentication.identity(type: idType, data: idData) else {
            answerAuthFailure(sa, id, "IKE_AUTH request without a usable IDi and AUTH")
            return
        }
        // The tunnel is the one whose remote_id and psk verify the AUTH and whose subnets
        // fit the traffic selectors: two tunnels with the same peer differ by subnets only.
        // Those that fit are tried first; one that does not still answers TS_UNACCEPTABLE.
        let named = handshake.candidates.filter { $0.hasCredential && Authentication.matches($0.remoteID, presented) }
        let fitting = named.filter { p in
            p.transportMode == transport
                && !Selectors.narrow(offered: tsi, allowed: ourSelectors(sa, p, local: false)).isEmpty
                && !Selectors.narrow(offered: tsr, allowed: ourSelectors(sa, p, local: true)).isEmpty
        }
        notePeerCertificateHints(sa, payloads)
        let certificates = peerCertificates(payloads)
        var tried: [String] = []
        var refused: (CertificateFailure, String)? = nil
        let policy = (fitting + named).first { p in
            guard !tried.contains(p.name) else { return false }
            tried.append(p.name)
            switch verifyPeer(sa, p, presented: presented, method: method, data: auth, certificates: certificates,
                              message: handshake.initRequest, nonce: handshake.nonceR, idKey: keys.pi, idBody: idPayload.body) {
            case .success: return true
            case let .failure(failure):
                if p.certificate != nil, refused == nil { refused = (failure, p.name) }
                return false
            }
        }
        if named.isEmpty, let p = handshake.candidates.first(where: { $0.certificate != nil }) {
            refused = (CertificateFailure(.identityMismatch, "the peer identifies as \(presented), which no tunnel's remote_id accepts"), p.name)
        }
        guard let policy else {
            if let (failure, name) = refused {
                logCertificateFailure(sa, failure, tunnel: name)
                answerAuthFailure(sa, id, "peer \(sa.remote) as \(presented): \(failure)")
            } else {
                answerAuthFailure(sa, id, "peer \(sa.remote) as \(presented): no tunnel whose remote_id and psk verify its AUTH")
            }
            return
        }
        let localID = localIdentity(sa, policy)
        let idr = Authentication.payload(localID, initiator: false)
        let ourAuth: IKEv2Payload
        switch ourAuthentication(sa, policy, message: handshake.initResponse, nonce: handshake.nonceI, idKey: keys.pr, idBody: idr.body) {
        case let .success(p): ourAuth = p
        case let .failure(failure):
            answerAuthFailure(sa, id, "cannot sign our AUTH for tunnel '\(policy.name)': \(failure)")
            return
        }
        sa.policy = policy
        authenticated(sa, as: presented)
        var reply: [IKEv2Payload] = [idr] + certificatePayloads(sa, policy) + [ourAuth]
        var child: ChildSA? = nil
        var kept: IKESA.KeptAnswer? = nil
        let narrowedI = Selectors.narrow(offered: tsi, allowed: ourSelectors(sa, policy, local: false))
        let narrowedR = Selectors.narrow(offered: tsr, allowed: ourSelectors(sa, policy, local: true))
        if let (proposal, chosen) = Proposals.select(from: proposals, ours: policy.espProposals, protocolID: SecurityProtocol.esp, withGroups: false),
           proposal.spi.count == 4 {
            if narrowedI.isEmpty || narrowedR.isEmpty {
                reply.append(.notify(NotifyPayload(.tsUnacceptable)))
            } else if transport != policy.transportMode {
                reply.append(.notify(NotifyPayload(.noProposalChosen)))
            } else {
                let spi = newInboundSPI(sa)
                sa.childInboundSPI = spi
                sa.childOutboundSPI = UInt32(proposal.spi[0]) << 24 | UInt32(proposal.spi[1]) << 16 | UInt32(proposal.spi[2]) << 8 | UInt32(proposal.spi[3])
                reply += childReply(proposal: proposal.number, chosen, spi: spi, transport: transport, tsi: narrowedI, tsr: narrowedR)
                child = childSA(sa, chosen, local: narrowedR, remote: narrowedI, transport: transport, lifetime: policy.childLifetimeSeconds,
                                nonceI: handshake.nonceI, nonceR: handshake.nonceR)
                // Kept as what makes it again (`authAnswer`) when the SA's state holds
                // the rest: no certificates in it.
                if child != nil, policy.certificate == nil, case let .authentication(method, data) = ourAuth {
                    kept = .authentication(SecretBytes([method, proposal.number] + data))
                }
            }
        } else {
            reply.append(.notify(NotifyPayload(.noProposalChosen)))
        }
        do throws(IKEv2Error) {
            respond(sa, try sa.seal(.ikeAuth, messageID: id, response: true, reply), to: id, keeping: kept)
        } catch {
            log(.error, "building the IKE_AUTH response: \(error)")
            remove(sa)
            return
        }
        established(sa)
        responders.settled(HalfOpenTable.Key(sa.remoteSPI, sa.firstAddress), ours: sa.localSPI)
        sa.startIKELifetime(policy.ikeLifetimeSeconds, now: now)
        let ike = Phase1SA(localAddress: sa.local.address, remoteAddress: sa.remote.address, localID: localID, remoteID: presented,
                                   initiatorSPI: sa.spiI, responderSPI: sa.spiR, algorithms: sa.chosen!,
                                   natTraversal: sa.natDetected, lifetimeSeconds: policy.ikeLifetimeSeconds, startedAt: sa.createdAt)
        if payloads.contains(where: { if case let .notify(n) = $0 { return n.type == .initialContact }; return false }) {
            replaceOlderSAs(of: sa, peer: presented)
        }
        if let child {
            sa.childEstablished = true
            sa.startChildLifetime(policy.childLifetimeSeconds, now: now)
            // A peer's tunnel: numbered here, from the sequence the Tunnel Manager shares.
            let t = tunnelNumbers.take()
            sa.tunnel = t
            byTunnel[t] = sa.localSPI
            touch(sa)
            output.append(.report(.negotiated(t, tunnelName: policy.name, ike, child)))
        } else {
            // An IKE SA without a tunnel would be invisible to `ike cmd=list`: delete it.
            log(.information, "IKE SA with \(sa.remote) up for tunnel '\(policy.name)', but no CHILD_SA: nothing in common; deleting it")
            sendOnce(sa, [.delete(protocolID: SecurityProtocol.ike, spis: [])])
            remove(sa)
        }
    }

    /// A pre-shared-key IKE_AUTH answer made again for a retransmitted request, from what
    /// `authRequest` kept (the AUTH method, the proposal number, the AUTH octets) and the
    /// SA's own state: the payloads of the first answer, sealed anew. nil once the SA
    /// holds no CHILD_SA.
    func authAnswer(_ sa: IKESA, _ kept: SecretBytes, messageID: UInt32) -> [UInt8]? {
        let made = kept.withBytes { Array($0) }
        guard made.count > 2, sa.childEstablished, let policy = sa.policy, let chosen = sa.childChosen else { return nil }
        let reply: [IKEv2Payload] = [Authentication.payload(localIdentity(sa, policy), initiator: false),
                                     .authentication(method: made[0], data: Array(made[2...]))]
            + childReply(proposal: made[1], chosen, spi: sa.childInboundSPI, transport: sa.childTransport, tsi: sa.childRemote, tsr: sa.childLocal)
        return try? sa.seal(.ikeAuth, messageID: messageID, response: true, reply)
    }

    /// The CHILD_SA half of an IKE_AUTH answer: USE_TRANSPORT_MODE when asked, the ESP
    /// proposal taken (its number, our inbound SPI), and the narrowed selectors.
    func childReply(proposal number: UInt8, _ chosen: ChosenAlgorithms, spi: UInt32, transport: Bool,
                    tsi: [TrafficSelector], tsr: [TrafficSelector]) -> [IKEv2Payload] {
        let taken = ProposalPayload(number: number, protocolID: SecurityProtocol.esp, spi: [], transforms: [])
        return (transport ? [.notify(NotifyPayload(.useTransportMode))] : [])
            + [.securityAssociation([Proposals.reply(taken, chosen, spi: spi.bigEndianBytes)]),
               .trafficSelectors(initiator: true, tsi), .trafficSelectors(initiator: false, tsr)]
    }

    /// RFC 7296 §2.4: a peer that authenticates with INITIAL_CONTACT has lost its state
    /// (it restarted): every other IKE SA with the same authenticated identity goes, with
    /// its CHILD_SAs and its tunnel, without a delete the peer could no longer read. Under
    /// a `remote_id '%any'` policy many peers may share one identity (a concentrator's
    /// clients): there only an SA from the same address is that peer's.
    func replaceOlderSAs(of sa: IKESA, peer: Identity) {
        let shared = sa.policy?.remoteID == .any
        for spi in byPeer.elements(under: peer.hashValue) {
            guard let old = sas[spi], old !== sa, old.isEstablished, old.peerID == peer,
                  !shared || old.remote.address == sa.remote.address else { continue }
            log(.information, "INITIAL_CONTACT from \(peer) at \(sa.remote): IKE SA \(Hex.prefixed(old.localSPI)) with \(old.remote) is replaced")
            if let t = old.tunnel, old.rekeyedTo == nil { output.append(.report(.deleted(t, .one))) }
            remove(old)
        }
    }

    /// §2.21.2: AUTHENTICATION_FAILED in an encrypted answer, then the half-open SA goes.
    func answerAuthFailure(_ sa: IKESA, _ id: UInt32, _ reason: String) {
        log(.error, "authentication failed: \(reason)")
        if let bytes = try? sa.seal(.ikeAuth, messageID: id, response: true, [.notify(NotifyPayload(.authenticationFailed))]) {
            send(sa, bytes)
        }
        remove(sa)
    }

    /// RFC 7296 §1.5: a request of a higher major version is dropped and answered,
    /// unauthenticated, with INVALID_MAJOR_VERSION naming version 2: at most
    /// `versionAnswersPerSecond` a second, so that spoofed requests do not make us a
    /// reflector (37 octets out for 28 in); the rest are only counted.
    public func answerUnsupportedVersion(_ header: ISAKMPHeader, from remote: Endpoint, to local: Endpoint, now: Instant) {
        guard versionAnswers.take(limit: IKEv2Engine.versionAnswersPerSecond, now: now) else {
            counters.versionAnswersSuppressed += 1
            return
        }
        var h = header
        h.majorVersion = 2
        h.minorVersion = 0
        h.flags = HeaderFlags.response
        let reply = IKEv2Message(header: h, payloads: [.notify(NotifyPayload(.invalidMajorVersion, data: [0x20]))])
        if let bytes = try? reply.encode() { output.append(.send(bytes, from: local, to: remote)) }
    }
}
