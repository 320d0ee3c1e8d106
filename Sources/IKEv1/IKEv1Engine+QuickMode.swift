import IKECore
import IKECrypto
import IKEWire

/// Quick Mode (RFC 2409 §5.5), with PFS when the ESP proposals name a group:
///
///     HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr]  -->
///                   <--  HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] [, N(RESPONDER-LIFETIME)]
///     HDR*, HASH(3)                                -->
///
///     HASH(1) = prf(SKEYID_a, M-ID | the message after HASH(1))
///     HASH(2) = prf(SKEYID_a, M-ID | Ni_b | the message after HASH(2))
///     HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
extension IKEv1Engine {
    /// Starts a Quick Mode on an established ISAKMP SA: the tunnel's first IPsec SAs or
    /// their rekey.
    func startQuickMode(_ sa: ISAKMPSA, rekey: Bool, now: Instant) {
        let policy = sa.policy
        let mid = IKEv1Engine.messageID()
        let nonce = Random.bytes(32)
        let spi = inboundSPI(sa)
        var ke: KeyExchange? = nil
        if let group = policy.espProposals.flatMap({ $0.groups }).first(where: { KeyExchange.isSupported($0) }) {
            ke = try? KeyExchange(group: group, spares: keyPairs)
        }
        let local = policy.localSelectors.first ?? Selectors.host(sa.local.address)
        let remote = policy.remoteSelectors.first(where: { $0.start.isV4 == local.start.isV4 }) ?? Selectors.host(sa.remote.address)
        let offer = IKEv1Proposals.phase2(policy.espProposals, spi: spi, group: ke?.group, mode: mode(sa), lifetime: policy.childLifetimeSeconds)
        var after: [ISAKMPPayload] = [.securityAssociation(offer), .nonce(nonce)]
        if let ke { after.append(.keyExchange(ke.publicValue)) }
        after += [.identification(IKEv1Identities.payload(local)), .identification(IKEv1Identities.payload(remote))]
        if sa.natDetected && policy.transportMode { after += [.natOriginalAddress(sa.local.address), .natOriginalAddress(sa.remote.address)] }
        do throws(IKEv1Error) {
            let bytes = try protected(sa, .quick, messageID: mid, after)
            sa.quickModes[mid] = ISAKMPSA.QuickMode(initiator: true, nonceI: nonce, ke: ke, inboundSPI: spi, local: [local], remote: [remote],
                                                    withIDs: true, lifetimeSeconds: policy.childLifetimeSeconds, rekey: rekey)
            log(.information, "\(policy.name): Quick Mode \(Hex.prefixed(mid)) to \(sa.remote)\(rekey ? " (rekey)" : "")")
            sendRequest(sa, bytes, messageID: mid, now: now)
        } catch {
            if let t = sa.tunnel { output.append(.report(.phase2Failed(t, reason: "Quick Mode: \(error)"))) }
        }
    }

    func quickModeMessage(_ sa: ISAKMPSA, _ message: ISAKMPMessage, _ raw: [UInt8], now: Instant) {
        let mid = message.header.messageID
        guard sa.isEstablished, mid != 0 else {
            counters.malformed += 1
            return
        }
        guard let (payloads, plaintext, next) = decrypt(sa, message, raw, iv: sa.exchangeIV(mid)) else { return }
        do throws(IKEv1Error) {
            if let qm = sa.quickModes[mid] {
                if qm.initiator {
                    try quickModeResponse(sa, qm, mid, payloads, plaintext, raw, next: next, now: now)
                } else {
                    try quickModeFinish(sa, qm, mid, payloads, next: next, now: now)
                }
            } else {
                try quickModeRequest(sa, mid, payloads, plaintext, raw, next: next, now: now)
            }
        } catch {
            counters.malformed += 1
            log(.information, "\(sa.policy.name): Quick Mode \(Hex.prefixed(mid)) from \(sa.remote) refused: \(error)")
        }
    }

    /// QM1, as responder: checks HASH(1), picks a transform, answers with QM2.
    func quickModeRequest(_ sa: ISAKMPSA, _ mid: UInt32, _ payloads: [ISAKMPPayload], _ plaintext: [UInt8], _ raw: [UInt8],
                          next: [UInt8], now: Instant) throws(IKEv1Error) {
        guard verify(sa, plaintext, first: payloads.first, prefix: mid.bigEndianBytes) else { return }
        if sa.contends != nil { takeOver(by: sa, now: now) }
        guard sa.replacedBy == nil || yieldToThePeersRekey(sa, now: now) else {
            // An ISAKMP SA replaced (a crossed rekey's loser): its tunnel runs elsewhere.
            log(.debug, "Quick Mode \(Hex.prefixed(mid)) on the replaced ISAKMP SA \(Hex.prefixed(sa.localCookie)) ignored")
            return
        }
        sa.lastHeard = now
        sa.ivs[mid] = next
        var offered: ISAKMPSecurityAssociation? = nil, nonceI: [UInt8]? = nil, peerKE: [UInt8]? = nil
        var ids: [ISAKMPIdentification] = []
        for p in payloads {
            switch p {
            case let .securityAssociation(s): offered = s
            case let .nonce(n): nonceI = n
            case let .keyExchange(k): peerKE = k
            case let .identification(i): ids.append(i)
            default: break
            }
        }
        guard let offered, let nonceI, ids.count == 0 || ids.count == 2 else {
            counters.malformed += 1
            return
        }
        let policy = sa.policy
        // IDci is the initiator's side (the peer's), IDcr ours; none: the endpoints.
        let theirs = ids.isEmpty ? Selectors.host(sa.remote.address) : IKEv1Identities.selector(ids[0])
        let ours = ids.isEmpty ? Selectors.host(sa.local.address) : IKEv1Identities.selector(ids[1])
        let allowedLocal = policy.localSelectors.isEmpty ? [Selectors.host(sa.local.address)] : policy.localSelectors
        let allowedRemote = policy.remoteSelectors.isEmpty ? [Selectors.host(sa.remote.address)] : policy.remoteSelectors
        guard let theirs, let ours, Selectors.within([theirs], allowedRemote), Selectors.within([ours], allowedLocal) else {
            log(.information, "\(policy.name): Quick Mode from \(sa.remote) proposes selectors outside local_subnet/remote_subnet")
            sendInformational(sa, [.notification(ISAKMPNotification(.invalidIDInformation, protocolID: IKEv1Number.protocolESP))])
            return
        }
        guard let (proposal, transform, choice) = IKEv1Proposals.selectPhase2(offered, ours: policy.espProposals, modes: [mode(sa)]),
              let outbound = UInt32(bigEndianBytes: proposal.spi) else {
            log(.information, "\(policy.name): \(sa.remote) offered no ESP proposal we accept")
            sendInformational(sa, [.notification(ISAKMPNotification(.noProposalChosen, protocolID: IKEv1Number.protocolESP))])
            if sa.tunnel == nil { output.append(.log(.error, "\(policy.name): phase 2 with \(sa.remote) failed: NO-PROPOSAL-CHOSEN")) }
            return
        }
        var ke: KeyExchange? = nil
        var shared: SecretBytes? = nil
        if let group = choice.algorithms.group {
            guard let peerKE else {
                counters.malformed += 1
                return
            }
            do throws(CryptoError) {
                let k = try KeyExchange(group: group, spares: keyPairs)
                shared = try k.sharedSecret(peerPublicValue: peerKE)
                ke = k
            } catch { throw .crypto(error) }
        }
        let spi = inboundSPI(sa)
        let nonceR = Random.bytes(32)
        var lifetime = policy.childLifetimeSeconds
        var after: [ISAKMPPayload] = [
            .securityAssociation(ISAKMPSecurityAssociation(proposals: [ISAKMPProposal(number: proposal.number, protocolID: IKEv1Number.protocolESP,
                                                                                      spi: spi.bigEndianBytes, transforms: [transform])])),
            .nonce(nonceR),
        ]
        if let ke { after.append(.keyExchange(ke.publicValue)) }
        for id in ids { after.append(.identification(id)) }
        if choice.lifetimeSeconds > 0 && choice.lifetimeSeconds < lifetime {
            lifetime = choice.lifetimeSeconds
        } else if choice.lifetimeSeconds > lifetime || choice.lifetimeSeconds == 0 {
            // RFC 2407 §4.6.3.1: ours is shorter, and the initiator must know.
            after.append(.notification(ISAKMPNotification(.responderLifetime, protocolID: IKEv1Number.protocolESP, spi: proposal.spi, data:
                ISAKMPAttribute.basic(IKEv1Number.Phase2.lifeType, IKEv1Number.lifeSeconds).encoded
                    + ISAKMPAttribute.number(IKEv1Number.Phase2.lifeDuration, lifetime).encoded)))
        }
        let bytes = try protected(sa, .quick, messageID: mid, after, nonce: nonceI)
        sa.quickModes[mid] = ISAKMPSA.QuickMode(initiator: false, nonceI: nonceI, nonceR: nonceR, ke: ke, inboundSPI: spi, outboundSPI: outbound,
                                                local: [ours], remote: [theirs], withIDs: !ids.isEmpty, choice: choice, shared: shared,
                                                lifetimeSeconds: lifetime, rekey: sa.child != nil)
        sa.remember(raw, answer: bytes)
        sendRequest(sa, bytes, messageID: mid, now: now)
    }

    /// QM2, as initiator: checks HASH(2) and the responder's choice, sends QM3, and the
    /// IPsec SAs are up.
    func quickModeResponse(_ sa: ISAKMPSA, _ qm: ISAKMPSA.QuickMode, _ mid: UInt32, _ payloads: [ISAKMPPayload], _ plaintext: [UInt8],
                           _ raw: [UInt8], next: [UInt8], now: Instant) throws(IKEv1Error) {
        guard verify(sa, plaintext, first: payloads.first, prefix: mid.bigEndianBytes + qm.nonceI) else { return }
        sa.lastHeard = now
        sa.ivs[mid] = next
        var chosen: ISAKMPSecurityAssociation? = nil, nonceR: [UInt8]? = nil, peerKE: [UInt8]? = nil
        var ids: [ISAKMPIdentification] = []
        var lifetime = qm.lifetimeSeconds
        for p in payloads {
            switch p {
            case let .securityAssociation(s): chosen = s
            case let .nonce(n): nonceR = n
            case let .keyExchange(k): peerKE = k
            case let .identification(i): ids.append(i)
            case let .notification(n) where n.type == .responderLifetime:
                if let seconds = responderLifetime(n.data), seconds > 0 { lifetime = min(lifetime, seconds) }
            default: break
            }
        }
        guard let chosen, chosen.proposals.count == 1, chosen.proposals[0].transforms.count == 1, let nonceR,
              let (_, _, choice) = IKEv1Proposals.selectPhase2(chosen, ours: sa.policy.espProposals, modes: [mode(sa)]),
              choice.algorithms.group == qm.ke?.group, let outbound = UInt32(bigEndianBytes: chosen.proposals[0].spi) else {
            quickModeFailed(sa, mid, "the peer chose an ESP transform we did not offer", now: now)
            return
        }
        if !ids.isEmpty {
            guard ids.count == 2, IKEv1Identities.selector(ids[0]) == qm.local.first, IKEv1Identities.selector(ids[1]) == qm.remote.first else {
                quickModeFailed(sa, mid, "the peer changed the Quick Mode selectors", now: now)
                return
            }
        }
        var shared: SecretBytes? = nil
        if let ke = qm.ke {
            guard let peerKE else {
                quickModeFailed(sa, mid, "the peer sent no KE for PFS", now: now)
                return
            }
            do throws(CryptoError) { shared = try ke.sharedSecret(peerPublicValue: peerKE) } catch { throw .crypto(error) }
        }
        let hash3 = sa.keys!.authenticate([0] + mid.bigEndianBytes + qm.nonceI + nonceR)
        let chain = try wire { () throws(WireError) in try ISAKMPMessage.encodeChain([.hash(hash3)]) }
        let (bytes, _) = try sa.sealed(.quick, messageID: mid, chain, first: .hash, iv: sa.ivs[mid]!)
        sa.pending = nil
        sa.quickModes.removeValue(forKey: mid)
        sa.remember(raw, answer: bytes, counted: now)
        sendQuickModeAnswer(sa, bytes)
        sa.ivs.removeValue(forKey: mid)
        var done = qm
        done.nonceR = nonceR
        done.outboundSPI = outbound
        done.choice = choice
        done.shared = shared
        done.lifetimeSeconds = lifetime
        childEstablished(sa, done, now: now)
    }

    /// QM3, as responder: HASH(3), and the IPsec SAs are up.
    func quickModeFinish(_ sa: ISAKMPSA, _ qm: ISAKMPSA.QuickMode, _ mid: UInt32, _ payloads: [ISAKMPPayload], next: [UInt8], now: Instant) throws(IKEv1Error) {
        let expected = sa.keys!.authenticate([0] + mid.bigEndianBytes + qm.nonceI + qm.nonceR)
        guard payloads.count == 1, let received = hash(payloads), SecretBytes(received) == SecretBytes(expected) else {
            counters.hashFailures += 1
            log(.information, "\(sa.policy.name): HASH(3) from \(sa.remote) does not verify; dropped")
            return
        }
        sa.lastHeard = now
        sa.pending = nil
        sa.quickModes.removeValue(forKey: mid)
        sa.ivs.removeValue(forKey: mid)
        childEstablished(sa, qm, now: now)
    }

    /// KEYMAT for both directions, and the report: a tunnel's first IPsec SAs, a rekey of
    /// them, or, as responder, a newly negotiated tunnel.
    func childEstablished(_ sa: ISAKMPSA, _ qm: ISAKMPSA.QuickMode, now: Instant) {
        guard let choice = qm.choice, let keys = sa.keys, let encryptionLength = MessageCipher.keyLength(choice.algorithms.cipher) else { return }
        if sa.replacedBy != nil, sa.tunnel == nil {
            // A renewal on an ISAKMP SA that lost a crossed rekey since: its tunnel runs on
            // the peer's SA now, and these IPsec SAs are told to go.
            log(.information, "\(sa.policy.name): IPsec SAs \(Hex.prefixed(qm.inboundSPI)) made on the replaced ISAKMP SA"
                + " \(Hex.prefixed(sa.localCookie)); deleting them")
            sendInformational(sa, [.delete(ISAKMPDelete(protocolID: IKEv1Number.protocolESP, spis: [qm.inboundSPI.bigEndianBytes]))])
            if let replaced = sa.replaces.flatMap({ sas[$0] }), replaced.tunnel == nil { deleteISAKMP(replaced, now: now) }
            sa.replaces = nil
            return
        }
        let integrityLength = choice.algorithms.integrity.flatMap { Integrity($0)?.keyLength } ?? 0
        let count = encryptionLength + integrityLength
        let (nonceI, nonceR) = (qm.nonceI, qm.nonceR)
        func material(_ spi: UInt32) -> (SecretBytes, SecretBytes?) {
            let k = keys.keyMaterial(sharedSecret: qm.shared, protocolID: IKEv1Number.protocolESP, spi: spi, nonceI: nonceI, nonceR: nonceR, count: count)
            return k.withBytes { b in
                (SecretBytes(copying: UnsafeRawBufferPointer(rebasing: b[0..<encryptionLength])),
                 integrityLength > 0 ? SecretBytes(copying: UnsafeRawBufferPointer(rebasing: b[encryptionLength..<count])) : nil)
            }
        }
        let inbound = material(qm.inboundSPI), outbound = material(qm.outboundSPI)
        let transport = sa.policy.transportMode
        let child = ChildSA(inboundSPI: qm.inboundSPI, outboundSPI: qm.outboundSPI, algorithms: choice.algorithms,
                            inbound: DirectionKeys(encryption: inbound.0, integrity: inbound.1),
                            outbound: DirectionKeys(encryption: outbound.0, integrity: outbound.1),
                            localSelectors: Selectors.interned(qm.local, sa.policy.localSelectors),
                            remoteSelectors: Selectors.interned(qm.remote, sa.policy.remoteSelectors), transportMode: transport,
                            lifetimeSeconds: qm.lifetimeSeconds,
                            encapsulation: sa.natDetected ? (sa.local.port, sa.remote.port) : nil)
        log(.information, "\(sa.policy.name): IPsec SAs \(Hex.prefixed(qm.inboundSPI)) in, \(Hex.prefixed(qm.outboundSPI)) out with \(sa.remote)"
            + " (\(choice.algorithms))")
        let old = sa.child
        let times = Lifetime.schedule(qm.lifetimeSeconds, from: now)
        sa.child = ISAKMPSA.Child(sa: child.withoutKeys, rekeyAt: qm.initiator ? times.rekey : nil, expiresAt: times.expire)
        if let old {
            sa.retired.append(old.sa)
            if let t = sa.tunnel { output.append(.report(.phase2Rekeyed(t, child))) }
            if qm.initiator {
                // The old pair goes at the peer once our QM3 has had time to arrive (a
                // Delete ahead of a lost QM3 would leave the peer with neither pair);
                // ours goes with the Tunnel Manager's swap.
                sa.replacedToDelete.append(old.sa.inboundSPI)
                sa.replacedDeleteAt = now + IKEv1Engine.replacedDeleteDelay
                touch(sa)
                return
            }
            if let replaced = sa.replaces.flatMap({ sas[$0] }) {
                deleteISAKMP(replaced, now: now)
            }
            sa.replaces = nil
        } else if let t = sa.tunnel {
            output.append(.report(.phase2Created(t, child)))
        } else {
            // A peer's tunnel: numbered here, from the sequence the Tunnel Manager shares.
            let t = tunnelNumbers.take()
            sa.tunnel = t
            sa.retireAt = nil
            byTunnel[t] = sa.localCookie
            touch(sa)
            output.append(.report(.negotiated(t, tunnelName: sa.policy.name, established(sa), child)))
        }
    }

    /// Our Quick Mode rekey's QM3 has had its time: the pairs it replaced go at the peer,
    /// on the ISAKMP SA that made them, and then that ISAKMP SA after a phase 1 rekey.
    func deleteReplaced(_ sa: ISAKMPSA, now: Instant) {
        sa.replacedDeleteAt = nil
        let spis = sa.replacedToDelete
        sa.replacedToDelete = []
        let maker = sa.replaces.flatMap { sas[$0] } ?? sa
        if !spis.isEmpty {
            sendInformational(maker, [.delete(ISAKMPDelete(protocolID: IKEv1Number.protocolESP, spis: spis.map { $0.bigEndianBytes }))])
            sa.retired.removeAll { spis.contains($0.inboundSPI) }
        }
        if let replaced = sa.replaces.flatMap({ sas[$0] }) { deleteISAKMP(replaced, now: now) }
        sa.replaces = nil
    }

    /// QM3, or our answer to the peer's copy of a Quick Mode message, goes twice. QM3 has
    /// no answer, and a lost one may never be made good: charon decrypts a Quick Mode's
    /// messages only while it is one of the last three exchanges on the ISAKMP SA (its
    /// max_ikev1_exchanges), which its liveness checks and our answers use up within
    /// seconds; after that it takes our QM3 for garbage (PAYLOAD-MALFORMED) and at last
    /// deletes the ISAKMP SA. A peer takes the copy for a retransmission.
    func sendQuickModeAnswer(_ sa: ISAKMPSA, _ bytes: [UInt8]) {
        send(sa, bytes)
        send(sa, bytes)
    }

    /// The peer sent QM2 of our Quick Mode `mid` again `copies` times after our QM3s: it
    /// cannot take them. charon's case: it decrypts a Quick Mode only while it is one of
    /// the last three exchanges on the ISAKMP SA, and liveness checks on a lossy link push
    /// it out before one of our QM3s arrives; then it retransmits QM2 for 165 s and ends
    /// the ISAKMP SA without a word, while our IPsec SAs, up since QM2, carry traffic into
    /// nothing. The phase fails now instead: the SAs go at both ends (a Delete, which the
    /// peer decrypts as a new exchange, ends its waiting Quick Mode with its ISAKMP SA),
    /// and the tunnel is tried again as after any failure.
    func quickModeNotTaken(_ sa: ISAKMPSA, _ mid: UInt32, _ copies: Int, now: Instant) {
        let reason = "\(sa.remote) sent QM2 of Quick Mode \(Hex.prefixed(mid)) \(copies) times more after our QM3; it does not take it"
        log(.error, "\(sa.policy.name): phase 2 with \(sa.remote) failed: \(reason)")
        if let t = sa.tunnel { output.append(.report(.phase2Failed(t, reason: reason))) }
        // After a phase 1 rekey, the ISAKMP SA this one replaces (still here while the
        // peer may lack our QM3) goes too.
        if let replaced = sa.replaces.flatMap({ sas[$0] }) { delete(replaced, phase: 1, now: now) }
        delete(sa, phase: 1, now: now)
    }

    func quickModeFailed(_ sa: ISAKMPSA, _ mid: UInt32, _ reason: String, now: Instant) {
        let qm = sa.quickModes[mid]
        sa.quickModes.removeValue(forKey: mid)
        sa.ivs.removeValue(forKey: mid)
        sa.pending = nil
        if let replaced = sa.replaces.flatMap({ sas[$0] }) {
            // The renewal on our phase 1 rekey failed: the ISAKMP SA it replaces goes now
            // rather than stay without a tunnel, and the IPsec SAs made on it with it at
            // the peer (charon's go with their IKE SA).
            deleteISAKMP(replaced, now: now)
            sa.replaces = nil
        } else if let qm, qm.rekey, let c = sa.child, now < c.expiresAt {
            // A phase 2 rekey that failed fails nothing yet: the IPsec SAs in use run on to
            // their hard lifetime, and the peer holds them too. Ours (we initiated the
            // renewal) is tried again a minute later; the peer's, the peer tries again.
            let again = now + IKEv1Engine.rekeyRetry
            let retry = qm.initiator && again < c.expiresAt ? again : c.rekeyAt
            sa.child?.rekeyAt = retry
            touch(sa)
            let next = !qm.initiator ? "" : retry == nil ? " until their lifetime" : "; tried again in \(IKEv1Engine.rekeyRetry)"
            log(.error, "\(sa.policy.name): phase 2 rekey with \(sa.remote) failed: \(reason); the current IPsec SAs stay\(next)")
            return
        }
        log(.error, "\(sa.policy.name): phase 2 with \(sa.remote) failed: \(reason)")
        if let t = sa.tunnel { output.append(.report(.phase2Failed(t, reason: reason))) }
    }

    // MARK: Helpers

    /// Encrypts `after` behind its HASH payload: HASH = prf(SKEYID_a, M-ID | `nonce` | the
    /// chain after it); `nonce` is Ni_b for HASH(2), empty otherwise.
    func protected(_ sa: ISAKMPSA, _ exchange: ISAKMPExchange, messageID: UInt32, _ after: [ISAKMPPayload],
                   nonce: [UInt8] = []) throws(IKEv1Error) -> [UInt8] {
        guard let keys = sa.keys else { throw .state("no keys yet") }
        let chainAfter = try wire { () throws(WireError) in try ISAKMPMessage.encodeChain(after) }
        let hash = keys.authenticate(messageID.bigEndianBytes + nonce + chainAfter)
        let chain = try wire { () throws(WireError) in try ISAKMPMessage.encodeChain([.hash(hash)] + after) }
        let (bytes, next) = try sa.sealed(exchange, messageID: messageID, chain, first: .hash, iv: sa.exchangeIV(messageID))
        sa.ivs[messageID] = next
        return bytes
    }

    /// Checks a protected message's HASH, which must come first: prf(SKEYID_a, prefix |
    /// the payloads after it, as received).
    func verify(_ sa: ISAKMPSA, _ plaintext: [UInt8], first: ISAKMPPayload?, prefix: [UInt8]) -> Bool {
        guard let keys = sa.keys, case let .hash(received)? = first, plaintext.count >= 4 else {
            counters.malformed += 1
            return false
        }
        // The chain's end: follow the payload lengths from the HASH payload on.
        let hashEnd = Int(plaintext[2]) << 8 | Int(plaintext[3])
        var end = hashEnd
        var next = plaintext[0]
        while next != 0 {
            guard end + 4 <= plaintext.count else { return false }
            next = plaintext[end]
            end += Int(plaintext[end + 2]) << 8 | Int(plaintext[end + 3])
        }
        guard end <= plaintext.count, hashEnd <= end else { return false }
        let expected = keys.authenticate(prefix + Array(plaintext[hashEnd..<end]))
        guard SecretBytes(expected) == SecretBytes(received) else {
            counters.hashFailures += 1
            log(.information, "\(sa.policy.name): a protected message from \(sa.remote) fails its HASH; dropped")
            return false
        }
        return true
    }

    /// Our inbound SPI: the kernel's, or a random one.
    func inboundSPI(_ sa: ISAKMPSA) -> UInt32 {
        if let spi = allocateSPI?(sa.remote.address, sa.local.address) { return spi }
        var spi = Random.uint32()
        while spi < 0x100 { spi = Random.uint32() }
        return spi
    }

    /// The encapsulation mode: tunnel or transport, in UDP behind a NAT (RFC 3947 §5).
    func mode(_ sa: ISAKMPSA) -> UInt16 {
        switch (sa.policy.transportMode, sa.natDetected) {
        case (false, false): return IKEv1Number.modeTunnel
        case (true, false): return IKEv1Number.modeTransport
        case (false, true): return IKEv1Number.modeUDPTunnel
        case (true, true): return IKEv1Number.modeUDPTransport
        }
    }

    /// The seconds a RESPONDER-LIFETIME notification's attributes give.
    func responderLifetime(_ data: [UInt8]) -> UInt32? {
        var seconds: UInt32? = nil
        var isSeconds = true
        let parsed: [ISAKMPAttribute]? = data.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            var out: [ISAKMPAttribute] = []
            while !r.isAtEnd {
                guard out.count < 8, let a = try? ISAKMPAttribute.parse(&r) else { return nil }
                out.append(a)
            }
            return out
        }
        for a in parsed ?? [] {
            if a.type == IKEv1Number.Phase2.lifeType { isSeconds = a.integer == UInt64(IKEv1Number.lifeSeconds) }
            if a.type == IKEv1Number.Phase2.lifeDuration, isSeconds, let v = a.integer { seconds = UInt32(truncatingIfNeeded: min(v, UInt64(UInt32.max))) }
        }
        return seconds
    }
}
