import IKECrypto
import IKEWire

/// The contract between the engines (isakmpd, ikev2d) and the Tunnel Manager (tmd): one
/// set of types for what both say about a tunnel. Phase 1 is the IKE SA (IKEv1: the
/// ISAKMP SA), phase 2 the CHILD_SA (IKEv1: the IPsec SAs).

/// A tunnel's number: unique while the daemon runs, never reused. The Tunnel Manager
/// numbers the tunnels it starts, an engine those a peer starts, from the same sequence.
public typealias TunnelNumber = UInt32

public enum Phase: Int, CustomStringConvertible, Sendable {
    case one = 1, two = 2
    public var description: String { rawValue.description }
}

/// Where tunnel numbers come from: the one sequence the Tunnel Manager and the engines
/// share, so that a number names one tunnel whoever started it.
public final class TunnelNumbers {
    private var next: TunnelNumber

    public init(first: TunnelNumber = 1) { next = first }

    public func take() -> TunnelNumber {
        defer { next &+= 1 }
        return next
    }
}

/// What an engine asks its driver to do, or tells the Tunnel Manager.
public enum EngineOutput {
    /// Send a datagram from our `from` endpoint (its address and port) to `to`.
    case send([UInt8], from: Endpoint, to: Endpoint)
    /// A NAT keepalive (RFC 3948 §2.3): one 0xFF octet from our NAT-T port.
    case keepalive(from: Endpoint, to: Endpoint)
    case log(LogLevel, String)
    /// For the Tunnel Manager.
    case report(EngineReport)
}

/// What an engine tells the Tunnel Manager: the seed's steps 3 and 5, and the responder's
/// "a tunnel has been negotiated".
public enum EngineReport {
    /// Initiator, step 3: the IKE SA is up.
    case phase1Created(TunnelNumber, Phase1SA)
    case phase1Failed(TunnelNumber, reason: String)
    /// Initiator, step 5: the CHILD_SA is up.
    case phase2Created(TunnelNumber, ChildSA)
    case phase2Failed(TunnelNumber, reason: String)
    /// Responder: a peer negotiated both phases against the tunnel (template) named; the
    /// engine numbered the tunnel. A Tunnel Manager that refuses it deletes it.
    case negotiated(TunnelNumber, tunnelName: String, Phase1SA, ChildSA)
    /// A phase 1 rekey completed: new SPIs and keys, the tunnel stays up.
    case phase1Rekeyed(TunnelNumber, Phase1SA)
    /// A phase 2 rekey completed: the new SAs replace the old ones in the kernel.
    case phase2Rekeyed(TunnelNumber, ChildSA)
    /// The peer stopped answering liveness checks: `dpd_action` applies.
    case peerDead(TunnelNumber)
    /// The peer deleted the phase, or it expired.
    case deleted(TunnelNumber, Phase)
}

/// A phase 1 SA (ISAKMP SA or IKE SA). The stored properties are ordered for packing
/// (each tunnel row holds one): the flag and the lifetime in the first address's padding.
public struct Phase1SA {
    public var localAddress: IPAddress
    public var natTraversal: Bool
    public var lifetimeSeconds: UInt32
    public var remoteAddress: IPAddress
    public var localID: Identity
    public var remoteID: Identity
    /// Printed as `ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519`.
    public var algorithms: ChosenAlgorithms
    public var initiatorSPI: UInt64
    public var responderSPI: UInt64
    /// When its negotiation began (our first message sent or the peer's received): the
    /// Tunnel Manager tells a peer's restart from an attempt that crossed ours by it.
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

/// A negotiated phase 2 SA pair (CHILD_SA, or IKEv1's IPsec SAs). The engine keeps it for
/// its rekey and delete, the Tunnel Manager for the kernel and `list`: the same value, so
/// its selector arrays are one allocation for both.
public struct ChildSA {
    public var inboundSPI: UInt32
    public var outboundSPI: UInt32
    /// Both directions' keys until the kernel has them, held apart (one pointer rather
    /// than four); nil after (`withoutKeys`).
    @HeldApart private var keys: (inbound: DirectionKeys, outbound: DirectionKeys)?
    /// The narrowed traffic selectors.
    public var localSelectors: [TrafficSelector]
    public var remoteSelectors: [TrafficSelector]
    public var algorithms: ChosenAlgorithms
    public var lifetimeSeconds: UInt32
    public var transportMode: Bool
    /// ESP in UDP (RFC 3948) between the IKE SA's ports, when a NAT was detected.
    public var encapsulation: (local: UInt16, remote: UInt16)?

    public var inbound: DirectionKeys { keys?.inbound ?? .handedOver }
    public var outbound: DirectionKeys { keys?.outbound ?? .handedOver }

    public init(inboundSPI: UInt32, outboundSPI: UInt32, algorithms: ChosenAlgorithms, inbound: DirectionKeys,
                outbound: DirectionKeys, localSelectors: [TrafficSelector], remoteSelectors: [TrafficSelector],
                transportMode: Bool, lifetimeSeconds: UInt32, encapsulation: (local: UInt16, remote: UInt16)? = nil) {
        self.inboundSPI = inboundSPI
        self.outboundSPI = outboundSPI
        self.algorithms = algorithms
        keys = (inbound, outbound)
        self.localSelectors = localSelectors
        self.remoteSelectors = remoteSelectors
        self.transportMode = transportMode
        self.lifetimeSeconds = lifetimeSeconds
        self.encapsulation = encapsulation
    }

    public var cipher: Cipher { algorithms.cipher }
    public var integrity: IntegrityAlgorithm? { algorithms.integrity }
    /// The PFS group, when one was used.
    public var group: DHGroup? { algorithms.group }
    /// 64-bit extended sequence numbers were negotiated.
    public var extendedSequenceNumbers: Bool { algorithms.extendedSequenceNumbers }

    /// The selectors as prefixes (the kernel's policies take those; a range that is not
    /// one becomes its first address).
    public var localSubnets: [Subnet] { ChildSA.subnets(localSelectors) }
    public var remoteSubnets: [Subnet] { ChildSA.subnets(remoteSelectors) }

    public static func subnets(_ selectors: [TrafficSelector]) -> [Subnet] {
        selectors.compactMap { ts in ts.subnet ?? Subnet(address: ts.start, prefixLength: ts.start.isV4 ? 32 : 128) }
    }

    /// The same SA once the kernel holds it: SPIs, algorithms and selectors, no keys
    /// (four fewer allocations per tunnel, and no ESP key left in the daemon).
    public var withoutKeys: ChildSA {
        var c = self
        c.keys = nil
        return c
    }
}
