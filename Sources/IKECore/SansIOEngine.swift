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
    /// Phase 1 (and with it phase 2) for a tunnel, as initiator.
    func initiate(tunnel: UInt32, policy: EnginePolicy, remote address: IPAddress, now: Instant)
    /// Rekeys phase 1 or 2 of a tunnel.
    func rekey(tunnel: UInt32, phase: Int, now: Instant)
    /// Deletes phase 2, or everything (phase 1), telling the peer.
    func delete(tunnel: UInt32, phase: Int, now: Instant)
    /// The tunnel's outer addresses moved (a kernel migrate).
    func move(tunnel: UInt32, local: IPAddress, remote: IPAddress)
    /// A responder's SA (`responderEstablished`) belongs to tunnel `tunnel` from now on.
    func assign(tunnel: UInt32, toSA spi: UInt64)
    /// Retransmissions, liveness checks, lifetimes, keepalives of the SAs whose deadline
    /// has come (`SATimers`); the others are not looked at.
    func tick(now: Instant)
    /// Everything produced since the last call.
    func takeOutput() -> [EngineOutput]
    /// Seconds until the tunnel's phase 1 and phase 2 rekeys, for `list verbose`.
    func rekeyTimes(tunnel: UInt32, now: Instant) -> (ike: UInt64?, child: UInt64?)
    /// Phase 1 SAs held, for `cmd=status`.
    var saCount: Int { get }
    /// The earliest SA deadline: when `tick` next has something to do (nil: nothing is
    /// due until a datagram or a request comes). The driver sleeps until then.
    var wakeAt: Instant? { get }
    /// Which log levels are written: the engine builds no line of another level.
    var logs: (LogLevel) -> Bool { get set }
}
