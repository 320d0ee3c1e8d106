import IKECrypto
import IKEWire

/// What the engine asks its driver to do, or tells the Tunnel Manager.
public enum IKEv2Output {
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
}

/// Why the engine dropped what it received, counted for `ike cmd=status`.
public struct IKEv2Counters: Sendable {
    public var malformed: UInt64 = 0
    public var unknownSPI: UInt64 = 0
    public var badMessageID: UInt64 = 0
    public var integrityFailures: UInt64 = 0
    public var noMatchingTunnel: UInt64 = 0
    public var retransmitsAnswered: UInt64 = 0
    public var retransmitsSent: UInt64 = 0
    public var halfOpenExpired: UInt64 = 0
    /// IKE_SA_INIT requests answered with a COOKIE (under load, §2.6).
    public var cookiesSent: UInt64 = 0
    /// IKE_SA_INIT requests with a wrong or stale cookie.
    public var badCookies: UInt64 = 0
    public init() {}
}
