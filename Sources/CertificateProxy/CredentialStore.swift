import COpenSSL
import IKECore
import IKEWire

/// How cpsd reaches files: the process supplies it (sans-I/O, and an in-memory one in tests).
public struct FileAccess {
    /// The file's bytes, or the reason it cannot be read ("No such file or directory").
    public var read: (String) -> Result<[UInt8], CredentialFileError>
    /// Permission bits; nil when unknown.
    public var mode: (String) -> UInt32?
    /// The file names in a directory; nil when `path` is not one.
    public var list: (String) -> [String]?

    public init(read: @escaping (String) -> Result<[UInt8], CredentialFileError>, mode: @escaping (String) -> UInt32?,
                list: @escaping (String) -> [String]?) {
        self.read = read
        self.mode = mode
        self.list = list
    }
}

public struct CredentialFileError: Error {
    public let text: String
    public init(_ text: String) { self.text = text }
}

/// The files of one credential (the UCI options of `auth 'pubkey'` tunnels, as paths) and
/// the tunnels that name them: tunnels with the same files share one loaded credential.
public struct CredentialSpec: Equatable, Sendable {
    public var tunnels: [String]
    public var certificate: String?
    public var privateKey: String?
    public var caCertificates: [String]
    public var crls: [String]
    public var remoteCertificate: String?

    public init(tunnel: String, certificate: String?, privateKey: String?, caCertificates: [String], crls: [String],
                remoteCertificate: String? = nil) {
        self.tunnels = [tunnel]
        self.certificate = certificate
        self.privateKey = privateKey
        self.caCertificates = caCertificates
        self.crls = crls
        self.remoteCertificate = remoteCertificate
    }

    /// Whether `other` names the same files.
    public func sameFiles(_ other: CredentialSpec) -> Bool {
        certificate == other.certificate && privateKey == other.privateKey && caCertificates == other.caCertificates
            && crls == other.crls && remoteCertificate == other.remoteCertificate
    }
}

/// A problem with one option of a spec: the option's key and what is wrong.
public struct CredentialProblem: Equatable, Sendable, CustomStringConvertible {
    public let option: String
    public let message: String
    public init(option: String, message: String) {
        self.option = option
        self.message = message
    }
    public var description: String { "\(option): \(message)" }
}

/// cpsd's state: for each `auth 'pubkey'` tunnel, its private key, its certificate chain,
/// its trust anchors and CRLs. It signs and verifies on request; the key never leaves it.
public final class CredentialStore: CertificateAuthority {
    final class Profile {
        let spec: CredentialSpec
        let key: OpaquePointer
        let chain: [Certificate]
        let authorities: [Certificate]
        let crls: [OpaquePointer]
        let pinned: Certificate?
        init(spec: CredentialSpec, key: OpaquePointer, chain: [Certificate], authorities: [Certificate], crls: [OpaquePointer], pinned: Certificate?) {
            self.spec = spec
            self.key = key
            self.chain = chain
            self.authorities = authorities
            self.crls = crls
            self.pinned = pinned
        }
        deinit {
            EVP_PKEY_free(key)
            for c in crls { X509_CRL_free(c) }
        }
    }

    let files: FileAccess
    var profiles: [Profile] = []
    /// Seconds since 1970 to validate at; nil: now.
    public var time: Int64? = nil

    public init(files: FileAccess) { self.files = files }

    /// Loads every spec, replacing what was loaded only when all of them load: a broken
    /// configuration leaves the store as it was. Returns, per spec, its public part or
    /// its problems.
    public func load(_ specs: [CredentialSpec]) -> [Result<PublicKeyCredential, CredentialErrors>] {
        var loaded: [Profile] = []
        var results: [Result<PublicKeyCredential, CredentialErrors>] = []
        for (index, spec) in specs.enumerated() {
            switch loadProfile(spec) {
            case let .success(profile):
                loaded.append(profile)
                results.append(.success(credential(profile, id: index)))
            case let .failure(problems):
                results.append(.failure(problems))
            }
        }
        if loaded.count == specs.count { profiles = loaded }
        return results
    }

    /// The public part of loaded credential `id`; nil when there is none.
    public func credential(at id: Int) -> PublicKeyCredential? {
        guard id >= 0, id < profiles.count else { return nil }
        return credential(profiles[id], id: id)
    }

    func credential(_ p: Profile, id: Int) -> PublicKeyCredential {
        PublicKeyCredential(id: id, chain: p.chain.map { $0.der }, subject: p.chain[0].subject,
                            alternativeNames: p.chain[0].alternativeNames, authorities: p.authorities.map { $0.publicKeyHash },
                            keyType: p.chain[0].keyType.description, ikev1Method: IKEv1Signature.method(p.chain[0].keyType))
    }

    func loadProfile(_ spec: CredentialSpec) -> Result<Profile, CredentialErrors> {
        var problems: [CredentialProblem] = []
        func problem(_ option: String, _ message: String) { problems.append(CredentialProblem(option: option, message: message)) }

        var authorities: [Certificate] = []
        if spec.caCertificates.isEmpty { problem("auth", "auth 'pubkey' needs ca_certificate: the trust anchors that peers' certificates chain to") }
        for path in spec.caCertificates {
            var paths = [path]
            if let names = files.list(path) {
                paths = names.sorted().map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }
                if paths.isEmpty { problem("ca_certificate", "'\(path)' is an empty directory") }
            }
            for p in paths {
                switch readCertificates(p) {
                case let .success(list): authorities += list
                case let .failure(e): problem("ca_certificate", e.text)
                }
            }
        }
        var crls: [OpaquePointer] = []
        for path in spec.crls {
            switch files.read(path) {
            case let .failure(e): problem("crl", "'\(path)': \(e.text)")
            case let .success(bytes):
                let list = CRL.parse(bytes)
                if list.isEmpty { problem("crl", "'\(path)' holds no CRL in PEM or DER") }
                crls += list
            }
        }
        var pinned: Certificate? = nil
        if let path = spec.remoteCertificate {
            switch readCertificates(path) {
            case let .success(list): pinned = list.first
            case let .failure(e): problem("remote_certificate", e.text)
            }
        }
        var chain: [Certificate] = []
        if let path = spec.certificate {
            switch readCertificates(path) {
            case let .success(list): chain = list
            case let .failure(e): problem("certificate", e.text)
            }
        } else {
            problem("auth", "auth 'pubkey' needs certificate: our own certificate")
        }
        var key: OpaquePointer? = nil
        if let path = spec.privateKey {
            switch readKey(path) {
            case let .success(k): key = k
            case let .failure(e): problem("private_key", e.text)
            }
        } else {
            problem("auth", "auth 'pubkey' needs private_key: the key of our certificate")
        }
        if let leaf = chain.first {
            if let key, X509_check_private_key(leaf.x509, key) != 1 {
                ERR_clear_error()
                problem("private_key", "'\(spec.privateKey ?? "")' is not the key of certificate '\(spec.certificate ?? "")'")
            }
            if case .unsupported = leaf.keyType {
                problem("certificate", "'\(spec.certificate ?? "")': its key is neither RSA, ECDSA P-256/P-384/P-521 nor Ed25519")
            }
            if !authorities.isEmpty {
                // Our own certificate must chain to our anchors: the peer will check it
                // against the same CA, and an expired one is better found now.
                let verdict = TrustCheck.verify(leaf: leaf, untrusted: Array(chain.dropFirst()), anchors: authorities, crls: crls, at: time)
                switch verdict {
                case let .success(path):
                    // Send the chain up to (not including) the root.
                    chain = [leaf] + path.dropFirst().filter { !$0.isSelfSigned }
                case let .failure(failure):
                    problem("certificate", "'\(spec.certificate ?? "")' (\(leaf.subject)): \(failure.reason.text) (\(failure.text))")
                }
            }
        }
        guard problems.isEmpty, let key, !chain.isEmpty else {
            if let key { EVP_PKEY_free(key) }
            for c in crls { X509_CRL_free(c) }
            return .failure(CredentialErrors(problems))
        }
        return .success(Profile(spec: spec, key: key, chain: chain, authorities: authorities, crls: crls, pinned: pinned))
    }

    func readCertificates(_ path: String) -> Result<[Certificate], CredentialFileError> {
        switch files.read(path) {
        case let .failure(e): return .failure(CredentialFileError("'\(path)': \(e.text)"))
        case let .success(bytes):
            let list = Certificate.parse(bytes)
            return list.isEmpty ? .failure(CredentialFileError("'\(path)' holds no X.509 certificate in PEM or DER")) : .success(list)
        }
    }

    func readKey(_ path: String) -> Result<OpaquePointer, CredentialFileError> {
        if let mode = files.mode(path), mode & 0o077 != 0 {
            return .failure(CredentialFileError("'\(path)' is readable by others (mode \(String(mode, radix: 8))); chmod 600 it"))
        }
        switch files.read(path) {
        case let .failure(e): return .failure(CredentialFileError("'\(path)': \(e.text)"))
        case let .success(bytes):
            var key: OpaquePointer? = nil
            if PEM.isPEM(bytes) {
                // No passphrase: OpenSSL's default would prompt on the terminal (`ike check`)
                // or read /dev/null (cpsd). An encrypted key is refused with its reason.
                PEM.withBIO(bytes) { key = PEM_read_bio_PrivateKey($0, nil, { _, _, _, _ in 0 }, nil) }
            } else {
                bytes.withUnsafeBufferPointer { b in
                    var p: UnsafePointer<UInt8>? = b.baseAddress
                    key = d2i_AutoPrivateKey(nil, &p, b.count)
                }
            }
            ERR_clear_error()
            guard let key else { return .failure(CredentialFileError("'\(path)' holds no unencrypted private key in PEM or DER (an encrypted key needs a passphrase, which ike has no place for: decrypt it with openssl pkey)")) }
            return .success(key)
        }
    }

    public var count: Int { profiles.count }

    /// What `ike cmd=list certs` shows: every certificate loaded, with the tunnels using it.
    public func listing() -> [CertificateInfo] {
        var infos: [CertificateInfo] = []
        func add(_ c: Certificate, _ role: String, _ tunnel: String) {
            let serial = c.serial, issuer = c.issuer
            if let i = infos.firstIndex(where: { $0.serial == serial && $0.issuer == issuer }) {
                if !infos[i].tunnels.contains(tunnel) { infos[i].tunnels.append(tunnel) }
                return
            }
            infos.append(CertificateInfo(role: role, subject: c.subject, issuer: issuer, serial: serial, notBefore: c.notBefore,
                                         notAfter: c.notAfter, keyType: c.keyType.description, alternativeNames: c.alternativeNames,
                                         tunnels: [tunnel]))
        }
        for p in profiles {
            for tunnel in p.spec.tunnels {
                for (i, c) in p.chain.enumerated() { add(c, i == 0 ? "local" : "intermediate", tunnel) }
                for c in p.authorities { add(c, "ca", tunnel) }
                if let pinned = p.pinned { add(pinned, "remote", tunnel) }
            }
        }
        return infos
    }

    // MARK: CertificateAuthority

    public func sign(credential: Int, octets: [UInt8], peerHashes: [UInt16]) -> Result<SignedAuthentication, CertificateFailure> {
        guard credential >= 0, credential < profiles.count else { return .failure(CertificateFailure(.unavailable, "no such credential")) }
        let p = profiles[credential]
        let keyType = p.chain[0].keyType
        guard let (method, scheme) = Signature.choose(keyType, peerHashes: peerHashes) else {
            return .failure(CertificateFailure(.unsupportedAlgorithm, "\(keyType) needs RFC 7427 with the Identity hash, which the peer does not announce",
                                               certificate: p.chain[0].subject.description))
        }
        guard let signature = Signature.sign(p.key, scheme, octets),
              let data = Signature.authData(method: method, scheme: scheme, signature: signature, key: keyType) else {
            return .failure(CertificateFailure(.unsupportedAlgorithm, "signing with \(scheme) failed", certificate: p.chain[0].subject.description))
        }
        return .success(SignedAuthentication(method: method, data: data, scheme: scheme.description))
    }

    public func verify(credential: Int, certificates: [[UInt8]], identity: Identity, octets: [UInt8],
                       method: UInt8, data: [UInt8]) -> Result<String, CertificateFailure> {
        let leaf: Certificate
        switch peerCertificate(credential, certificates, identity) {
        case let .success(c): leaf = c
        case let .failure(f): return .failure(f)
        }
        let name = leaf.subject.description, keyType = leaf.keyType
        guard let (scheme, salt, signature) = Signature.parse(method: method, data: data, key: keyType) else {
            return .failure(CertificateFailure(.unsupportedAlgorithm, "AUTH method \(method) with a \(keyType) key", certificate: name))
        }
        guard let key = X509_get0_pubkey(leaf.x509), Signature.verify(key, scheme, pssSalt: salt, octets, signature) else {
            return .failure(CertificateFailure(.badSignature, "the AUTH signature (\(scheme)) does not verify", certificate: name))
        }
        return .success(name)
    }

    public func signHash(credential: Int, hash: [UInt8]) -> Result<SignedAuthentication, CertificateFailure> {
        guard credential >= 0, credential < profiles.count else { return .failure(CertificateFailure(.unavailable, "no such credential")) }
        let p = profiles[credential]
        let keyType = p.chain[0].keyType
        guard let method = IKEv1Signature.method(keyType) else {
            return .failure(CertificateFailure(.unsupportedAlgorithm, "IKEv1 signs with RSA or ECDSA keys, not \(keyType)",
                                               certificate: p.chain[0].subject.description))
        }
        guard let signature = IKEv1Signature.sign(p.key, keyType, hash) else {
            return .failure(CertificateFailure(.unsupportedAlgorithm, "signing with \(keyType) failed", certificate: p.chain[0].subject.description))
        }
        return .success(SignedAuthentication(method: method, data: signature, scheme: "\(keyType) over HASH"))
    }

    public func verifyHash(credential: Int, certificates: [[UInt8]], identity: Identity, hash: [UInt8], method: UInt8,
                           signature: [UInt8]) -> Result<String, CertificateFailure> {
        let leaf: Certificate
        switch peerCertificate(credential, certificates, identity) {
        case let .success(c): leaf = c
        case let .failure(f): return .failure(f)
        }
        let name = leaf.subject.description, keyType = leaf.keyType
        guard IKEv1Signature.method(keyType) == method else {
            return .failure(CertificateFailure(.unsupportedAlgorithm, "authentication method \(method) with a \(keyType) key", certificate: name))
        }
        guard let key = X509_get0_pubkey(leaf.x509), IKEv1Signature.verify(key, keyType, method: method, hash, signature) else {
            return .failure(CertificateFailure(.badSignature, "the signature (\(keyType)) does not verify", certificate: name))
        }
        return .success(name)
    }

    /// The peer's end-entity certificate when it chains to the credential's anchors, is
    /// not revoked, is the pinned one if there is one, and proves `identity`.
    func peerCertificate(_ credential: Int, _ certificates: [[UInt8]], _ identity: Identity) -> Result<Certificate, CertificateFailure> {
        guard credential >= 0, credential < profiles.count else { return .failure(CertificateFailure(.unavailable, "no such credential")) }
        let p = profiles[credential]
        guard let first = certificates.first else {
            return .failure(CertificateFailure(.noCertificate, "the peer sent no certificate"))
        }
        guard let leaf = Certificate(der: first) else {
            return .failure(CertificateFailure(.malformed, "the peer's certificate does not parse"))
        }
        let name = leaf.subject.description
        var untrusted: [Certificate] = []
        for der in certificates.dropFirst() {
            guard let c = Certificate(der: der) else { return .failure(CertificateFailure(.malformed, "an intermediate certificate does not parse", certificate: name)) }
            untrusted.append(c)
        }
        if let pinned = p.pinned, pinned.der != leaf.der {
            return .failure(CertificateFailure(.identityMismatch, "not the pinned remote_certificate", certificate: name))
        }
        if case let .failure(failure) = TrustCheck.verify(leaf: leaf, untrusted: untrusted, anchors: p.authorities, crls: p.crls, at: time) {
            return .failure(CertificateFailure(failure.reason, failure.text, certificate: name))
        }
        guard leaf.proves(identity) else {
            return .failure(CertificateFailure(.identityMismatch, "the certificate does not name \(identity) (subject or subjectAltName)", certificate: name))
        }
        return .success(leaf)
    }
}

public struct CredentialErrors: Error, Sendable {
    public let problems: [CredentialProblem]
    public init(_ problems: [CredentialProblem]) { self.problems = problems }
}

/// For the fuzz target: how many CRLs a file holds (parsed and freed).
@_spi(Fuzzing) public enum CertificateRevocationLists {
    public static func count(_ bytes: [UInt8]) -> Int {
        let list = CRL.parse(bytes)
        for c in list { X509_CRL_free(c) }
        return list.count
    }
}

/// Certificate revocation lists.
enum CRL {
    static func parse(_ bytes: [UInt8]) -> [OpaquePointer] {
        var found: [OpaquePointer] = []
        if PEM.isPEM(bytes) {
            PEM.withBIO(bytes) { bio in
                while let c = PEM_read_bio_X509_CRL(bio, nil, nil, nil) { found.append(c) }
            }
        } else {
            bytes.withUnsafeBufferPointer { b in
                var p: UnsafePointer<UInt8>? = b.baseAddress
                if let c = d2i_X509_CRL(nil, &p, b.count) { found.append(c) }
            }
        }
        ERR_clear_error()
        return found
    }
}

/// Chain validation with OpenSSL's verifier: anchors, intermediates, CRLs, a time.
enum TrustCheck {
    struct Failure: Error {
        let reason: CertificateFailure.Reason
        let text: String
    }

    /// The validated path, leaf first.
    static func verify(leaf: Certificate, untrusted: [Certificate], anchors: [Certificate], crls: [OpaquePointer], at time: Int64?) -> Result<[Certificate], Failure> {
        guard let store = X509_STORE_new() else { return .failure(Failure(reason: .unavailable, text: "out of memory")) }
        defer { X509_STORE_free(store) }
        for a in anchors { X509_STORE_add_cert(store, a.x509) }
        for c in crls { X509_STORE_add_crl(store, c) }
        ERR_clear_error()
        // The end entity's revocation is checked when a CRL of its issuer is loaded; a CA
        // without a CRL configured is not held against its certificates.
        // Every certificate of ca_certificate is a trust anchor, as are the CA certificates
        // strongSwan is given: a chain may end at a configured intermediate rather than
        // verify the root's signature on it at every handshake (a P-384 root costs about
        // 1 ms a verification with this libcrypto).
        var flags: UInt = UInt(ike_x509_v_flag_partial_chain())
        let issuer = X509_get_issuer_name(leaf.x509)
        if crls.contains(where: { X509_NAME_cmp(X509_CRL_get_issuer($0), issuer) == 0 }) { flags |= UInt(ike_x509_v_flag_crl_check()) }
        guard let stack = OPENSSL_sk_new_null() else { return .failure(Failure(reason: .unavailable, text: "out of memory")) }
        defer { OPENSSL_sk_free(stack) }
        for c in untrusted { OPENSSL_sk_push(stack, UnsafeRawPointer(c.x509)) }
        guard let ctx = X509_STORE_CTX_new() else { return .failure(Failure(reason: .unavailable, text: "out of memory")) }
        defer { X509_STORE_CTX_free(ctx) }
        guard X509_STORE_CTX_init(ctx, store, leaf.x509, stack) == 1 else { return .failure(Failure(reason: .unavailable, text: "verifier setup")) }
        X509_STORE_CTX_set_flags(ctx, flags)
        if let time { X509_STORE_CTX_set_time(ctx, 0, time_t(time)) }
        if X509_verify_cert(ctx) == 1 {
            var path: [Certificate] = []
            if let chain = X509_STORE_CTX_get1_chain(ctx) {
                for i in 0..<OPENSSL_sk_num(chain) {
                    if let x = OPENSSL_sk_value(chain, i) { path.append(Certificate(owning: OpaquePointer(x))) }
                }
                // get1: the certificates are ours to free (with the Certificates), the stack too.
                OPENSSL_sk_free(chain)
            }
            ERR_clear_error()
            return .success(path.isEmpty ? [leaf] : path)
        }
        let error = X509_STORE_CTX_get_error(ctx)
        ERR_clear_error()
        let text = X509_verify_cert_error_string(Int(error)).map { String(cString: $0) } ?? "error \(error)"
        let reason: CertificateFailure.Reason
        switch error {
        case X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_CRL_HAS_EXPIRED: reason = .expired
        case X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CRL_NOT_YET_VALID: reason = .notYetValid
        case X509_V_ERR_CERT_REVOKED: reason = .revoked
        case X509_V_ERR_CERT_SIGNATURE_FAILURE, X509_V_ERR_CRL_SIGNATURE_FAILURE: reason = .badSignature
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
             X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: reason = .unknownCA
        default: reason = .invalid
        }
        return .failure(Failure(reason: reason, text: text))
    }
}
