import IKECrypto
import IKEWire

/// What an engine may negotiate for one tunnel: the Tunnel Manager's configuration in
/// the engines' terms (IKEv1 and IKEv2 alike).
///
/// Every SA keeps its tunnel's policy, so copies share one set of fields (copy on
/// write): a hub's 20,000 SAs from one template hold a reference each, not 250 bytes.
public struct EnginePolicy {
    private final class Fields {
        var name: String
        var localAddress: IPAddress?
        var remoteAddress: IPAddress?
        var localID: Identity?
        var remoteID: Identity
        var psk: SecretBytes
        var certificate: PublicKeyCredential? = nil
        var ikeProposals: [AlgorithmSet]
        var espProposals: [AlgorithmSet]
        var localSelectors: [TrafficSelector]
        var remoteSelectors: [TrafficSelector]
        var transportMode: Bool
        var ikeLifetimeSeconds: UInt32
        var childLifetimeSeconds: UInt32
        var dpdDelaySeconds: UInt32 = 30
        var aggressive: Bool = false

        init(name: String, localAddress: IPAddress?, remoteAddress: IPAddress?, localID: Identity?, remoteID: Identity,
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

        func copy() -> Fields {
            let c = Fields(name: name, localAddress: localAddress, remoteAddress: remoteAddress, localID: localID, remoteID: remoteID,
                           psk: psk, ikeProposals: ikeProposals, espProposals: espProposals, localSelectors: localSelectors,
                           remoteSelectors: remoteSelectors, transportMode: transportMode, ikeLifetimeSeconds: ikeLifetimeSeconds,
                           childLifetimeSeconds: childLifetimeSeconds)
            c.certificate = certificate
            c.dpdDelaySeconds = dpdDelaySeconds
            c.aggressive = aggressive
            return c
        }
    }

    private var fields: Fields

    private mutating func unique() -> Fields {
        if !isKnownUniquelyReferenced(&fields) { fields = fields.copy() }
        return fields
    }

    /// The tunnel's name, reported back for a responder.
    public var name: String {
        get { fields.name }
        set { unique().name = newValue }
    }
    public var localAddress: IPAddress? {
        get { fields.localAddress }
        set { unique().localAddress = newValue }
    }
    /// nil: a responder template for any peer.
    public var remoteAddress: IPAddress? {
        get { fields.remoteAddress }
        set { unique().remoteAddress = newValue }
    }
    /// nil: the local address.
    public var localID: Identity? {
        get { fields.localID }
        set { unique().localID = newValue }
    }
    public var remoteID: Identity {
        get { fields.remoteID }
        set { unique().remoteID = newValue }
    }
    /// The pre-shared key. Engines refuse to authenticate with an empty one: a missing
    /// credential must never become a known key.
    public var psk: SecretBytes {
        get { fields.psk }
        set { unique().psk = newValue }
    }
    /// `auth 'pubkey'`: the certificate credential cpsd holds the key of. When set, both
    /// sides sign (IKEv2 only); `psk` is empty and never used.
    public var certificate: PublicKeyCredential? {
        get { fields.certificate }
        set { unique().certificate = newValue }
    }
    public var ikeProposals: [AlgorithmSet] {
        get { fields.ikeProposals }
        set { unique().ikeProposals = newValue }
    }
    public var espProposals: [AlgorithmSet] {
        get { fields.espProposals }
        set { unique().espProposals = newValue }
    }
    /// Our side's and the peer's protected networks; empty: the endpoints themselves.
    public var localSelectors: [TrafficSelector] {
        get { fields.localSelectors }
        set { unique().localSelectors = newValue }
    }
    public var remoteSelectors: [TrafficSelector] {
        get { fields.remoteSelectors }
        set { unique().remoteSelectors = newValue }
    }
    public var transportMode: Bool {
        get { fields.transportMode }
        set { unique().transportMode = newValue }
    }
    public var ikeLifetimeSeconds: UInt32 {
        get { fields.ikeLifetimeSeconds }
        set { unique().ikeLifetimeSeconds = newValue }
    }
    public var childLifetimeSeconds: UInt32 {
        get { fields.childLifetimeSeconds }
        set { unique().childLifetimeSeconds = newValue }
    }
    /// Seconds of silence before a liveness check (RFC 7296 §2.4, RFC 3706); 0: none.
    public var dpdDelaySeconds: UInt32 {
        get { fields.dpdDelaySeconds }
        set { unique().dpdDelaySeconds = newValue }
    }
    /// IKEv1: Aggressive Mode instead of Main Mode for phase 1 (RFC 2409 §5).
    public var aggressive: Bool {
        get { fields.aggressive }
        set { unique().aggressive = newValue }
    }

    /// Whether this policy authenticates with a pre-shared key, and has one.
    public var hasPSK: Bool { certificate == nil && psk.count > 0 }

    /// Whether this policy holds a credential to authenticate with at all.
    public var hasCredential: Bool { hasPSK || certificate != nil }

    public init(name: String, localAddress: IPAddress?, remoteAddress: IPAddress?, localID: Identity?, remoteID: Identity,
                psk: SecretBytes, ikeProposals: [AlgorithmSet], espProposals: [AlgorithmSet],
                localSelectors: [TrafficSelector], remoteSelectors: [TrafficSelector], transportMode: Bool,
                ikeLifetimeSeconds: UInt32, childLifetimeSeconds: UInt32) {
        fields = Fields(name: name, localAddress: localAddress, remoteAddress: remoteAddress, localID: localID, remoteID: remoteID,
                        psk: psk, ikeProposals: ikeProposals, espProposals: espProposals, localSelectors: localSelectors,
                        remoteSelectors: remoteSelectors, transportMode: transportMode, ikeLifetimeSeconds: ikeLifetimeSeconds,
                        childLifetimeSeconds: childLifetimeSeconds)
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
