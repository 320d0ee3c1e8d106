import IKEWire

/// The certificate proxy (cpsd) as the engines see it: it signs with a tunnel's private
/// key and verifies a peer's chain and AUTH signature, so the engines never hold a
/// private key or parse a certificate. The daemon's implementation asks the cpsd
/// process; tests use the store in process.
public protocol CertificateAuthority: AnyObject {
    /// Signs `octets` (RFC 7296 §2.15) with credential `credential`'s key, in the form the
    /// peer's SIGNATURE_HASH_ALGORITHMS allow (empty: it sent none).
    func sign(credential: Int, octets: [UInt8], peerHashes: [UInt16]) -> Result<SignedAuthentication, CertificateFailure>
    /// Verifies the peer's certificates (end entity first) against the credential's
    /// trust anchors and CRLs, that the end entity proves `identity`, and that its key
    /// made the AUTH `data` over `octets`. Returns the certificate's subject.
    func verify(credential: Int, certificates: [[UInt8]], identity: Identity, octets: [UInt8],
                method: UInt8, data: [UInt8]) -> Result<String, CertificateFailure>
    /// IKEv1 (RFC 2409 §5.1, RFC 4754): signs HASH_I or HASH_R itself with credential
    /// `credential`'s key; the method is the phase 1 authentication method the key signs
    /// with (3 RSA, 9-11 ECDSA).
    func signHash(credential: Int, hash: [UInt8]) -> Result<SignedAuthentication, CertificateFailure>
    /// IKEv1: `verify`'s checks of the chain and identity, and that the end entity's key
    /// made `signature` over `hash` with phase 1 authentication method `method`.
    func verifyHash(credential: Int, certificates: [[UInt8]], identity: Identity, hash: [UInt8], method: UInt8,
                    signature: [UInt8]) -> Result<String, CertificateFailure>
}

/// An AUTH payload's method and data.
public struct SignedAuthentication: Equatable, Sendable {
    public var method: UInt8
    public var data: [UInt8]
    /// The signature scheme, for the log ("ECDSA with SHA256").
    public var scheme: String

    public init(method: UInt8, data: [UInt8], scheme: String) {
        self.method = method
        self.data = data
        self.scheme = scheme
    }
}

/// Why a certificate or a signature was refused: each is its own `event` line.
public struct CertificateFailure: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Reason: UInt8, Sendable {
        case expired = 1, notYetValid, unknownCA, revoked, identityMismatch, badSignature, unsupportedAlgorithm
        case noCertificate, malformed, invalid, unavailable

        public var text: String {
            switch self {
            case .expired: return "expired"
            case .notYetValid: return "not yet valid"
            case .unknownCA: return "unknown CA"
            case .revoked: return "revoked"
            case .identityMismatch: return "identity mismatch"
            case .badSignature: return "bad signature"
            case .unsupportedAlgorithm: return "unsupported algorithm"
            case .noCertificate: return "no certificate"
            case .malformed: return "malformed"
            case .invalid: return "not valid"
            case .unavailable: return "cpsd unavailable"
            }
        }
    }

    public var reason: Reason
    public var detail: String
    /// The certificate's subject, when one was read.
    public var certificate: String

    public init(_ reason: Reason, _ detail: String, certificate: String = "") {
        self.reason = reason
        self.detail = detail
        self.certificate = certificate
    }

    /// `certificate "C=CH, O=Lab, CN=gw" refused: expired (certificate has expired)`.
    public var description: String {
        let name = certificate.isEmpty ? "certificate" : "certificate \"\(certificate)\""
        return "\(name) refused: \(reason.text) (\(detail))"
    }
}

/// When our certificate goes into IKE_AUTH (strongSwan's `send_cert`).
public enum SendCertificate: UInt8, Sendable {
    case always, ifAsked, never
}

/// A tunnel's public-key credential as the engines use it: the number cpsd knows it by
/// and what may be sent in the clear of the key.
public struct PublicKeyCredential: Equatable, Sendable {
    public var id: Int
    /// Our certificate and its intermediates, DER, end entity first: the CERT payloads.
    public var chain: [[UInt8]]
    /// The certificate's subject: the default local identity.
    public var subject: Identity
    public var alternativeNames: [Identity]
    /// SHA-1 of each trust anchor's public key: the CERTREQ payload.
    public var authorities: [[UInt8]]
    public var keyType: String
    /// The IKEv1 phase 1 authentication method the key signs with (3 RSA, 9-11 ECDSA);
    /// nil: a key IKEv1 cannot use (Ed25519).
    public var ikev1Method: UInt8?
    public var send: SendCertificate = .always

    public init(id: Int, chain: [[UInt8]], subject: Identity, alternativeNames: [Identity], authorities: [[UInt8]], keyType: String,
                ikev1Method: UInt8? = nil) {
        self.id = id
        self.chain = chain
        self.subject = subject
        self.alternativeNames = alternativeNames
        self.authorities = authorities
        self.keyType = keyType
        self.ikev1Method = ikev1Method
    }

    /// Whether our certificate names `identity` (a configured local_id must be in it).
    public func names(_ identity: Identity) -> Bool {
        if case .distinguishedName = identity { return identity.accepts(subject) }
        return alternativeNames.contains(identity)
    }
}
