import IKECore
import IKECrypto
import IKEWire
import Kernel
import UCI

/// An IKE engine as the Tunnel Manager sees it (isakmpd for IKEv1, ikev2d for IKEv2).
/// Requests are the seed's steps 2 and 4; whatever the engine knows at once it returns,
/// the rest it reports later through `TunnelManager.handle(_:)`.
public protocol KeyingEngine: AnyObject {
    /// The sequence the engine numbers the tunnels peers start from: the manager's own,
    /// handed over when the manager is made.
    func share(_ numbers: TunnelNumbers)
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
    /// The tunnel's SAs as the engine holds them now (without keys), for `list`: nil when
    /// it holds none for the tunnel.
    func sas(of tunnel: TunnelNumber) -> (phase1: Phase1SA, child: ChildSA?)?
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
