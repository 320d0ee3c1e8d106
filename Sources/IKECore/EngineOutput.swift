import IKECrypto
import IKEWire

/// What an engine (IKEv1 or IKEv2) asks its driver to do, or tells the Tunnel Manager.
/// Phase 1 is the IKE SA (IKEv1: the ISAKMP SA), phase 2 the CHILD_SA (the IPsec SAs).
public enum EngineOutput {
    /// Send a datagram from our `from` endpoint (its address and port) to `to`.
    case send([UInt8], from: Endpoint, to: Endpoint)
    /// Initiator, step 3: the IKE SA is up.
    case ikeEstablished(tunnel: UInt32, EstablishedIKESA)
    /// Initiator, step 5: the CHILD_SA is up.
    case childEstablished(tunnel: UInt32, EstablishedChildSA)
    case failed(tunnel: UInt32, phase: Int, reason: String)
    /// Responder: a peer negotiated both against the tunnel named; the Tunnel Manager
    /// numbers it and the driver calls `assign(tunnel:toSA:)`.
    case responderEstablished(sa: UInt64, tunnelName: String, EstablishedIKESA, EstablishedChildSA)
    /// A CHILD_SA rekey completed: the new SPIs and keys replace the old ones.
    case childRekeyed(tunnel: UInt32, EstablishedChildSA)
    /// An IKE SA rekey completed: the tunnel's phase 1 now has new SPIs and keys.
    case ikeRekeyed(tunnel: UInt32, EstablishedIKESA)
    /// The peer deleted phase 1 (the IKE SA) or phase 2 (the CHILD_SA), or it went away.
    case deleted(tunnel: UInt32, phase: Int)
    /// The peer stopped answering liveness checks (`dpd_action` applies).
    case peerDead(tunnel: UInt32)
    /// A NAT keepalive (RFC 3948 §2.3): one 0xFF octet from our NAT-T port.
    case keepalive(from: Endpoint, to: Endpoint)
    case log(LogLevel, String)
}

public struct EstablishedIKESA {
    public var local: Endpoint
    public var remote: Endpoint
    public var localID: Identity
    public var remoteID: Identity
    public var initiatorSPI: UInt64
    public var responderSPI: UInt64
    public var algorithms: ChosenAlgorithms
    public var natDetected: Bool
    public var lifetimeSeconds: UInt32
    /// When its negotiation began (our first message sent or the peer's received): the
    /// Tunnel Manager tells a peer's restart from an attempt that crossed ours by it.
    public var startedAt: Instant?

    public init(local: Endpoint, remote: Endpoint, localID: Identity, remoteID: Identity, initiatorSPI: UInt64,
                responderSPI: UInt64, algorithms: ChosenAlgorithms, natDetected: Bool, lifetimeSeconds: UInt32,
                startedAt: Instant? = nil) {
        self.local = local
        self.remote = remote
        self.localID = localID
        self.remoteID = remoteID
        self.initiatorSPI = initiatorSPI
        self.responderSPI = responderSPI
        self.algorithms = algorithms
        self.natDetected = natDetected
        self.lifetimeSeconds = lifetimeSeconds
        self.startedAt = startedAt
    }
}

public struct EstablishedChildSA {
    public var inboundSPI: UInt32
    public var outboundSPI: UInt32
    public var algorithms: ChosenAlgorithms
    public var inboundEncryptionKey: SecretBytes
    public var inboundIntegrityKey: SecretBytes?
    public var outboundEncryptionKey: SecretBytes
    public var outboundIntegrityKey: SecretBytes?
    public var localSelectors: [TrafficSelector]
    public var remoteSelectors: [TrafficSelector]
    public var transportMode: Bool
    public var lifetimeSeconds: UInt32
    /// ESP in UDP (RFC 3948) between the IKE SA's ports, when a NAT was detected.
    public var encapsulation: (local: UInt16, remote: UInt16)?

    public init(inboundSPI: UInt32, outboundSPI: UInt32, algorithms: ChosenAlgorithms, inboundEncryptionKey: SecretBytes,
                inboundIntegrityKey: SecretBytes?, outboundEncryptionKey: SecretBytes, outboundIntegrityKey: SecretBytes?,
                localSelectors: [TrafficSelector], remoteSelectors: [TrafficSelector], transportMode: Bool, lifetimeSeconds: UInt32,
                encapsulation: (local: UInt16, remote: UInt16)? = nil) {
        self.inboundSPI = inboundSPI
        self.outboundSPI = outboundSPI
        self.algorithms = algorithms
        self.inboundEncryptionKey = inboundEncryptionKey
        self.inboundIntegrityKey = inboundIntegrityKey
        self.outboundEncryptionKey = outboundEncryptionKey
        self.outboundIntegrityKey = outboundIntegrityKey
        self.localSelectors = localSelectors
        self.remoteSelectors = remoteSelectors
        self.transportMode = transportMode
        self.lifetimeSeconds = lifetimeSeconds
        self.encapsulation = encapsulation
    }

    /// The same SA once reported: SPIs, algorithms and selectors, no keys (the kernel
    /// holds them; an engine keeps the SA for its rekey and delete).
    public var withoutKeys: EstablishedChildSA {
        var c = self
        c.inboundEncryptionKey = .none
        c.outboundEncryptionKey = .none
        c.inboundIntegrityKey = nil
        c.outboundIntegrityKey = nil
        return c
    }
}
