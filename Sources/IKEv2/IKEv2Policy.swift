import IKECrypto
import IKEWire

/// What the engine may negotiate for one tunnel: the Tunnel Manager's configuration in
/// the engine's terms.
public struct IKEv2Policy {
    /// The tunnel's name, reported back for a responder.
    public var name: String
    public var localAddress: IPAddress?
    /// nil: a responder template for any peer.
    public var remoteAddress: IPAddress?
    /// nil: the local address.
    public var localID: Identity?
    public var remoteID: Identity
    public var psk: SecretBytes
    public var ikeProposals: [AlgorithmSet]
    public var espProposals: [AlgorithmSet]
    /// Our side's and the peer's protected networks; empty: the endpoints themselves.
    public var localSelectors: [TrafficSelector]
    public var remoteSelectors: [TrafficSelector]
    public var transportMode: Bool
    public var ikeLifetimeSeconds: UInt32
    public var childLifetimeSeconds: UInt32
    /// Seconds of silence before a liveness check (RFC 7296 §2.4); 0: none.
    public var dpdDelaySeconds: UInt32 = 30

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

    public init(ciphers: [Cipher], integrity: [IntegrityAlgorithm], prfs: [PseudorandomFunction], groups: [DHGroup]) {
        self.ciphers = ciphers
        self.integrity = integrity
        self.prfs = prfs
        self.groups = groups
    }
}

/// The algorithms chosen for an SA: one of each type.
public struct ChosenAlgorithms: Equatable, Sendable, CustomStringConvertible {
    public var cipher: Cipher
    public var integrity: IntegrityAlgorithm?
    public var prf: PseudorandomFunction?
    public var group: DHGroup?

    /// `ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519`.
    public var description: String {
        var parts = [cipher.description]
        if let integrity { parts.append(integrity.description) }
        if let prf { parts.append(prf.description) }
        if let group { parts.append(group.description) }
        return parts.joined(separator: "/")
    }
}
