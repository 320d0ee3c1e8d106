import IKECore
import IKECrypto
import IKEWire
import Kernel
import UCI

/// A tunnel's number in the table: unique while the daemon runs, never reused.
public typealias TunnelNumber = UInt32

/// An IKE engine as the Tunnel Manager sees it (isakmpd for IKEv1, ikev2d for IKEv2).
/// Requests are the seed's steps 2 and 4; whatever the engine knows at once it returns,
/// the rest it reports later through `TunnelManager.handle(_:)`.
public protocol KeyingEngine: AnyObject {
    /// The tunnels the engine may negotiate, as responder too; called at start and on reload.
    func configure(_ configuration: Configuration)
    /// Step 2: a connection request for key management (phase 1).
    func requestPhase1(_ request: PhaseRequest) -> [EngineReport]
    /// Step 4: a connection request for a data management tunnel (phase 2).
    func requestPhase2(_ request: PhaseRequest) -> [EngineReport]
    /// Rekeys the tunnel's phase 1 or phase 2 SAs (`ike cmd=rekey`); the result comes
    /// later as `phase1Rekeyed` / `phase2Rekeyed`.
    func rekey(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport]
    /// Deletes the tunnel's SAs of `phase` (2: the CHILD_SA / IPsec SAs; 1: everything),
    /// informing the peer.
    func delete(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport]
    /// The tunnel's outer addresses changed (a kernel migrate): its phase 1 SA talks to
    /// the peer between the new ones from now on.
    func migrate(_ tunnel: TunnelNumber, local: IPAddress, remote: IPAddress) -> [EngineReport]
}

public enum Phase: Int, CustomStringConvertible, Sendable {
    case one = 1, two = 2
    public var description: String { rawValue.description }
}

/// What the Tunnel Manager asks an engine to negotiate.
public struct PhaseRequest {
    public let tunnel: TunnelNumber
    public let config: TunnelConfig
    /// The peer to contact (the tunnel's remote_address).
    public let remote: IPAddress
    /// A phase 1 request: phase 2 follows at once (false: `activate phase=1`, phase 2
    /// waits for its own request).
    public var wantsPhase2 = true

    public init(tunnel: TunnelNumber, config: TunnelConfig, remote: IPAddress, wantsPhase2: Bool = true) {
        self.tunnel = tunnel
        self.config = config
        self.remote = remote
        self.wantsPhase2 = wantsPhase2
    }
}

/// Whether we started the exchange or answered it.
public enum Role: String, Sendable {
    case initiator, responder
}

/// A phase 1 SA (ISAKMP SA or IKE SA) as the engine reports it.
public struct Phase1SA {
    public var localAddress: IPAddress
    public var remoteAddress: IPAddress
    public var localID: Identity
    public var remoteID: Identity
    public var initiatorSPI: UInt64
    public var responderSPI: UInt64
    /// Printed as `ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519`; held as the
    /// algorithms themselves (16 bytes, where the text took a heap allocation a tunnel).
    public var algorithms: ChosenAlgorithms
    public var natTraversal: Bool
    public var lifetimeSeconds: UInt32
    /// When its negotiation began; nil: not known.
    public var startedAt: Instant?

    public init(localAddress: IPAddress, remoteAddress: IPAddress, localID: Identity, remoteID: Identity,
                initiatorSPI: UInt64, responderSPI: UInt64, algorithms: ChosenAlgorithms, natTraversal: Bool,
                lifetimeSeconds: UInt32, startedAt: Instant? = nil) {
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        self.localID = localID
        self.remoteID = remoteID
        self.initiatorSPI = initiatorSPI
        self.responderSPI = responderSPI
        self.algorithms = algorithms
        self.natTraversal = natTraversal
        self.lifetimeSeconds = lifetimeSeconds
        self.startedAt = startedAt
    }
}

/// The keys of one direction of a phase 2 SA.
public struct DirectionKeys {
    public var encryption: SecretBytes
    public var integrity: SecretBytes?

    public init(encryption: SecretBytes, integrity: SecretBytes?) {
        self.encryption = encryption
        self.integrity = integrity
    }

    /// What an installed SA keeps: no key (the kernel has it), one shared empty value.
    nonisolated(unsafe) public static let handedOver = DirectionKeys(encryption: SecretBytes.none, integrity: nil)
}

/// A negotiated phase 2 SA pair (CHILD_SA, or IKEv1's IPsec SAs).
public struct ChildSA {
    public var inboundSPI: UInt32
    public var outboundSPI: UInt32
    public var cipher: Cipher
    public var integrity: IntegrityAlgorithm?
    /// The PFS group, when one was used.
    public var group: DHGroup?
    public var inbound: DirectionKeys
    public var outbound: DirectionKeys

    /// The same SA once the kernel holds it: SPIs, algorithms and selectors, no keys
    /// (four fewer allocations per tunnel, and no ESP key left in the daemon).
    public var withoutKeys: ChildSA {
        var c = self
        c.inbound = .handedOver
        c.outbound = .handedOver
        return c
    }
    /// The narrowed traffic selectors.
    public var localSelectors: [Subnet]
    public var remoteSelectors: [Subnet]
    public var mode: IPsecMode
    public var encapsulation: (source: UInt16, destination: UInt16)?
    public var lifetimeSeconds: UInt32
    /// 64-bit extended sequence numbers were negotiated.
    public var extendedSequenceNumbers: Bool

    public init(inboundSPI: UInt32, outboundSPI: UInt32, cipher: Cipher, integrity: IntegrityAlgorithm?, group: DHGroup?,
                inbound: DirectionKeys, outbound: DirectionKeys, localSelectors: [Subnet], remoteSelectors: [Subnet],
                mode: IPsecMode, encapsulation: (source: UInt16, destination: UInt16)?, lifetimeSeconds: UInt32,
                extendedSequenceNumbers: Bool = false) {
        self.extendedSequenceNumbers = extendedSequenceNumbers
        self.inboundSPI = inboundSPI
        self.outboundSPI = outboundSPI
        self.cipher = cipher
        self.integrity = integrity
        self.group = group
        self.inbound = inbound
        self.outbound = outbound
        self.localSelectors = localSelectors
        self.remoteSelectors = remoteSelectors
        self.mode = mode
        self.encapsulation = encapsulation
        self.lifetimeSeconds = lifetimeSeconds
    }
}

/// What an engine tells the Tunnel Manager: the seed's steps 3 and 5, and the
/// responder's "a tunnel has been negotiated".
public enum EngineReport {
    case phase1Created(TunnelNumber, Phase1SA)
    case phase1Failed(TunnelNumber, reason: String)
    case phase2Created(TunnelNumber, ChildSA)
    case phase2Failed(TunnelNumber, reason: String)
    /// As responder: a peer negotiated both phases against the tunnel (template) named.
    case negotiated(tunnelName: String, Phase1SA, ChildSA)
    /// A phase 1 rekey completed: new SPIs and keys, the tunnel stays up.
    case phase1Rekeyed(TunnelNumber, Phase1SA)
    /// A phase 2 rekey completed: the new SAs replace the old ones in the kernel.
    case phase2Rekeyed(TunnelNumber, ChildSA)
    /// The peer stopped answering liveness checks: `dpd_action` applies.
    case peerDead(TunnelNumber)
    /// The peer deleted the phase, or it expired.
    case deleted(TunnelNumber, Phase)
}
