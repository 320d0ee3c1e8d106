import IKECore
import IKECrypto
import IKEWire

/// CREATE_CHILD_SA (RFC 7296 §1.3): rekeying the CHILD_SA (§1.3.3) and the IKE SA
/// (§1.3.2), as initiator and as responder. Additional CHILD_SAs are refused with
/// NO_ADDITIONAL_SAS; a rekey that meets one of ours in flight is answered with
/// TEMPORARY_FAILURE (§2.25), so the peer retries after ours is done.
extension IKEv2Engine {
    /// The payloads of a message that carry an SA negotiation, picked out once.
    struct ChildRequest {
        var rekeySPI: UInt32? = nil
        var proposals: [ProposalPayload] = []
        var nonce: [UInt8]? = nil
        var ke: (UInt16, [UInt8])? = nil
        var tsi: [TrafficSelector] = []
        var tsr: [TrafficSelector] = []
        var notifies: [NotifyPayload] = []
    }

    func gather(_ payloads: [IKEv2Payload]) -> ChildRequest {
        var r = ChildRequest()
        for p in payloads {
            switch p {
            case let .notify(n):
                r.notifies.append(n)
                if n.type == .rekeySA, n.protocolID == SecurityProtocol.esp, n.spi.count == 4 {
                    r.rekeySPI = UInt32(n.spi[0]) << 24 | UInt32(n.spi[1]) << 16 | UInt32(n.spi[2]) << 8 | UInt32(n.spi[3])
                }
            case let .securityAssociation(list): r.proposals = list
            case let .nonce(n): r.nonce = n
            case let .keyExchange(group, data): r.ke = (group, data)
            case let .trafficSelectors(initiator, list): if initiator { r.tsi = list } else { r.tsr = list }
            default: break
            }
        }
        return r
    }

    func spi32(_ bytes: [UInt8]) -> UInt32 {
        UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    }

    func spi64(_ bytes: [UInt8]) -> UInt64 {
        var v: UInt64 = 0
        for b in bytes { v = v << 8 | UInt64(b) }
        return v
    }

    func answer(_ sa: IKESA, _ id: UInt32, _ payloads: [IKEv2Payload]) {
        if let bytes = try? sa.seal(.createChildSA, messageID: id, response: true, payloads) { respond(sa, bytes, to: id) }
    }

    // MARK: Responder

    func createChildRequest(_ sa: IKESA, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) {
        guard let payloads = decrypt(sa, message, raw, now: now) else { return }
        let id = message.header.messageID
        if let problem = ExchangeRules.violation(.childRequest, payloads) {
            counters.malformed += 1
            log(.information, "\(problem) from \(sa.remote)")
            answer(sa, id, [.notify(NotifyPayload(.invalidSyntax))])
            return
        }
        let request = gather(payloads)
        if case .child? = sa.rekey, request.proposals.first?.protocolID == SecurityProtocol.esp,
           let old = request.rekeySPI, old == sa.childOutboundSPI, sa.childEstablished, sa.collision == nil {
            // §2.25.1: a rekey of the CHILD_SA we are rekeying ourselves is answered as
            // usual; §2.8.1 then decides which of the two new pairs stays.
            rekeyChildResponder(sa, request, id, now: now, colliding: true)
            return
        }
        if case .ike? = sa.rekey, request.proposals.first?.protocolID == SecurityProtocol.ike, sa.ikeCollision == nil {
            rekeyIKEResponder(sa, request, id, now: now, colliding: true)
            return
        }
        guard sa.rekey == nil, sa.rekeyedTo == nil else {
            answer(sa, id, [.notify(NotifyPayload(.temporaryFailure))])
            return
        }
        if request.proposals.first?.protocolID == SecurityProtocol.ike {
            rekeyIKEResponder(sa, request, id, now: now)
        } else if let old = request.rekeySPI, old == sa.childOutboundSPI, sa.childEstablished {
            rekeyChildResponder(sa, request, id, now: now)
        } else if request.rekeySPI == nil, !sa.childEstablished, sa.tunnel != nil, sa.isEstablished,
                  request.notifies.contains(where: { $0.type == .useTransportMode }) == sa.childTransport {
            // The tunnel's phase 2 was deleted and the peer makes it again (§1.3.1).
            rekeyChildResponder(sa, request, id, now: now, fresh: true)
        } else {
            log(.information, "CREATE_CHILD_SA from \(sa.remote) for another CHILD_SA refused (NO_ADDITIONAL_SAS)")
            answer(sa, id, [.notify(NotifyPayload(.noAdditionalSAs))])
        }
    }

    /// Answers the peer's CHILD_SA rekey, or with `fresh` a new CHILD_SA for a tunnel whose
    /// phase 2 was deleted (within the selectors the tunnel had).
    func rekeyChildResponder(_ sa: IKESA, _ request: ChildRequest, _ id: UInt32, now: Instant, colliding: Bool = false,
                             fresh: Bool = false) {
        guard let policy = sa.policy, let nonceI = request.nonce else {
            answer(sa, id, [.notify(NotifyPayload(.invalidSyntax))])
            return
        }
        guard let (proposal, chosen) = Proposals.select(from: request.proposals, ours: policy.espProposals,
                                                        protocolID: SecurityProtocol.esp, withGroups: request.ke != nil),
              proposal.spi.count == 4 else {
            answer(sa, id, [.notify(NotifyPayload(.noProposalChosen))])
            return
        }
        var shared: SecretBytes? = nil
        var reply: [IKEv2Payload] = []
        let nonceR = Random.bytes(32)
        let spi = newInboundSPI(sa)
        if let group = chosen.group, let (keGroup, value) = request.ke {
            guard keGroup == group.rawValue else {
                answer(sa, id, [.notify(NotifyPayload(.invalidKEPayload, data: [UInt8(group.rawValue >> 8), UInt8(truncatingIfNeeded: group.rawValue)]))])
                return
            }
            do throws(CryptoError) {
                let ke = try KeyExchange(group: group, spares: keyPairs)
                shared = try ke.sharedSecret(peerPublicValue: value)
                reply.append(.keyExchange(group: group.rawValue, data: ke.publicValue))
            } catch {
                answer(sa, id, [.notify(NotifyPayload(.noProposalChosen))])
                return
            }
        }
        let local = Selectors.narrow(offered: request.tsr, allowed: sa.childLocal)
        let remote = Selectors.narrow(offered: request.tsi, allowed: sa.childRemote)
        guard !local.isEmpty, !remote.isEmpty else {
            answer(sa, id, [.notify(NotifyPayload(.tsUnacceptable))])
            return
        }
        let old = (inbound: sa.childInboundSPI, outbound: sa.childOutboundSPI)
        sa.childInboundSPI = spi
        sa.childOutboundSPI = spi32(proposal.spi)
        guard let child = childSA(sa, chosen, local: local, remote: remote, transport: sa.childTransport,
                                  lifetime: policy.childLifetimeSeconds, nonceI: nonceI, nonceR: nonceR,
                                  shared: shared, weInitiated: false) else {
            sa.childInboundSPI = old.inbound
            sa.childOutboundSPI = old.outbound
            answer(sa, id, [.notify(NotifyPayload(.noProposalChosen))])
            return
        }
        if colliding {
            sa.childInboundSPI = old.inbound
            sa.childOutboundSPI = old.outbound
            sa.collision = IKESA.Crossed(child, [nonceI, nonceR])
        } else {
            if fresh { sa.childEstablished = true } else { sa.retiredChildren.append(old) }
            sa.startChildLifetime(policy.childLifetimeSeconds, now: now)
        }
        var response: [IKEv2Payload] = [.securityAssociation([Proposals.reply(proposal, chosen, spi: spi.bigEndianBytes)]), .nonce(nonceR)]
        response += reply
        response += [.trafficSelectors(initiator: true, remote), .trafficSelectors(initiator: false, local)]
        if fresh && sa.childTransport { response.append(.notify(NotifyPayload(.useTransportMode))) }
        answer(sa, id, response)
        if colliding { return }
        log(.information, "CHILD_SA \(fresh ? "made" : "rekeyed") by \(sa.remote): spi in \(Hex.prefixed(spi)) out \(Hex.prefixed(sa.childOutboundSPI))")
        if let tunnel = sa.tunnel { reportChild(sa, tunnel, child, rekeyed: !fresh) }
    }

    func rekeyIKEResponder(_ sa: IKESA, _ request: ChildRequest, _ id: UInt32, now: Instant, colliding: Bool = false) {
        guard let policy = sa.policy, let keys = sa.keys, let nonceI = request.nonce, let (keGroup, value) = request.ke else {
            answer(sa, id, [.notify(NotifyPayload(.invalidSyntax))])
            return
        }
        guard let (proposal, chosen) = Proposals.select(from: request.proposals, ours: policy.ikeProposals,
                                                        protocolID: SecurityProtocol.ike, withGroups: true),
              proposal.spi.count == 8, let group = chosen.group else {
            answer(sa, id, [.notify(NotifyPayload(.noProposalChosen))])
            return
        }
        guard keGroup == group.rawValue else {
            answer(sa, id, [.notify(NotifyPayload(.invalidKEPayload, data: [UInt8(group.rawValue >> 8), UInt8(truncatingIfNeeded: group.rawValue)]))])
            return
        }
        let successor = IKESA(initiator: false, local: sa.local, remote: sa.remote, group: group, now: sa.createdAt)
        successor.remoteSPI = spi64(proposal.spi)
        let nonceR = Random.bytes(32)
        let ourPublic: [UInt8]
        do throws(CryptoError) {
            let ke = try KeyExchange(group: group, spares: keyPairs)
            ourPublic = ke.publicValue
            let shared = try ke.sharedSecret(peerPublicValue: value)
            try install(successor, chosen: chosen, oldKeys: keys, shared: shared, nonceI: nonceI, nonceR: nonceR)
        } catch {
            answer(sa, id, [.notify(NotifyPayload(.noProposalChosen))])
            return
        }
        answer(sa, id, [.securityAssociation([Proposals.reply(proposal, chosen, spi: successor.localSPI.bigEndianBytes)]),
                        .nonce(nonceR), .keyExchange(group: group.rawValue, data: ourPublic)])
        if colliding {
            // §2.8.2: kept aside until our own rekey's answer says which one stays.
            successor.establish()
            successor.policy = sa.policy
            successor.lastHeard = now
            insert(successor)
            touch(successor)
            sa.ikeCollision = IKESA.Crossed(successor, [nonceI, nonceR])
            return
        }
        handOver(from: sa, to: successor, now: now)
        log(.information, "IKE SA rekeyed by \(sa.remote): \(Hex.prefixed(sa.localSPI)) -> \(Hex.prefixed(successor.localSPI))")
    }

    /// Keys of a rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) (§2.18).
    func install(_ successor: IKESA, chosen: ChosenAlgorithms, oldKeys: IKEKeys, shared: SecretBytes,
                 nonceI: [UInt8], nonceR: [UInt8]) throws(CryptoError) {
        guard let prfID = chosen.prf, let prf = PRF(prfID) else { throw .unsupported("no PRF") }
        var seed = keyInput([shared], then: nonceI + nonceR)
        let skeyseed = oldKeys.prf.secret(key: oldKeys.d, wiping: &seed)
        let k = try IKEKeys(prf: prf, skeyseed: skeyseed, cipher: chosen.cipher, integrity: chosen.integrity,
                            nonceI: nonceI, nonceR: nonceR, spiI: successor.spiI, spiR: successor.spiR)
        successor.keys = k
        successor.chosen = chosen
    }

    /// The CHILD_SA, the tunnel and the policy move to the new IKE SA (§2.18).
    func handOver(from sa: IKESA, to successor: IKESA, now: Instant) {
        successor.establish()
        successor.lastHeard = now
        if let policy = sa.policy { successor.startIKELifetime(policy.ikeLifetimeSeconds, now: now) }
        successor.childRekeyAt = sa.childRekeyAt
        successor.childExpiresAt = sa.childExpiresAt
        successor.policy = sa.policy
        successor.tunnel = sa.tunnel
        successor.natDetected = sa.natDetected
        successor.behindNAT = sa.behindNAT
        if sa.behindNAT { successor.lastKeepalive = sa.lastKeepalive }
        if let peer = sa.peerID { authenticated(successor, as: peer) }
        successor.childInboundSPI = sa.childInboundSPI
        successor.childOutboundSPI = sa.childOutboundSPI
        successor.childEstablished = sa.childEstablished
        successor.childChosen = sa.childChosen
        successor.childLocal = sa.childLocal
        successor.childRemote = sa.childRemote
        successor.childTransport = sa.childTransport
        sa.rekeyedTo = successor.localSPI
        sa.retireAt = now + IKEv2Engine.retireGrace
        sa.childEstablished = false
        insert(successor)
        touch(successor)
        // A tunnel holds at most two IKE SAs: a peer that rekeys again before it deleted
        // the last one it replaced sees that one deleted now (§2.8: the old one must go).
        if let p = sa.predecessor, let older = sas[p] { retire(older) }
        successor.predecessor = sa.localSPI
        if let t = sa.tunnel, let policy = sa.policy {
            byTunnel[t] = successor.localSPI
            let localID = localIdentity(successor, policy)
            output.append(.report(.phase1Rekeyed(t, Phase1SA(
                localAddress: successor.local.address, remoteAddress: successor.remote.address, localID: localID, remoteID: successor.peerID ?? policy.remoteID,
                initiatorSPI: successor.spiI, responderSPI: successor.spiR, algorithms: successor.chosen!,
                natTraversal: successor.natDetected, lifetimeSeconds: policy.ikeLifetimeSeconds))))
        }
    }

    // MARK: Initiator

    /// Rekeys the tunnel's CHILD_SA (phase 2) or its IKE SA (phase 1): `ike cmd=rekey`,
    /// and the soft lifetime.
    /// Phase 2 for a tunnel whose IKE SA is up: the CHILD_SA held since IKE_AUTH, or a new
    /// one (CREATE_CHILD_SA without REKEY_SA, §1.3.1) when its phase 2 was deleted.
    public func requestPhase2(tunnel: UInt32, now: Instant) {
        guard let spi = byTunnel[tunnel], let sa = sas[spi] else { return }
        defer { settle(sa) }
        sa.phase2Wanted = true
        if let held = sa.heldChild {
            sa.heldChild = nil
            output.append(.report(.phase2Created(tunnel, held.child)))
            return
        }
        guard sa.isEstablished, !sa.childEstablished, sa.rekeyedTo == nil, let policy = sa.policy else { return }
        if case .child? = sa.rekey { return }
        guard sa.rekey == nil, sa.pending == nil else {
            output.append(.report(.phase2Failed(tunnel, reason: "another exchange with \(sa.remote) is in flight; try again")))
            return
        }
        let nonce = Random.bytes(32)
        let newSPI = newInboundSPI(sa)
        var ke: KeyExchange? = nil
        if let group = Proposals.groups(policy.espProposals).first(where: { KeyExchange.isSupported($0) }) { ke = try? KeyExchange(group: group, spares: keyPairs) }
        var payloads: [IKEv2Payload] = []
        if policy.transportMode { payloads.append(.notify(NotifyPayload(.useTransportMode))) }
        payloads.append(.securityAssociation(Proposals.encode(policy.espProposals, protocolID: SecurityProtocol.esp, spi: newSPI.bigEndianBytes, withGroups: ke != nil)))
        payloads.append(.nonce(nonce))
        if let ke { payloads.append(.keyExchange(group: ke.group.rawValue, data: ke.publicValue)) }
        payloads.append(.trafficSelectors(initiator: true, ourSelectors(sa, policy, local: true)))
        payloads.append(.trafficSelectors(initiator: false, ourSelectors(sa, policy, local: false)))
        sa.childTransport = policy.transportMode
        let id = sa.nextRequestID
        guard let bytes = try? sa.seal(.createChildSA, messageID: id, response: false, payloads) else {
            output.append(.report(.phase2Failed(tunnel, reason: "the CREATE_CHILD_SA request could not be built")))
            return
        }
        sa.rekey = .child(nonce: nonce, keyExchange: ke, inboundSPI: newSPI)
        sa.nextRequestID = id &+ 1
        log(.information, "CREATE_CHILD_SA request to \(sa.remote): a new CHILD_SA")
        sendRequest(sa, bytes, messageID: id, now: now)
    }

    public func rekey(tunnel: UInt32, phase: Int, now: Instant) {
        let current = byTunnel[tunnel].flatMap { sas[$0] }
        defer {
            if let current { touch(current) }
            settle()
        }
        guard let spi = byTunnel[tunnel], let sa = sas[spi], let policy = sa.policy, sa.isEstablished else { return }
        guard sa.rekey == nil, sa.pending == nil else {
            // A rekey of this phase in flight is this one. Another exchange in flight (a
            // liveness check, the other phase's rekey): this rekey waits its turn, due a
            // second from now, and is not dropped (nor left to the lifetime's own rekey).
            if sa.rekey?.phase == phase { return }
            let soon = now + .seconds(1)
            if phase == 2 { sa.childRekeyAt = min(sa.childRekeyAt ?? soon, soon) } else { sa.ikeRekeyAt = min(sa.ikeRekeyAt ?? soon, soon) }
            return
        }
        let nonce = Random.bytes(32)
        var payloads: [IKEv2Payload] = []
        if phase == 2 {
            guard sa.childEstablished else { return }
            let newSPI = newInboundSPI(sa)
            var ke: KeyExchange? = nil
            let groups = Proposals.groups(policy.espProposals)
            if let group = groups.first(where: { KeyExchange.isSupported($0) }) { ke = try? KeyExchange(group: group, spares: keyPairs) }
            payloads.append(.notify(NotifyPayload(.rekeySA, protocolID: SecurityProtocol.esp, spi: sa.childInboundSPI.bigEndianBytes)))
            payloads.append(.securityAssociation(Proposals.encode(policy.espProposals, protocolID: SecurityProtocol.esp, spi: newSPI.bigEndianBytes, withGroups: ke != nil)))
            payloads.append(.nonce(nonce))
            if let ke { payloads.append(.keyExchange(group: ke.group.rawValue, data: ke.publicValue)) }
            payloads.append(.trafficSelectors(initiator: true, sa.childLocal))
            payloads.append(.trafficSelectors(initiator: false, sa.childRemote))
            sa.rekey = .child(nonce: nonce, keyExchange: ke, inboundSPI: newSPI)
        } else {
            guard let group = Proposals.groups(policy.ikeProposals).first(where: { KeyExchange.isSupported($0) }),
                  let ke = try? KeyExchange(group: group, spares: keyPairs) else {
                rekeyFailed(sa, phase: 1, "no key exchange for the IKE SA rekey", now: now)
                return
            }
            var newSPI = Random.uint64()
            while newSPI == 0 { newSPI = Random.uint64() }
            payloads.append(.securityAssociation(Proposals.encode(policy.ikeProposals, protocolID: SecurityProtocol.ike, spi: newSPI.bigEndianBytes)))
            payloads.append(.nonce(nonce))
            payloads.append(.keyExchange(group: group.rawValue, data: ke.publicValue))
            sa.rekey = .ike(nonce: nonce, keyExchange: ke, spi: newSPI)
        }
        let id = sa.nextRequestID
        guard let bytes = try? sa.seal(.createChildSA, messageID: id, response: false, payloads) else {
            sa.rekey = nil
            rekeyFailed(sa, phase: phase, "the CREATE_CHILD_SA request could not be built", now: now)
            return
        }
        sa.nextRequestID = id &+ 1
        log(.debug, "CREATE_CHILD_SA request to \(sa.remote): rekey of phase \(phase)")
        sendRequest(sa, bytes, messageID: id, now: now)
    }

    func createChildResponse(_ sa: IKESA, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) {
        guard let payloads = decrypt(sa, message, raw, now: now) else { return }
        sa.pending = nil
        let rekey = sa.rekey
        sa.rekey = nil
        guard let rekey, let policy = sa.policy, let tunnel = sa.tunnel else { return }
        let response = gather(payloads)
        let malformed = ExchangeRules.violation(.childResponse, payloads)
        if let error = response.notifies.first(where: { $0.type.isError }) ?? malformed.map({ _ in NotifyPayload(.invalidSyntax) }) {
            // §2.25: typically a collision with the peer's own rekey; try again later.
            switch rekey {
            case .child:
                if let collision = sa.collision {
                    // Our rekey failed but we answered the peer's: that pair replaces the old one.
                    sa.collision = nil
                    sa.retiredChildren.append((inbound: sa.childInboundSPI, outbound: sa.childOutboundSPI))
                    sa.childInboundSPI = collision.made.inboundSPI
                    sa.childOutboundSPI = collision.made.outboundSPI
                    sa.startChildLifetime(policy.childLifetimeSeconds, now: now)
                    reportChild(sa, tunnel, collision.made, rekeyed: true)
                    return
                }
            case .ike:
                if let theirs = sa.ikeCollision {
                    sa.ikeCollision = nil
                    handOver(from: sa, to: theirs.made, now: now)
                    return
                }
            }
            rekeyFailed(sa, phase: rekey.phase, "the peer refused it (\(error.type))", now: now)
            return
        }
        switch rekey {
        case let .child(nonceI, ke, newInbound):
            guard let nonceR = response.nonce, response.proposals.count == 1, response.proposals[0].spi.count == 4,
                  let (_, chosen) = Proposals.select(from: response.proposals, ours: policy.espProposals,
                                                     protocolID: SecurityProtocol.esp, withGroups: ke != nil) else {
                rekeyFailed(sa, phase: 2, "the peer's answer does not fit what was proposed", now: now)
                return
            }
            var shared: SecretBytes? = nil
            if let ke {
                guard let (group, value) = response.ke, group == ke.group.rawValue,
                      let s = try? ke.sharedSecret(peerPublicValue: value) else {
                    rekeyFailed(sa, phase: 2, "the peer's key exchange is missing or unusable", now: now)
                    return
                }
                shared = s
            }
            let fresh = !sa.childEstablished
            let old = (inbound: sa.childInboundSPI, outbound: sa.childOutboundSPI)
            sa.childInboundSPI = newInbound
            sa.childOutboundSPI = spi32(response.proposals[0].spi)
            let local = response.tsi.isEmpty ? sa.childLocal : response.tsi
            let remote = response.tsr.isEmpty ? sa.childRemote : response.tsr
            guard let child = childSA(sa, chosen, local: local, remote: remote, transport: sa.childTransport,
                                      lifetime: policy.childLifetimeSeconds, nonceI: nonceI, nonceR: nonceR,
                                      shared: shared, weInitiated: true) else {
                sa.childInboundSPI = old.inbound
                sa.childOutboundSPI = old.outbound
                rekeyFailed(sa, phase: 2, "no keys for \(chosen)", now: now)
                return
            }
            sa.rekeyFailures = 0
            sa.startChildLifetime(policy.childLifetimeSeconds, now: now)
            if fresh {
                sa.childEstablished = true
                log(.information, "CHILD_SA made with \(sa.remote): spi in \(Hex.prefixed(newInbound)) out \(Hex.prefixed(sa.childOutboundSPI))")
                reportChild(sa, tunnel, child, rekeyed: false)
                return
            }
            if let collision = sa.collision {
                settle(sa, ours: child, ourNonces: [nonceI, nonceR], theirs: collision, old: old, tunnel: tunnel, now: now)
                return
            }
            reportChild(sa, tunnel, child, rekeyed: true)
            // §1.3.3: the initiator of the rekey deletes the old CHILD_SA.
            sa.retiredChildren.append(old)
            sendDelete(sa, .delete(protocolID: SecurityProtocol.esp, spis: [old.inbound.bigEndianBytes]), now: now)
        case let .ike(nonceI, ke, newSPI):
            guard let keys = sa.keys, let nonceR = response.nonce, response.proposals.count == 1, response.proposals[0].spi.count == 8,
                  let (_, chosen) = Proposals.select(from: response.proposals, ours: policy.ikeProposals,
                                                     protocolID: SecurityProtocol.ike, withGroups: true),
                  let (group, value) = response.ke, group == ke.group.rawValue,
                  let shared = try? ke.sharedSecret(peerPublicValue: value) else {
                rekeyFailed(sa, phase: 1, "the peer's answer does not fit what was proposed", now: now)
                return
            }
            let successor = IKESA(initiator: true, local: sa.local, remote: sa.remote, group: ke.group, now: now, spi: newSPI)
            successor.remoteSPI = spi64(response.proposals[0].spi)
            do throws(CryptoError) {
                try install(successor, chosen: chosen, oldKeys: keys, shared: shared, nonceI: nonceI, nonceR: nonceR)
            } catch {
                rekeyFailed(sa, phase: 1, "deriving the new keys: \(error)", now: now)
                return
            }
            if let collision = sa.ikeCollision {
                sa.ikeCollision = nil
                let theirs = collision.made
                if collision.oursGoes([nonceI, nonceR]) {
                    // Ours is redundant: we delete it; the peer's stays and the peer deletes the old SA.
                    log(.information, "simultaneous IKE SA rekey with \(sa.remote): keeping the peer's")
                    handOver(from: sa, to: theirs, now: now)
                    successor.establish()
                    insert(successor)
                    touch(successor)
                    successor.rekeyedTo = theirs.localSPI
                    sendDelete(successor, .delete(protocolID: SecurityProtocol.ike, spis: []), now: now)
                    return
                }
                log(.information, "simultaneous IKE SA rekey with \(sa.remote): keeping ours")
            }
            handOver(from: sa, to: successor, now: now)
            log(.information, "IKE SA rekeyed: \(Hex.prefixed(sa.localSPI)) -> \(Hex.prefixed(successor.localSPI))")
            // §1.3.2: the old IKE SA is deleted by the rekey's initiator.
            sendDelete(sa, .delete(protocolID: SecurityProtocol.ike, spis: []), now: now)
        }
    }

    /// §2.8.1: both ends rekeyed the CHILD_SA at once. The new pair made with the lowest
    /// of the four nonces is redundant and is deleted by the end that started that
    /// exchange; the other pair replaces the old one.
    func settle(_ sa: IKESA, ours: ChildSA, ourNonces: [[UInt8]],
                theirs: IKESA.Crossed<ChildSA>, old: (inbound: UInt32, outbound: UInt32),
                tunnel: UInt32, now: Instant) {
        sa.collision = nil
        sa.retiredChildren.append(old)
        if theirs.oursGoes(ourNonces) {
            // Ours is redundant: we delete it; the peer's pair stays, and the peer, as its
            // initiator, deletes the old one.
            log(.information, "simultaneous CHILD_SA rekey with \(sa.remote): keeping the peer's, deleting ours")
            sa.childInboundSPI = theirs.made.inboundSPI
            sa.childOutboundSPI = theirs.made.outboundSPI
            reportChild(sa, tunnel, theirs.made, rekeyed: true)
            sendDelete(sa, .delete(protocolID: SecurityProtocol.esp, spis: [ours.inboundSPI.bigEndianBytes]), now: now)
        } else {
            // The peer's is redundant and it deletes it; ours stays and we delete the old one.
            log(.information, "simultaneous CHILD_SA rekey with \(sa.remote): keeping ours")
            sa.retiredChildren.append((inbound: theirs.made.inboundSPI, outbound: theirs.made.outboundSPI))
            reportChild(sa, tunnel, ours, rekeyed: true)
            sendDelete(sa, .delete(protocolID: SecurityProtocol.esp, spis: [old.inbound.bigEndianBytes]), now: now)
        }
    }

    /// An INFORMATIONAL Delete request on `sa`, retransmitted but not waited for.
    func sendDelete(_ sa: IKESA, _ payload: IKEv2Payload, now: Instant) {
        let id = sa.nextRequestID
        guard let bytes = try? sa.seal(.informational, messageID: id, response: false, [payload]) else { return }
        sa.nextRequestID = id &+ 1
        sendRequest(sa, bytes, messageID: id, now: now, isDelete: true)
    }

    /// A rekey of ours failed: counted, logged, and tried again with exponential back-off
    /// (2 s doubling, at most 5 minutes, with jitter), always before the hard lifetime, so
    /// that the SA is renewed rather than left to expire.
    func rekeyFailed(_ sa: IKESA, phase: Int, _ reason: String, now: Instant) {
        if phase == 2, !sa.childEstablished {
            // A new CHILD_SA (`requestPhase2`), not a rekey: the tunnel's phase 2 failed.
            log(.error, "CHILD_SA with \(sa.remote) failed: \(reason)")
            if let t = sa.tunnel { output.append(.report(.phase2Failed(t, reason: reason))) }
            return
        }
        counters.rekeyFailures += 1
        sa.rekeyFailures += 1
        let base = min(UInt64(2000) << UInt64(min(sa.rekeyFailures - 1, 8)), 300_000)
        var at = now + Jitter.backOff(base)
        let expiry = phase == 2 ? sa.childExpiresAt : sa.ikeExpiresAt
        if let expiry, at >= expiry {
            // The last chance: halfway to the hard lifetime, or at once.
            at = now + .milliseconds((expiry - now).milliseconds / 2)
        }
        if phase == 2 { sa.childRekeyAt = at } else { sa.ikeRekeyAt = at }
        log(.error, "rekey of \(phase == 2 ? "CHILD_SA \(Hex.prefixed(sa.childInboundSPI))" : "IKE SA \(Hex.prefixed(sa.localSPI))") with \(sa.remote) failed (attempt \(sa.rekeyFailures)): \(reason); retrying in \((at - now).milliseconds / 1000) s")
    }
}

extension IKESA.RekeyInFlight {
    /// 2 for a CHILD_SA rekey, 1 for an IKE SA rekey.
    var phase: Int {
        switch self {
        case .child: return 2
        case .ike: return 1
        }
    }
}

extension IKEv2Engine {
    /// How long a rekeyed IKE SA waits for its delete (§2.8) before we send one ourselves.
    public static let retireGrace: Interval = .seconds(30)

    /// Deletes a replaced IKE SA that its delete has not taken: the peer is told, once.
    func retire(_ sa: IKESA) {
        log(.debug, "replaced IKE SA \(Hex.prefixed(sa.localSPI)) not deleted by \(sa.remote); deleting it")
        sendOnce(sa, [.delete(protocolID: SecurityProtocol.ike, spis: [])])
        remove(sa)
    }
}
