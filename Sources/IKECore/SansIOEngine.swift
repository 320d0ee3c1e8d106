import IKEWire

/// What the IKEv1 and IKEv2 engines (isakmpd, ikev2d) share: the seed's "negotiate in
/// the background" part. Datagrams, requests and the time go in; datagrams, reports and
/// log lines come out of `takeOutput()`. An engine never touches a socket, a clock or
/// the kernel.
public protocol SansIOEngine: AnyObject {
    /// The tunnels it may negotiate, as responder too.
    var policies: [EnginePolicy] { get set }
    /// What an unauthenticated sender may make it hold.
    var limits: ResponderLimits { get set }
    /// The kernel's SPI allocation for inbound phase 2 SAs (from peer, to us).
    var allocateSPI: ((IPAddress, IPAddress) -> UInt32?)? { get set }
    /// Phase 1 for a tunnel, as initiator, and phase 2 behind it when `phase2`; without,
    /// phase 2 waits for `requestPhase2` (IKEv2 holds the CHILD_SA IKE_AUTH made).
    func initiate(tunnel: UInt32, policy: EnginePolicy, remote address: IPAddress, phase2: Bool, now: Instant)
    /// Phase 2 for a tunnel whose phase 1 is up: the CHILD_SA held since IKE_AUTH, or a
    /// new Quick Mode or CREATE_CHILD_SA when it has none (after its phase 2 was deleted).
    /// A phase 2 in place or on its way makes it a no-op.
    func requestPhase2(tunnel: UInt32, now: Instant)
    /// Rekeys phase 1 or 2 of a tunnel.
    func rekey(tunnel: UInt32, phase: Int, now: Instant)
    /// Deletes phase 2, or everything (phase 1), telling the peer.
    func delete(tunnel: UInt32, phase: Int, now: Instant)
    /// The tunnel's outer addresses moved (a kernel migrate).
    func move(tunnel: UInt32, local: IPAddress, remote: IPAddress)
    /// Where the numbers of the tunnels peers start (`negotiated`) come from.
    var tunnelNumbers: TunnelNumbers { get set }
    /// Retransmissions, liveness checks, lifetimes, keepalives of the SAs whose deadline
    /// has come (`SATimers`); the others are not looked at.
    func tick(now: Instant)
    /// Everything produced since the last call.
    func takeOutput() -> [EngineOutput]
    /// Seconds until the tunnel's phase 1 and phase 2 rekeys, for `list verbose`.
    func rekeyTimes(tunnel: UInt32, now: Instant) -> (ike: UInt64?, child: UInt64?)
    /// The tunnel's SAs as they are now, without keys: what `list` shows of an established
    /// tunnel (the Tunnel Manager keeps only what the kernel holds). nil: none.
    func sas(tunnel: UInt32) -> (phase1: Phase1SA, child: ChildSA?)?
    /// Phase 1 SAs held, for `cmd=status`.
    var saCount: Int { get }
    /// The earliest SA deadline: when `tick` next has something to do (nil: nothing is
    /// due until a datagram or a request comes). The driver sleeps until then.
    var wakeAt: Instant? { get }
    /// Which log levels are written: the engine builds no line of another level.
    var logs: (LogLevel) -> Bool { get set }
}

extension SansIOEngine {
    /// Both phases for a tunnel, as initiator.
    public func initiate(tunnel: UInt32, policy: EnginePolicy, remote address: IPAddress, now: Instant) {
        initiate(tunnel: tunnel, policy: policy, remote: address, phase2: true, now: now)
    }
}
