import IKECore
import IKECrypto
import IKEWire

/// Authentication with certificates (RFC 7296 §2.15, §3.6-3.8; RFC 7427): the AUTH
/// payloads of both methods, CERT and CERTREQ. Signing and verifying happen in cpsd
/// (`certificates`); the engine sees only octets and verdicts.
extension IKEv2Engine {
    /// X.509 Certificate - Signature (RFC 7296 §3.6): CERT and CERTREQ encoding 4.
    static let x509Signature: UInt8 = 4

    /// N(SIGNATURE_HASH_ALGORITHMS): SHA2-256, SHA2-384, SHA2-512 and Identity (RFC 8420).
    static let signatureHashes = NotifyPayload(.signatureHashAlgorithms, data: [0, 2, 0, 3, 0, 4, 0, 5])

    /// What the peer's IKE_SA_INIT or IKE_AUTH says about certificates.
    func notePeerCertificateHints(_ sa: IKESA, _ payloads: [IKEv2Payload]) {
        for p in payloads {
            switch p {
            case let .notify(n) where n.type == .signatureHashAlgorithms:
                var hashes: [UInt16] = []
                var i = 0
                while i + 1 < n.data.count {
                    hashes.append(UInt16(n.data[i]) << 8 | UInt16(n.data[i + 1]))
                    i += 2
                }
                sa.handshake?.peerHashes = hashes
            case .certificateRequest:
                sa.handshake?.peerAsksForCertificate = true
            default:
                break
            }
        }
    }

    /// CERTREQ naming the trust anchors of every certificate policy among `policies`.
    func certificateRequest(_ policies: [EnginePolicy]) -> IKEv2Payload? {
        var hashes: [[UInt8]] = []
        for p in policies {
            for h in p.certificate?.authorities ?? [] where !hashes.contains(h) { hashes.append(h) }
        }
        guard !hashes.isEmpty else { return nil }
        return .certificateRequest(encoding: IKEv2Engine.x509Signature, data: Array(hashes.joined()))
    }

    /// Our CERT payloads, as `send_cert` says.
    func certificatePayloads(_ sa: IKESA, _ policy: EnginePolicy) -> [IKEv2Payload] {
        guard let credential = policy.certificate else { return [] }
        switch credential.send {
        case .never: return []
        case .ifAsked where sa.handshake?.peerAsksForCertificate != true: return []
        default: return credential.chain.map { .certificate(encoding: IKEv2Engine.x509Signature, data: $0) }
        }
    }

    /// Our identity: local_id, else the certificate's subject, else our address.
    func localIdentity(_ sa: IKESA, _ policy: EnginePolicy) -> Identity {
        policy.localID ?? policy.certificate?.subject ?? .address(sa.local.address)
    }

    /// Our AUTH payload over `message | nonce | prf(idKey, idBody)`.
    func ourAuthentication(_ sa: IKESA, _ policy: EnginePolicy, message: [UInt8], nonce: [UInt8], idKey: SecretBytes,
                           idBody: [UInt8]) -> Result<IKEv2Payload, CertificateFailure> {
        guard let keys = sa.keys else { return .failure(CertificateFailure(.unavailable, "no keys")) }
        guard let credential = policy.certificate else {
            let auth = Authentication.psk(prf: keys.prf, psk: policy.psk, message: message, nonce: nonce, idKey: idKey, idBody: idBody)
            return .success(.authentication(method: Authentication.sharedKeyMIC, data: auth))
        }
        guard let certificates else { return .failure(CertificateFailure(.unavailable, "no certificate proxy")) }
        let octets = message + nonce + keys.prf.compute(key: idKey, data: idBody)
        switch certificates.sign(credential: credential.id, octets: octets, peerHashes: sa.handshake?.peerHashes ?? []) {
        case let .success(signed):
            log(.debug, "AUTH for tunnel '\(policy.name)' signed with \(signed.scheme) (method \(signed.method))")
            return .success(.authentication(method: signed.method, data: signed.data))
        case let .failure(failure):
            return .failure(failure)
        }
    }

    /// Whether the peer's AUTH verifies under `policy`: its PSK, or its certificate chain
    /// against the policy's trust anchors, for the identity the peer presented.
    func verifyPeer(_ sa: IKESA, _ policy: EnginePolicy, presented: Identity, method: UInt8, data: [UInt8],
                    certificates peerCertificates: [[UInt8]], message: [UInt8], nonce: [UInt8], idKey: SecretBytes,
                    idBody: [UInt8]) -> Result<Void, CertificateFailure> {
        guard let keys = sa.keys else { return .failure(CertificateFailure(.unavailable, "no keys")) }
        guard let credential = policy.certificate else {
            guard policy.hasPSK, method == Authentication.sharedKeyMIC else {
                return .failure(CertificateFailure(.unsupportedAlgorithm, "tunnel '\(policy.name)' expects a pre-shared key AUTH, the peer used method \(method)"))
            }
            let expected = Authentication.psk(prf: keys.prf, psk: policy.psk, message: message, nonce: nonce, idKey: idKey, idBody: idBody)
            return SecretBytes(expected) == SecretBytes(data) ? .success(())
                : .failure(CertificateFailure(.badSignature, "the pre-shared keys differ"))
        }
        guard method != Authentication.sharedKeyMIC else {
            return .failure(CertificateFailure(.unsupportedAlgorithm, "tunnel '\(policy.name)' expects a signature, the peer used a pre-shared key"))
        }
        guard let certificates else { return .failure(CertificateFailure(.unavailable, "no certificate proxy")) }
        let octets = message + nonce + keys.prf.compute(key: idKey, data: idBody)
        switch certificates.verify(credential: credential.id, certificates: peerCertificates, identity: presented,
                                   octets: octets, method: method, data: data) {
        case let .success(subject):
            log(.information, "peer \(sa.remote) authenticated as \(presented) by certificate \"\(subject)\"")
            return .success(())
        case let .failure(failure):
            return .failure(failure)
        }
    }

    /// The DER of every X.509 CERT payload, in order.
    func peerCertificates(_ payloads: [IKEv2Payload]) -> [[UInt8]] {
        payloads.compactMap { p in
            if case let .certificate(encoding, data) = p, encoding == IKEv2Engine.x509Signature { return data }
            return nil
        }
    }

    /// A certificate failure is an `event` of its own (the AIX flow logs an invalid
    /// certificate as such).
    func logCertificateFailure(_ sa: IKESA, _ failure: CertificateFailure, tunnel: String) {
        log(.event, "\(failure) from \(sa.remote) for tunnel '\(tunnel)'")
    }
}
