import IKECore
import IKECrypto
import IKEWire

/// Main Mode with signatures (RFC 2409 §5.1, RFC 4754): the same exchange as with
/// pre-shared keys, with CERTREQ beside the key exchange and SIG instead of HASH,
///
///     HDR*, IDii, [CERT,] SIG_I   -->
///                                 <--  HDR*, IDir, [CERT,] SIG_R
///
/// where SIG is the peer's key over HASH_I or HASH_R itself. Signing and verifying
/// happen in cpsd (`certificates`); the engine sees only hashes and verdicts.
extension IKEv1Engine {
    /// X.509 Certificate - Signature (RFC 2408 §3.9): CERT and CR encoding 4.
    static let x509Signature: UInt8 = 4

    /// The phase 1 authentication method a tunnel offers and accepts: its PSK (1), or
    /// what its certificate's key signs with (3 RSA, 9-11 ECDSA); nil: neither.
    func authenticationMethod(_ policy: EnginePolicy) -> UInt16? {
        if let credential = policy.certificate { return credential.ikev1Method.map { UInt16($0) } }
        return policy.hasPSK ? IKEv1Number.authPreSharedKey : nil
    }

    /// RFC 4754: ECDSA's HASH_I and HASH_R use the curve's SHA-2, whatever prf phase 1
    /// negotiated; nil: the negotiated prf.
    func ecdsaPRF(_ method: UInt16) -> PRF? {
        switch method {
        case IKEv1Number.authECDSA256: return PRF(.hmacSHA2_256)
        case IKEv1Number.authECDSA384: return PRF(.hmacSHA2_384)
        case IKEv1Number.authECDSA521: return PRF(.hmacSHA2_512)
        default: return nil
        }
    }

    /// Our identity: local_id, else the certificate's subject, else our address.
    func localIdentity(_ sa: ISAKMPSA) -> Identity {
        sa.policy.localID ?? sa.policy.certificate?.subject ?? .address(sa.local.address)
    }

    /// A CR beside our KE when we authenticate by certificate: one without an authority,
    /// which takes a certificate from any CA (ours are checked by cpsd), and which makes
    /// a peer with `send_cert ifasked` send its certificate.
    func certificateRequest(_ sa: ISAKMPSA) -> [ISAKMPPayload] {
        sa.policy.certificate == nil ? [] : [.certificateRequest(encoding: IKEv1Engine.x509Signature, authority: [])]
    }

    func notePeerCertificateRequest(_ h: ISAKMPSA.Handshake, _ payloads: [ISAKMPPayload]) {
        if payloads.contains(where: { if case .certificateRequest = $0 { return true }; return false }) { h.peerAsksForCertificate = true }
    }

    /// Our ID and proof for MM5 or MM6: HASH with a PSK, our CERTs and SIG with a
    /// certificate. nil: signing failed (logged, and the phase failed).
    func ourAuthentication(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake) throws(IKEv1Error) -> [ISAKMPPayload]? {
        let (id, hash) = try ourIdentity(sa, h)
        guard let credential = sa.policy.certificate else { return [.identification(id), .hash(hash)] }
        guard let certificates else {
            fail(sa, phase: 1, "no certificate proxy (cpsd) to sign with")
            return nil
        }
        switch certificates.signHash(credential: credential.id, hash: hash) {
        case let .success(signed):
            log(.debug, "\(sa.policy.name): SIG_\(sa.initiator ? "I" : "R") signed with \(signed.scheme) (method \(signed.method))")
            var payloads: [ISAKMPPayload] = [.identification(id)]
            if credential.send == .always || (credential.send == .ifAsked && h.peerAsksForCertificate) {
                payloads += credential.chain.map { .certificate(encoding: IKEv1Engine.x509Signature, data: $0) }
            }
            return payloads + [.signature(signed.data)]
        case let .failure(failure):
            log(.event, "\(failure) for tunnel '\(sa.policy.name)'")
            fail(sa, phase: 1, failure.description)
            return nil
        }
    }

    /// Checks MM5's or MM6's proof: the peer's HASH against our PSK, or its SIG and
    /// certificates through cpsd; then that it is the peer the tunnel expects. nil, or
    /// what is wrong.
    func authenticatePeer(_ sa: ISAKMPSA, _ h: ISAKMPSA.Handshake, _ payloads: [ISAKMPPayload]) -> String? {
        guard let (peer, idBody) = identity(payloads) else { return "no ID payload" }
        guard let credential = sa.policy.certificate else {
            guard let received = hash(payloads) else { return "no HASH payload (or the psk differs)" }
            return authenticate(sa, h, peer, idBody: idBody, hash: received)
        }
        var signature: [UInt8]? = nil
        var chain: [[UInt8]] = []
        for p in payloads {
            switch p {
            case let .signature(s): signature = s
            case let .certificate(encoding, data) where encoding == IKEv1Engine.x509Signature: chain.append(data)
            default: break
            }
        }
        guard let signature else { return "no SIG payload: the peer does not authenticate by signature" }
        guard sa.policy.remoteID.accepts(peer) else { return "the peer is \(peer), not remote_id \(sa.policy.remoteID)" }
        guard let certificates, let choice = sa.choice else { return "no certificate proxy (cpsd) to verify with" }
        let expected = sa.keys!.phase1Hash(initiator: !sa.initiator, gxi: h.gxi, gxr: h.gxr, cookieI: sa.cookieI, cookieR: sa.cookieR,
                                           saBody: h.saBody, idBody: idBody)
        switch certificates.verifyHash(credential: credential.id, certificates: chain, identity: peer, hash: expected,
                                       method: UInt8(truncatingIfNeeded: choice.authentication), signature: signature) {
        case let .success(subject):
            log(.information, "peer \(sa.remote) authenticated as \(peer) by certificate \"\(subject)\"")
            sa.peerID = peer
            return nil
        case let .failure(failure):
            counters.hashFailures += 1
            log(.event, "\(failure) from \(sa.remote) for tunnel '\(sa.policy.name)'")
            return failure.description
        }
    }
}
