import IKECore
import IKECrypto
import IKEWire

/// The initiator's IKE_SA_INIT and IKE_AUTH (RFC 7296 §1.2, §2.15).
extension IKEv2Engine {
    /// Step 2: starts the IKE SA (and its first CHILD_SA, reported at once when `phase2`,
    /// otherwise held for `requestPhase2`) for `tunnel`.
    public func initiate(tunnel: UInt32, policy: EnginePolicy, remote address: IPAddress, phase2: Bool, now: Instant) {
        defer { settle() }
        guard let localAddress = policy.localAddress ?? resolveLocal(address) else {
            output.append(.report(.phase1Failed(tunnel, reason: "no route to \(address)")))
            return
        }
        guard let group = Proposals.groups(policy.ikeProposals).first(where: { KeyExchange.isSupported($0) }) else {
            output.append(.report(.phase1Failed(tunnel, reason: "no supported DH group in ike_proposal")))
            return
        }
        let handshake = IKESA.Handshake()
        handshake.nonceI = Random.bytes(32)
        let sa = IKESA(initiator: true, local: Endpoint(localAddress, port), remote: Endpoint(address, port), group: group, now: now,
                       handshake: handshake)
        sa.tunnel = tunnel
        sa.policy = policy
        sa.phase2Wanted = phase2
        insert(sa)
        touch(sa)
        byTunnel[tunnel] = sa.localSPI
        sendInitRequest(sa, now: now)
    }

    func sendInitRequest(_ sa: IKESA, now: Instant) {
        guard let policy = sa.policy, case let .initSent(handshake) = sa.state else { return }
        let keyExchange: KeyExchange
        do throws(CryptoError) {
            keyExchange = try KeyExchange(group: sa.group, spares: keyPairs)
        } catch {
            fail(sa, phase: 1, "key exchange \(sa.group): \(error)")
            return
        }
        handshake.keyExchange = keyExchange
        var payloads: [IKEv2Payload] = []
        if !handshake.cookie.isEmpty { payloads.append(.notify(NotifyPayload(.cookie, data: handshake.cookie))) }
        payloads.append(.securityAssociation(Proposals.encode(policy.ikeProposals, protocolID: SecurityProtocol.ike, spi: [])))
        payloads.append(.keyExchange(group: sa.group.rawValue, data: keyExchange.publicValue))
        payloads.append(.nonce(handshake.nonceI))
        payloads += NATDetection.payloads(spiI: sa.localSPI, spiR: 0, local: sa.local, remote: sa.remote)
        payloads.append(.notify(IKEv2Engine.fragmentationSupported))
        if policy.certificate != nil { payloads.append(.notify(IKEv2Engine.signatureHashes)) }
        let message = IKEv2Message(header: sa.header(.ikeSAInit, messageID: 0, response: false),
                                   payloads: ExchangeRules.ordered(.initRequest, payloads))
        do throws(WireError) {
            handshake.initRequest = try message.encode()
        } catch {
            fail(sa, phase: 1, "encoding IKE_SA_INIT: \(error)")
            return
        }
        sa.nextRequestID = 1
        log(.debug, "IKE_SA_INIT request to \(sa.remote) with \(sa.group)")
        sendRequest(sa, handshake.initRequest, messageID: 0, now: now)
    }

    func initResponse(_ sa: IKESA, _ handshake: IKESA.Handshake, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) {
        guard let policy = sa.policy else { return }
        if let cookie = message.notify(.cookie) {
            // §2.6: the responder is under load; ask again with its cookie.
            handshake.cookie = cookie.data
            sendInitRequest(sa, now: now)
            return
        }
        if let invalidKE = message.notify(.invalidKEPayload), invalidKE.data.count == 2 {
            // §1.3: retry with the group the responder asked for, if we offered it.
            let requested = DHGroup(rawValue: UInt16(invalidKE.data[0]) << 8 | UInt16(invalidKE.data[1]))
            guard Proposals.groups(policy.ikeProposals).contains(requested), requested != sa.group else {
                fail(sa, phase: 1, "the peer asks for DH group \(requested), which ike_proposal does not offer")
                return
            }
            log(.information, "peer \(sa.remote) asks for DH group \(requested); retrying")
            sa.group = requested
            sendInitRequest(sa, now: now)
            return
        }
        if let error = message.notifies().first(where: { $0.type.isError }) {
            fail(sa, phase: 1, "peer answered \(error.type)")
            return
        }
        if let problem = ExchangeRules.violation(.initResponse, message.payloads) {
            fail(sa, phase: 1, "malformed answer: \(problem)")
            return
        }
        let found = gather(message.payloads)
        let proposals = found.proposals, ke = found.ke, nonce = found.nonce
        guard proposals.count == 1, let (group, publicValue) = ke, let nonce,
              let (_, chosen) = Proposals.select(from: proposals, ours: policy.ikeProposals, protocolID: SecurityProtocol.ike, withGroups: true),
              chosen.group?.rawValue == group, group == sa.group.rawValue else {
            fail(sa, phase: 1, "invalid IKE_SA_INIT response: a proposal, KE and nonce we can accept are required")
            return
        }
        sa.remoteSPI = message.header.responderSPI
        handshake.nonceR = nonce
        notePeerCertificateHints(sa, message.payloads)
        agreeOnFragmentation(sa, message.payloads)
        sa.chosen = chosen
        handshake.initResponse = raw
        (sa.natDetected, sa.behindNAT) = NATDetection.detected(message, spiI: sa.spiI, spiR: sa.spiR, local: sa.local, remote: sa.remote)
        if sa.natDetected {
            // §2.23: behind a NAT, IKE_AUTH and everything after go to port 4500.
            log(.information, "NAT detected between \(sa.local) and \(sa.remote); moving to port \(nattPort)")
            sa.local.port = nattPort
            sa.remote.port = nattPort
        }
        do throws(CryptoError) {
            try sa.deriveKeys(peerKE: publicValue)
        } catch {
            fail(sa, phase: 1, "key derivation: \(error)")
            return
        }
        sendAuthRequest(sa, handshake, policy, now: now)
    }

    func sendAuthRequest(_ sa: IKESA, _ handshake: IKESA.Handshake, _ policy: EnginePolicy, now: Instant) {
        guard let keys = sa.keys else { return }
        guard policy.hasCredential else {
            fail(sa, phase: 1, "tunnel '\(policy.name)' has no pre-shared key to authenticate with")
            return
        }
        let localID = localIdentity(sa, policy)
        let idPayload = Authentication.payload(localID, initiator: true)
        let authPayload: IKEv2Payload
        switch ourAuthentication(sa, policy, message: handshake.initRequest, nonce: handshake.nonceR, idKey: keys.pi, idBody: idPayload.body) {
        case let .success(p): authPayload = p
        case let .failure(failure):
            fail(sa, phase: 1, "cannot sign our AUTH: \(failure)")
            return
        }
        let spi = newInboundSPI(sa)
        sa.childInboundSPI = spi
        var payloads: [IKEv2Payload] = [idPayload] + certificatePayloads(sa, policy)
        if policy.certificate != nil, let request = certificateRequest([policy]) { payloads.append(request) }
        // §2.4: INITIAL_CONTACT tells the peer to drop every older SA with us: only while we
        // hold no established IKE SA with that peer (`contacted`), and in one IKE_AUTH at a
        // time, or a second tunnel to the same peer (or one negotiating beside it) would
        // tear down the first. A failed attempt leaves it to the next.
        let address = sa.remote.address
        if contacted[address.hashValue] == nil, initialContactInFlight[address].flatMap({ sas[$0] }) == nil {
            initialContactInFlight[address] = sa.localSPI
            payloads.append(.notify(NotifyPayload(.initialContact)))
        }
        payloads.append(authPayload)
        if policy.transportMode { payloads.append(.notify(NotifyPayload(.useTransportMode))) }
        payloads.append(.securityAssociation(Proposals.encode(policy.espProposals, protocolID: SecurityProtocol.esp,
                                                              spi: spi.bigEndianBytes, withGroups: false)))
        payloads.append(.trafficSelectors(initiator: true, ourSelectors(sa, policy, local: true)))
        payloads.append(.trafficSelectors(initiator: false, ourSelectors(sa, policy, local: false)))
        do throws(IKEv2Error) {
            let bytes = try sa.seal(.ikeAuth, messageID: 1, response: false, payloads)
            sa.state = .authSent(handshake)
            sa.nextRequestID = 2
            log(.debug, "IKE_AUTH request to \(sa.remote)")
            sendRequest(sa, bytes, messageID: 1, now: now)
        } catch {
            fail(sa, phase: 1, "building IKE_AUTH: \(error)")
        }
    }

    /// Our selectors for one side: the configured networks, or the endpoint's address.
    func ourSelectors(_ sa: IKESA, _ policy: EnginePolicy, local: Bool) -> [TrafficSelector] {
        let configured = local ? policy.localSelectors : policy.remoteSelectors
        if !configured.isEmpty { return configured }
        return [Selectors.host(local ? sa.local.address : sa.remote.address)]
    }

    func authResponse(_ sa: IKESA, _ handshake: IKESA.Handshake, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) {
        guard let policy = sa.policy, let keys = sa.keys, let tunnel = sa.tunnel else { return }
        guard let payloads = decrypt(sa, message, raw, now: now) else { return }
        sa.pending = nil
        if let problem = ExchangeRules.violation(.authResponse, payloads) {
            fail(sa, phase: 1, "malformed answer: \(problem)")
            return
        }
        var idr: IKEv2Payload? = nil
        var auth: [UInt8]? = nil
        var method: UInt8 = 0
        var proposals: [ProposalPayload] = []
        var tsi: [TrafficSelector] = [], tsr: [TrafficSelector] = []
        var notifies: [NotifyPayload] = []
        var transport = false
        for p in payloads {
            switch p {
            case .identification(false, _, _): idr = p
            case let .authentication(m, data): (method, auth) = (m, data)
            case let .securityAssociation(list): proposals = list
            case let .trafficSelectors(initiator, list): if initiator { tsi = list } else { tsr = list }
            case let .notify(n):
                notifies.append(n)
                if n.type == .useTransportMode { transport = true }
            default: break
            }
        }
        if let error = notifies.first(where: { $0.type == .authenticationFailed }) {
            fail(sa, phase: 1, "peer answered \(error.type): check psk, local_id and remote_id on both sides")
            return
        }
        guard let idPayload = idr, case let .identification(_, idType, idData) = idPayload, let auth,
              let presented = Authentication.identity(type: idType, data: idData) else {
            fail(sa, phase: 1, "IKE_AUTH response without IDr and AUTH")
            return
        }
        guard Authentication.matches(policy.remoteID, presented) else {
            if policy.certificate != nil {
                logCertificateFailure(sa, CertificateFailure(.identityMismatch, "the peer identifies as \(presented), remote_id is \(policy.remoteID)"),
                                      tunnel: policy.name)
            }
            refuseResponder(sa, "peer identifies as \(presented), expected remote_id \(policy.remoteID)")
            return
        }
        if case let .failure(failure) = verifyPeer(sa, policy, presented: presented, method: method, data: auth,
                                                   certificates: peerCertificates(payloads), message: handshake.initResponse,
                                                   nonce: handshake.nonceI, idKey: keys.pr, idBody: idPayload.body) {
            guard policy.certificate != nil else {
                refuseResponder(sa, "the peer's AUTH does not verify: the pre-shared keys differ")
                return
            }
            logCertificateFailure(sa, failure, tunnel: policy.name)
            refuseResponder(sa, "the peer's \(failure)")
            return
        }
        established(sa)  // the first CHILD_SA's keys take the nonces from `handshake`
        authenticated(sa, as: presented)
        sa.startIKELifetime(policy.ikeLifetimeSeconds, now: now)
        let localID = localIdentity(sa, policy)
        output.append(.report(.phase1Created(tunnel, Phase1SA(
            localAddress: sa.local.address, remoteAddress: sa.remote.address, localID: localID, remoteID: presented, initiatorSPI: sa.spiI,
            responderSPI: sa.spiR, algorithms: sa.chosen!, natTraversal: sa.natDetected, lifetimeSeconds: policy.ikeLifetimeSeconds))))
        if let error = notifies.first(where: { $0.type.isError }) {
            output.append(.report(.phase2Failed(tunnel, reason: "peer answered \(error.type)")))
            return
        }
        guard proposals.count == 1, proposals[0].spi.count == 4,
              let (_, chosen) = Proposals.select(from: proposals, ours: policy.espProposals, protocolID: SecurityProtocol.esp, withGroups: false),
              !tsi.isEmpty, !tsr.isEmpty,
              Selectors.within(tsi, ourSelectors(sa, policy, local: true)),
              Selectors.within(tsr, ourSelectors(sa, policy, local: false)) else {
            output.append(.report(.phase2Failed(tunnel, reason: "the peer's CHILD_SA answer does not fit what was proposed")))
            return
        }
        guard transport == policy.transportMode else {
            output.append(.report(.phase2Failed(tunnel, reason: "the peer does not agree on \(policy.transportMode ? "transport" : "tunnel") mode")))
            return
        }
        sa.childOutboundSPI = UInt32(proposals[0].spi[0]) << 24 | UInt32(proposals[0].spi[1]) << 16 | UInt32(proposals[0].spi[2]) << 8 | UInt32(proposals[0].spi[3])
        guard let child = childSA(sa, chosen, local: tsi, remote: tsr, transport: transport, lifetime: policy.childLifetimeSeconds,
                                  nonceI: handshake.nonceI, nonceR: handshake.nonceR) else {
            output.append(.report(.phase2Failed(tunnel, reason: "no keys for \(chosen)")))
            return
        }
        sa.childEstablished = true
        sa.startChildLifetime(policy.childLifetimeSeconds, now: now)
        reportChild(sa, tunnel, child, rekeyed: false)
    }

    /// Reports a new or rekeyed CHILD_SA, or holds it while phase 2 is not wanted yet.
    func reportChild(_ sa: IKESA, _ tunnel: UInt32, _ child: ChildSA, rekeyed: Bool) {
        if let held = sa.heldChild {
            held.child = child
        } else if !sa.phase2Wanted && !rekeyed {
            sa.heldChild = IKESA.HeldChild(child)
        } else {
            output.append(.report(rekeyed ? .phase2Rekeyed(tunnel, child) : .phase2Created(tunnel, child)))
        }
    }

    /// The CHILD_SA's keys (RFC 7296 §2.17): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr);
    /// keys for the exchange initiator's outbound direction first, encryption before
    /// integrity. Records what was negotiated for later rekeys.
    func childSA(_ sa: IKESA, _ chosen: ChosenAlgorithms, local: [TrafficSelector], remote: [TrafficSelector],
                 transport: Bool, lifetime: UInt32, nonceI: [UInt8], nonceR: [UInt8],
                 shared: SecretBytes? = nil, weInitiated: Bool? = nil) -> ChildSA? {
        guard let keys = sa.keys, let encryptionLength = MessageCipher.keyLength(chosen.cipher) else { return nil }
        var integrityLength = 0
        if let i = chosen.integrity {
            guard let integrity = Integrity(i) else { return nil }
            integrityLength = integrity.keyLength
        }
        let keymat = keys.childKeyMaterial(sharedSecret: shared, nonceI: nonceI, nonceR: nonceR,
                                           count: 2 * (encryptionLength + integrityLength))
        func slice(_ from: Int, _ n: Int) -> SecretBytes {
            keymat.withBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[from..<(from + n)])) }
        }
        let eI = slice(0, encryptionLength)
        let aI: SecretBytes? = integrityLength > 0 ? slice(encryptionLength, integrityLength) : nil
        let eR = slice(encryptionLength + integrityLength, encryptionLength)
        let aR: SecretBytes? = integrityLength > 0 ? slice(2 * encryptionLength + integrityLength, integrityLength) : nil
        let initiated = weInitiated ?? sa.initiator
        let local = Selectors.interned(local, sa.policy?.localSelectors ?? [])
        let remote = Selectors.interned(remote, sa.policy?.remoteSelectors ?? [])
        sa.childChosen = chosen
        sa.childLocal = local
        sa.childRemote = remote
        sa.childTransport = transport
        return ChildSA(
            inboundSPI: sa.childInboundSPI, outboundSPI: sa.childOutboundSPI, algorithms: chosen,
            inbound: DirectionKeys(encryption: initiated ? eR : eI, integrity: initiated ? aR : aI),
            outbound: DirectionKeys(encryption: initiated ? eI : eR, integrity: initiated ? aI : aR),
            localSelectors: local, remoteSelectors: remote, transportMode: transport, lifetimeSeconds: lifetime,
            encapsulation: sa.natDetected ? (sa.local.port, sa.remote.port) : nil)
    }

    /// §2.21.2: the responder's identity or AUTH is refused. The peer holds an
    /// established SA by now, so it is told (AUTHENTICATION_FAILED in an INFORMATIONAL,
    /// sent once) before ours goes.
    func refuseResponder(_ sa: IKESA, _ reason: String) {
        sendOnce(sa, [.notify(NotifyPayload(.authenticationFailed))])
        fail(sa, phase: 1, reason)
    }
}
