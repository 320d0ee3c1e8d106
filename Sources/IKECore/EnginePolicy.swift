import IKECrypto
import IKEWire

/// What an engine may negotiate for one tunnel: the Tunnel Manager's configuration in
/// the engines' terms (IKEv1 and IKEv2 alike).
public struct EnginePolicy {
    /// The tunnel's name, reported back for a responder.
    public var name: String
    public var localAddress: IPAddress?
    /// nil: a responder template for any peer.
    public var remoteAddress: IPAddress?
    /// nil: the local address.
    public var localID: Identity?
    public var remoteID: Identity
    /// The pre-shared key. Engines refuse to authenticate with an empty one: a missing
    /// credential must never become a known key.
    public var psk: SecretBytes
    /// `auth 'pubkey'`: the certificate credential cpsd holds the key of. When set, both
    /// sides sign (IKEv2 only); `psk` is empty and never used.
    public var certificate: PublicKeyCredential? = nil
    public var ikeProposals: [AlgorithmSet]
    public var espProposals: [AlgorithmSet]
    /// Our side's and the peer's protected networks; empty: the endpoints themselves.
    public var localSelectors: [TrafficSelector]
    public var remoteSelectors: [TrafficSelector]
    public var transportMode: Bool
    public var ikeLifetimeSeconds: UInt32
    public var childLifetimeSeconds: UInt32
    /// Seconds of silence before a liveness check (RFC 7296 §2.4, RFC 3706); 0: none.
    public var dpdDelaySeconds: UInt32 = 30
    /// IKEv1: Aggressive Mode instead of Main Mode for phase 1 (RFC 2409 §5).
    public var aggressive = false

    /// Whether this policy authenticates with a pre-shared key, and has one.
    public var hasPSK: Bool { certificate == nil && psk.count > 0 }

    /// Whether this policy holds a credential to authenticate with at all.
    public var hasCredential: Bool { hasPSK || certificate != nil }

    public init(name: String, localAddress: IPAddress?, remoteAddress: IPAddress?, localID: Identity?, remoteID: Identity,
                psk: SecretBytes, ikeProposals: [AlgorithmSet], espProposals: [AlgorithmSet],
                localSelectors: [TrafficSelector], remoteSelectors: [TrafficSelector], transportMode: Bool,
                ikeLifetimeSeconds: UInt32, childLifetimeSeconds: UInt32) {
        self.name = name
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        self.localID = localID
        self.remoteID = remoteID
        self.psk = psk
        self.ikeProposals = ikeProposals
        self.espProposals = espProposals
        self.localSelectors = localSelectors
        self.remoteSelectors = remoteSelectors
        self.transportMode = transportMode
        self.ikeLifetimeSeconds = ikeLifetimeSeconds
        self.childLifetimeSeconds = childLifetimeSeconds
    }
}

/// One proposal: the acceptable algorithms of each transform type.
public struct AlgorithmSet: Equatable, Sendable {
    public var ciphers: [Cipher]
    public var integrity: [IntegrityAlgorithm]
    public var prfs: [PseudorandomFunction]
    public var groups: [DHGroup]
    /// ESP sequence numbers, preferred first: true for extended (64-bit). Empty: 32-bit only.
    public var esn: [Bool]

    public init(ciphers: [Cipher], integrity: [IntegrityAlgorithm], prfs: [PseudorandomFunction], groups: [DHGroup],
                esn: [Bool] = []) {
        self.ciphers = ciphers
        self.integrity = integrity
        self.prfs = prfs
        self.groups = groups
        self.esn = esn
    }

    /// The ESN transform IDs offered (RFC 7296 §3.3.2): 1 extended, 0 none.
    public var esnIDs: [UInt16] { esn.isEmpty ? [0] : esn.map { $0 ? 1 : 0 } }
}

/// The algorithms chosen for an SA: one of each type.
public struct ChosenAlgorithms: Equatable, Sendable, CustomStringConvertible {
    public var cipher: Cipher
    public var integrity: IntegrityAlgorithm?
    public var prf: PseudorandomFunction?
    public var group: DHGroup?
    /// ESP with 64-bit extended sequence numbers (RFC 4303 §2.2.1).
    public var extendedSequenceNumbers = false

    public init(cipher: Cipher, integrity: IntegrityAlgorithm?, prf: PseudorandomFunction?, group: DHGroup?,
                extendedSequenceNumbers: Bool = false) {
        self.cipher = cipher
        self.integrity = integrity
        self.prf = prf
        self.group = group
        self.extendedSequenceNumbers = extendedSequenceNumbers
    }

    /// `ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519`.
    public var description: String {
        var parts = [cipher.description]
        if let integrity { parts.append(integrity.description) }
        if let prf { parts.append(prf.description) }
        if let group { parts.append(group.description) }
        if extendedSequenceNumbers { parts.append("EXTENDED_SEQUENCE_NUMBERS") }
        return parts.joined(separator: "/")
    }
}
