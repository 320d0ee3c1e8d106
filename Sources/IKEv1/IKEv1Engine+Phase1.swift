import IKECore
import IKECrypto
import IKEWire

/// Phase 1 (RFC 2409 §5.4 with pre-shared keys; signatures in +Signatures): Main Mode,
///
///     HDR, SA                 -->
///                             <--  HDR, SA
///     HDR, KE, Ni [, NAT-D]   -->
///                             <--  HDR, KE, Nr [, NAT-D]
///     HDR*, IDii, HASH_I      -->
///                             <--  HDR*, IDir, HASH_R
///
/// and Aggressive Mode,
///
///     HDR, SA, KE, Ni, IDii   -->
///                             <--  HDR, SA, KE, Nr, IDir, HASH_R [, NAT-D]
///     HDR*, HASH_I [, NAT-D]  -->
///
/// with RFC 3947's vendor ID, NAT-D payloads and move to UDP 4500 behind a NAT.
extension IKEv1Engine {
    /// Starts phase 1 for a tunnel, as initiator, and Quick Mode behind it when `phase2`.
    public func initiate(tunnel: UInt32, policy: EnginePolicy, remote address: IPAddress, phase2: Bool, now: Instant) {
        defer { settle() }
        startPhase1(tunnel: tunnel, policy: policy, remote: address, now: now, replacing: nil, phase2: phase2)
    }

    /// A Quick Mode for a tunnel whose ISAKMP SA is up and holds no IPsec SA pair: after
    /// `initiate` without phase 2, or after its phase 2 was deleted.
    public func requestPhase2(tunnel: UInt32, now: Instant) {
        guard let c = byTunnel[tunnel], let sa = sas[c] else { return }
        defer { settle(sa) }
        sa.phase2Wanted = true
        guard sa.isEstablished, sa.child == nil, sa.quickModeDue == nil,
              !sa.quickModes.values.contains(where: { $0.initiator }) else { return }
        startQuickMode(sa, rekey: false, now: now)
    }

    func startPhase1(tunnel: UInt32?, policy: EnginePolicy, remote address: IPAddress, now: Instant, replacing old: ISAKMPSA?,
                     phase2: Bool = true) {
        guard let localAddress = policy.localAddress ?? resolveLocal(address) else {
            if let tunnel { output.append(.report(.phase1Failed(tunnel, reason: "no route to \(address)"))) }
            return
        }
        let handshake = ISAKMPSA.Handshake()
        let sa = ISAKMPSA(initiator: true, cookieI: IKEv1Engine.cookie(), cookieR: 0, aggressive: policy.aggressive, policy: policy,
                          local: Endpoint(localAddress, port), remote: Endpoint(address, port), now: now, handshake: handshake)
        sa.tunnel = tunnel
        sa.replaces = old?.localCookie
        sa.isRekey = old != nil
        sa.phase2Wanted = phase2
        guard let method = authenticationMethod(policy) else {
            if let tunnel {
                output.append(.report(.phase1Failed(tunnel, reason: "tunnel '\(policy.name)': IKEv1 signs with RSA or ECDSA keys, not \(policy.certificate?.keyType ?? "none")")))
            }
            return
        }
        if policy.aggressive && policy.certificate != nil {
            if let tunnel { output.append(.report(.phase1Failed(tunnel, reason: "tunnel '\(policy.name)': Aggressive Mode takes a psk only"))) }
            return
        }
        var offer = IKEv1Proposals.phase1(policy.ikeProposals, authentication: method, lifetime: policy.ikeLifetimeSeconds)
        guard let first = offer.proposals[0].transforms.first, let firstChoice = IKEv1Proposals.phase1Choice(first),
              let group = firstChoice.algorithms.group else {
            fail(sa, phase: 1, "no ike_proposal usable with IKEv1 (it needs aes128 or aes256 with sha1, sha256, sha384 or sha512)")
            return
        }
        var payloads: [ISAKMPPayload] = []
        do throws(CryptoError) {
            if sa.aggressive {
                // The KE goes with the offer, so every transform must have its group.
                offer.proposals[0].transforms = offer.proposals[0].transforms.filter { IKEv1Proposals.phase1Choice($0)?.algorithms.group == group }
                let ke = try KeyExchange(group: group, spares: keyPairs)
                handshake.ke = ke
                handshake.gxi = ke.publicValue
                handshake.nonceI = Random.bytes(32)
                let id = policy.localID ?? policy.certificate?.subject ?? .address(localAddress)
                payloads = [.securityAssociation(offer), .keyExchange(ke.publicValue), .nonce(handshake.nonceI),
                            .identification(IKEv1Identities.payload(id))]
            } else {
                payloads = [.securityAssociation(offer)]
            }
        } catch {
            fail(sa, phase: 1, "key exchange: \(error)")
            return
        }
        payloads += [.vendorID(IKEv1VendorID.natT), .vendorID(IKEv1VendorID.deadPeerDetection)]
        do throws(WireError) {
            handshake.saBody = try ISAKMPPayload.securityAssociation(offer).body()
            let bytes = try sa.plain(sa.aggressive ? .aggressive : .main, payloads)
            add(sa)
            if let tunnel, old == nil { byTunnel[tunnel] = sa.cookieI }
            log(.information, "\(policy.name): \(sa.aggressive ? "Aggressive" : "Main") Mode to \(address)")
            sendRequest(sa, bytes, now: now)
        } catch {
            fail(sa, phase: 1, "encoding: \(error)")
        }
    }

    // MARK: Responder, first message

    func startResponder(_ message: ISAKMPMessage, _ raw: [UInt8], from remote: Endpoint, to local: Endpoint, now: Instant) {
        // RFC 2408 §5.1: a payload type outside ISAKMP (1-13) and NAT-T (20, 21, and the
        // drafts' 130, 131) is INVALID-PAYLOAD-TYPE; an unauthenticated first message that
        // carries one builds nothing and gets no answer.
        for case let .unknown(type, _) in message.payloads where !(1...13).contains(type) && ![20, 21, 130, 131].contains(type) {
            counters.malformed += 1
            log(.debug, "\(message.exchange) from \(remote) with payload type \(type) dropped (INVALID-PAYLOAD-TYPE)")
            return
        }
        let aggressive = message.exchange == .aggressive
        guard let offered = message.payloads.compactMap({ p -> ISAKMPSecurityAssociation? in
            if case let .securityAssociation(s) = p { return s }
            return nil
        }).first else {
            counters.malformed += 1
            return
        }
        var presented: Identity? = nil
        if aggressive {
            for p in message.payloads { if case let .identification(id) = p { presented = Identity(idType: id.type, data: id.data) } }
        }
        // Those naming the peer's address come first.
        let candidates = policyIndex.candidates(for: remote.address).filter { p in
            p.aggressive == aggressive && (p.localAddress == nil || p.localAddress == local.address)
                && (presented == nil || p.remoteID.accepts(presented!))
        }
        guard let policy = candidates.first else {
            counters.noMatchingTunnel += 1
            // A tunnel for the peer in the other mode: say which part is wrong.
            let otherMode = policyIndex.candidates(for: remote.address).contains { $0.aggressive != aggressive }
            log(.information, "\(message.exchange) from \(remote): no version '1' tunnel with exchange '\(aggressive ? "aggressive" : "main")'"
                + " for this peer\(otherMode ? " (one expects the other exchange)" : "")")
            notifyInTheClear(message.header, otherMode ? .invalidExchangeType : .noProposalChosen, from: local, to: remote)
            return
        }
        let handshake = ISAKMPSA.Handshake()
        let sa = ISAKMPSA(initiator: false, cookieI: message.header.initiatorSPI, cookieR: IKEv1Engine.cookie(), aggressive: aggressive,
                          policy: policy, local: local, remote: remote, now: now, handshake: handshake)
        guard let method = authenticationMethod(policy),
              let (transform, choice) = IKEv1Proposals.selectPhase1(offered, ours: policy.ikeProposals, authentication: method) else {
            log(.information, "\(policy.name): \(remote) offered no phase 1 proposal we accept")
            notifyInTheClear(message.header, .noProposalChosen, from: local, to: remote)
            return
        }
        // The limits come after the cheap checks, so that a message no tunnel takes
        // neither spends the Aggressive Mode budget nor displaces a half-open SA.
        guard admitHalfOpen(from: remote, aggressive: aggressive, now: now) else { return }
        sa.choice = choice
        sa.peerNATT = message.payloads.contains(.vendorID(IKEv1VendorID.natT))
        sa.peerDPD = message.payloads.contains(.vendorID(IKEv1VendorID.deadPeerDetection))
        let chosen = ISAKMPSecurityAssociation(proposals: [ISAKMPProposal(number: offered.proposals[0].number,
                                                                         protocolID: IKEv1Number.protocolISAKMP, spi: [], transforms: [transform])])
        var vids: [ISAKMPPayload] = [.vendorID(IKEv1VendorID.deadPeerDetection)]
        if sa.peerNATT { vids.append(.vendorID(IKEv1VendorID.natT)) }
        do throws(IKEv1Error) {
            handshake.saBody = try wire { () throws(WireError) in try ISAKMPPayload.securityAssociation(offered).body() }
            if aggressive {
                guard let (ke, nonce, id) = keyMaterial(message.payloads, withID: true), let id, let peer = Identity(idType: id.type, data: id.data) else {
                    counters.malformed += 1
                    return
                }
                handshake.nonceI = nonce
                handshake.gxi = ke
                sa.peerID = peer
                handshake.idBody = try wire { () throws(WireError) in try ISAKMPPayload.identification(id).body() }
                try deriveKeys(sa, handshake)
                let (ours, hashR) = try ourIdentity(sa, handshake)
                var payloads: [ISAKMPPayload] = [.securityAssociation(chosen), .keyExchange(handshake.gxr), .nonce(handshake.nonceR),
                                                 .identification(ours)]
                payloads += vids
                if sa.peerNATT { payloads += natDiscovery(sa) }
                payloads.append(.hash(hashR))
                let bytes = try wire { () throws(WireError) in try sa.plain(.aggressive, payloads) }
                add(sa)
                responders.insert(HalfOpenTable.Key(sa.cookieI, remote.address), ours: sa.cookieR)
                reply(sa, to: raw, bytes)
                sa.pending = ISAKMPSA.Pending(request: Retransmission(bytes, sentAt: now), messageID: 0)
            } else {
                let bytes = try wire { () throws(WireError) in try sa.plain(.main, [.securityAssociation(chosen)] + vids) }
                add(sa)
                responders.insert(HalfOpenTable.Key(sa.cookieI, remote.address), ours: sa.cookieR)
                reply(sa, to: raw, bytes)
            }
            log(.information, "\(policy.name): \(message.exchange) from \(remote), \(choice.algorithms)")
        } catch {
            log(.information, "\(policy.name): \(message.exchange) from \(remote) refused: \(error)")
            remove(sa)
        }
    }

    /// The limits on what unauthenticated first messages may make us hold and compute: a
    /// source at its share loses its oldest half-open SA to the new one, a full table takes
    /// only configured peers, and Aggressive Mode (a Diffie-Hellman before any proof) runs
    /// at most `aggressivePerSecond` times a second, with one budget for configured peers'
    /// addresses and one for the rest (a flood from others leaves configured peers theirs).
    /// Drops are counted and reported at most every ten seconds.
    func admitHalfOpen(from remote: Endpoint, aggressive: Bool, now: Instant) -> Bool {
        let configured = policyIndex.names(remote.address)
        let admission = responders.admission(from: remote.address, configuredPeer: configured, limits)
        let why: String
        if admission == .full {
            counters.halfOpenRefused += 1
            why = "\(limits.halfOpenTotal) half-open ISAKMP SAs (half_open_max)"
        } else if aggressive && !aggressiveStarts[configured ? 1 : 0].take(limit: limits.aggressivePerSecond, now: now) {
            counters.aggressiveLimited += 1
            why = "\(limits.aggressivePerSecond) Aggressive Modes a second (aggressive_rate)"
        } else {
            if case let .replace(oldest) = admission {
                counters.halfOpenReplaced += 1
                if let sa = sas[oldest] { remove(sa) }
            }
            return true
        }
        if let n = limitDrops.dropped(now: now) {
            log(.information, "\(why): \(n) first messages refused since the last report")
        }
        return false
    }

    // MARK: Later messages

    func phase1Message(_ sa: ISAKMPSA, _ message: ISAKMPMessage, _ raw: [UInt8], now: Instant) {
        do throws(IKEv1Error) {
            switch sa.state {
            case let .negotiating(step, h):
                switch step {
                case .mainSent1: try mainResponse2(sa, h, message, now: now)
                case .mainReplied2: try mainRequest3(sa, h, message, raw, now: now)
                case .mainSent3: try mainResponse4(sa, h, message, now: now)
                case .mainReplied4: try mainRequest5(sa, h, message, raw, now: now)
                case .mainSent5: try mainResponse6(sa, h, message, raw, now: now)
                case .aggressiveSent1: try aggressiveResponse2(sa, h, message, raw, now: now)
                case .aggressiveReplied2: try aggressiveRequest3(sa, h, message, raw, now: now)
                }
            case .established:
                counters.malformed += 1
                log(.debug, "\(message.exchange) for an established ISAKMP SA \(Hex.prefixed(sa.localCookie)); dropped")
            }
        } catch {
            counters.malformed += 1
            log(.information, "\(sa.policy.name): \(message.exchange) from \(sa.remote) refused: \(error)")
        }
    }

    /// MM2: the responder's choice, which must be one of ours.
    func mainResponse2(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake, _ message: ISAKMPMessage, now: Instant) throws(IKEv1Error) {
        guard let choice = chosenPhase1(sa, message.payloads) else {
            fail(sa, phase: 1, "the peer chose a phase 1 transform we did not offer")
            return
        }
        sa.choice = choice
        sa.peerNATT = message.payloads.contains(.vendorID(IKEv1VendorID.natT))
        sa.peerDPD = message.payloads.contains(.vendorID(IKEv1VendorID.deadPeerDetection))
        guard let group = choice.algorithms.group else { return }
        do throws(CryptoError) {
            let ke = try KeyExchange(group: group, spares: keyPairs)
            h.ke = ke
            h.gxi = ke.publicValue
        } catch { throw .crypto(error) }
        h.nonceI = Random.bytes(32)
        var payloads: [ISAKMPPayload] = [.keyExchange(h.gxi), .nonce(h.nonceI)] + certificateRequest(sa)
        if sa.peerNATT { payloads += natDiscovery(sa) }
        let bytes = try wire { () throws(WireError) in try sa.plain(.main, payloads) }
        sa.advance(to: .mainSent3)
        sendRequest(sa, bytes, now: now)
    }

    /// MM3: the initiator's KE and nonce; we answer with ours and derive the keys.
    func mainRequest3(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake, _ message: ISAKMPMessage, _ raw: [UInt8], now: Instant) throws(IKEv1Error) {
        guard let (ke, nonce, _) = keyMaterial(message.payloads, withID: false) else {
            counters.malformed += 1
            return
        }
        h.gxi = ke
        h.nonceI = nonce
        notePeerCertificateRequest(h, message.payloads)
        try deriveKeys(sa, h)
        detectNAT(sa, message.payloads)
        var payloads: [ISAKMPPayload] = [.keyExchange(h.gxr), .nonce(h.nonceR)] + certificateRequest(sa)
        if sa.peerNATT { payloads += natDiscovery(sa) }
        let bytes = try wire { () throws(WireError) in try sa.plain(.main, payloads) }
        sa.advance(to: .mainReplied4)
        reply(sa, to: raw, bytes)
    }

    /// MM4: the responder's KE and nonce; we derive the keys, move to 4500 behind a NAT,
    /// and authenticate (MM5).
    func mainResponse4(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake, _ message: ISAKMPMessage, now: Instant) throws(IKEv1Error) {
        guard let (ke, nonce, _) = keyMaterial(message.payloads, withID: false) else {
            counters.malformed += 1
            return
        }
        h.gxr = ke
        h.nonceR = nonce
        notePeerCertificateRequest(h, message.payloads)
        try deriveKeys(sa, h)
        detectNAT(sa, message.payloads)
        floatIfNAT(sa)
        guard var payloads = try ourAuthentication(sa, h) else { return }
        if sa.replaces == nil {
            payloads.append(.notification(ISAKMPNotification(.initialContact, spi: cookies(sa))))
        }
        let chain = try wire { () throws(WireError) in try ISAKMPMessage.encodeChain(payloads) }
        let (bytes, next) = try sa.sealed(.main, messageID: 0, chain, first: .identification, iv: sa.iv)
        sa.iv = next
        sa.advance(to: .mainSent5)
        sendRequest(sa, bytes, now: now)
    }

    /// MM5: the initiator's identity and HASH_I; we answer with ours (MM6).
    func mainRequest5(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake, _ message: ISAKMPMessage, _ raw: [UInt8], now: Instant) throws(IKEv1Error) {
        guard let (payloads, _, next) = decrypt(sa, message, raw, iv: sa.iv) else {
            authenticationFailed(sa, message.header, "MM5 does not decrypt: check psk on both sides")
            return
        }
        if let problem = authenticatePeer(sa, h, payloads) {
            authenticationFailed(sa, message.header, "MM5: \(problem)")
            return
        }
        sa.iv = next
        guard let ours = try ourAuthentication(sa, h) else { return }
        let chain = try wire { () throws(WireError) in try ISAKMPMessage.encodeChain(ours) }
        let (bytes, last) = try sa.sealed(.main, messageID: 0, chain, first: .identification, iv: sa.iv)
        sa.iv = last
        reply(sa, to: raw, bytes)
        if payloads.contains(where: { if case let .notification(n) = $0 { return n.type == .initialContact }; return false }) {
            initialContact(from: sa)
        }
        phase1Established(sa, now: now)
    }

    /// MM6: the responder's identity and HASH_R.
    func mainResponse6(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake, _ message: ISAKMPMessage, _ raw: [UInt8], now: Instant) throws(IKEv1Error) {
        guard let (payloads, _, next) = decrypt(sa, message, raw, iv: sa.iv) else { return }
        guard identity(payloads) != nil else {
            counters.malformed += 1
            return
        }
        if let problem = authenticatePeer(sa, h, payloads) {
            fail(sa, phase: 1, problem)
            return
        }
        sa.iv = next
        sa.pending = nil
        phase1Established(sa, now: now)
    }

    /// AM2: the responder's choice, KE, nonce, identity and HASH_R; we answer with HASH_I.
    func aggressiveResponse2(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake, _ message: ISAKMPMessage, _ raw: [UInt8], now: Instant) throws(IKEv1Error) {
        guard let choice = chosenPhase1(sa, message.payloads), choice.algorithms.group == h.ke?.group else {
            fail(sa, phase: 1, "the peer chose a phase 1 transform we did not offer")
            return
        }
        sa.choice = choice
        sa.peerNATT = message.payloads.contains(.vendorID(IKEv1VendorID.natT))
        sa.peerDPD = message.payloads.contains(.vendorID(IKEv1VendorID.deadPeerDetection))
        guard let (ke, nonce, _) = keyMaterial(message.payloads, withID: false), let (peer, idBody) = identity(message.payloads),
              let hashR = hash(message.payloads) else {
            counters.malformed += 1
            return
        }
        h.gxr = ke
        h.nonceR = nonce
        try deriveKeys(sa, h)
        if let problem = authenticate(sa, h, peer, idBody: idBody, hash: hashR) {
            fail(sa, phase: 1, problem)
            return
        }
        detectNAT(sa, message.payloads)
        floatIfNAT(sa)
        let (_, hashI) = try ourIdentity(sa, h)
        var payloads: [ISAKMPPayload] = [.hash(hashI)]
        if sa.peerNATT { payloads += natDiscovery(sa) }
        let chain = try wire { () throws(WireError) in try ISAKMPMessage.encodeChain(payloads) }
        let (bytes, next) = try sa.sealed(.aggressive, messageID: 0, chain, first: .hash, iv: sa.iv)
        sa.iv = next
        sa.pending = nil
        reply(sa, to: raw, bytes)
        phase1Established(sa, now: now)
    }

    /// AM3: the initiator's HASH_I, encrypted or (as RFC 2409 shows it) in the clear.
    func aggressiveRequest3(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake, _ message: ISAKMPMessage, _ raw: [UInt8], now: Instant) throws(IKEv1Error) {
        var payloads = message.payloads
        var next = sa.iv
        if message.isEncrypted {
            guard let opened = decrypt(sa, message, raw, iv: sa.iv) else {
                authenticationFailed(sa, message.header, "AM3 does not decrypt: check psk on both sides")
                return
            }
            payloads = opened.payloads
            next = opened.nextIV
        }
        guard let hashI = hash(payloads) else {
            counters.malformed += 1
            return
        }
        if let peer = sa.peerID, let problem = authenticate(sa, h, peer, idBody: h.idBody, hash: hashI) {
            authenticationFailed(sa, message.header, problem)
            return
        }
        detectNAT(sa, payloads)
        sa.iv = next
        sa.pending = nil
        phase1Established(sa, now: now)
    }

    // MARK: Helpers

    /// Our ID payload and our HASH_I or HASH_R over it (RFC 2409 §5).
    func ourIdentity(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake) throws(IKEv1Error) -> (ISAKMPIdentification, [UInt8]) {
        let id = IKEv1Identities.payload(localIdentity(sa))
        let body = try wire { () throws(WireError) in try ISAKMPPayload.identification(id).body() }
        return (id, sa.keys!.phase1Hash(initiator: sa.initiator, gxi: h.gxi, gxr: h.gxr, cookieI: sa.cookieI, cookieR: sa.cookieR,
                                        saBody: h.saBody, idBody: body))
    }

    /// Checks the peer's HASH_I or HASH_R over its ID payload, and that it is the peer the
    /// tunnel expects; nil, or what is wrong.
    func authenticate(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake, _ peer: Identity, idBody: [UInt8], hash received: [UInt8]) -> String? {
        let expected = sa.keys!.phase1Hash(initiator: !sa.initiator, gxi: h.gxi, gxr: h.gxr, cookieI: sa.cookieI, cookieR: sa.cookieR,
                                           saBody: h.saBody, idBody: idBody)
        guard SecretBytes(expected) == SecretBytes(received) else {
            counters.hashFailures += 1
            return "HASH_\(sa.initiator ? "R" : "I") from \(sa.remote) does not verify: check psk on both sides"
        }
        guard sa.policy.remoteID.accepts(peer) else { return "the peer is \(peer), not remote_id \(sa.policy.remoteID)" }
        sa.peerID = peer
        return nil
    }

    /// The DH computation and the keys (RFC 2409 §5); the responder makes its KE here.
    func deriveKeys(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake) throws(IKEv1Error) {
        guard let choice = sa.choice, let group = choice.algorithms.group else { throw .state("no phase 1 choice") }
        guard sa.policy.hasCredential else { throw .state("tunnel '\(sa.policy.name)' has no pre-shared key or certificate to authenticate with") }
        do throws(CryptoError) {
            let ke: KeyExchange
            if let ours = h.ke {
                ke = ours
            } else {
                ke = try KeyExchange(group: group, spares: keyPairs)
                h.ke = ke
                h.gxr = ke.publicValue
                h.nonceR = Random.bytes(32)
            }
            let peer = sa.initiator ? h.gxr : h.gxi
            let shared = try ke.sharedSecret(peerPublicValue: peer)
            let keyLength = Int(choice.algorithms.cipher.keyBits) / 8
            let keys = IKEv1Keys(prf: choice.hash, psk: sa.policy.certificate == nil ? sa.policy.psk : nil, nonceI: h.nonceI,
                                 nonceR: h.nonceR, sharedSecret: shared, cookieI: sa.cookieI, cookieR: sa.cookieR,
                                 encryptionKeyLength: keyLength, authenticationPRF: ecdsaPRF(choice.authentication))
            sa.keys = keys
            sa.cipher = try CBCCipher(keyBits: choice.algorithms.cipher.keyBits, key: keys.encryption)
            sa.iv = keys.initialIV(gxi: h.gxi, gxr: h.gxr, blockSize: 16)
        } catch { throw .crypto(error) }
    }

    /// The transform the responder returned, if it is one we offered.
    func chosenPhase1(_ sa: ISAKMPSA, _ payloads: [ISAKMPPayload]) -> Phase1Choice? {
        for p in payloads {
            guard case let .securityAssociation(s) = p, s.proposals.count == 1, s.proposals[0].transforms.count == 1 else { continue }
            let t = s.proposals[0].transforms[0]
            guard let c = IKEv1Proposals.phase1Choice(t), let g = c.algorithms.group else { return nil }
            guard c.authentication == authenticationMethod(sa.policy) else { return nil }
            let ok = sa.policy.ikeProposals.contains { $0.ciphers.contains(c.algorithms.cipher) && $0.prfs.contains(c.algorithms.prf!) && $0.groups.contains(g) }
            return ok ? c : nil
        }
        return nil
    }

    /// KE and nonce (and the ID payload when asked) of a phase 1 message.
    func keyMaterial(_ payloads: [ISAKMPPayload], withID: Bool) -> (ke: [UInt8], nonce: [UInt8], id: ISAKMPIdentification?)? {
        var ke: [UInt8]? = nil, nonce: [UInt8]? = nil, id: ISAKMPIdentification? = nil
        for p in payloads {
            switch p {
            case let .keyExchange(k): ke = k
            case let .nonce(n): nonce = n
            case let .identification(i): id = i
            default: break
            }
        }
        guard let ke, let nonce, !withID || id != nil else { return nil }
        return (ke, nonce, id)
    }

    func identity(_ payloads: [ISAKMPPayload]) -> (Identity, [UInt8])? {
        for p in payloads {
            if case let .identification(id) = p, let identity = Identity(idType: id.type, data: id.data), let body = try? p.body() {
                return (identity, body)
            }
        }
        return nil
    }

    func hash(_ payloads: [ISAKMPPayload]) -> [UInt8]? {
        for p in payloads { if case let .hash(h) = p { return h } }
        return nil
    }

    func cookies(_ sa: ISAKMPSA) -> [UInt8] { sa.cookieI.bigEndianBytes + sa.cookieR.bigEndianBytes }

    /// Refuses phase 1 with an unprotected AUTHENTICATION-FAILED notification (the keys
    /// are what failed) and forgets the SA.
    func authenticationFailed(_ sa: ISAKMPSA, _ header: ISAKMPHeader, _ reason: String) {
        counters.hashFailures += 1
        log(.information, "\(sa.policy.name): phase 1 with \(sa.remote) refused: \(reason)")
        notifyInTheClear(header, .authenticationFailed, from: sa.local, to: sa.remote)
        remove(sa)
    }

    /// An Informational exchange in the clear, before keys exist (RFC 2408 §5.5).
    func notifyInTheClear(_ header: ISAKMPHeader, _ type: ISAKMPNotifyType, from local: Endpoint, to remote: Endpoint) {
        var h = header
        h.exchangeType = ISAKMPExchange.informational.rawValue
        h.messageID = IKEv1Engine.messageID()
        h.flags = 0
        if let bytes = try? ISAKMPMessage(header: h, payloads: [.notification(ISAKMPNotification(type))]).encode() {
            output.append(.send(bytes, from: local, to: remote))
        }
    }

    /// Runs a throwing wire step inside an IKEv1Error context.
    func wire<T>(_ body: () throws(WireError) -> T) throws(IKEv1Error) -> T {
        do throws(WireError) { return try body() } catch { throw .wire(error) }
    }
}
