import IKECore
import IKEWire
import IKEv2
import Kernel
import Testing
import TunnelManager
import UCI

/// The contract end to end: two real IKEv2 engines behind `EngineKeying`, each with its
/// Tunnel Manager, joined by their datagrams.
@Suite struct EngineKeyingTests {
    final class Site {
        let keying: EngineKeying<IKEv2Engine>
        let manager: TunnelManager
        let kernel = MemoryKernel()
        let sink = MemorySink()

        init(_ address: String, _ configuration: Configuration, engineSees: Configuration? = nil, clock: @escaping () -> Instant) {
            let a = IPAddress(address)!
            keying = EngineKeying(engine: IKEv2Engine { _ in a }, version: .v2, now: clock)
            manager = TunnelManager(configuration: configuration, ikev1: FakeEngine(), ikev2: keying, kernel: kernel,
                                    log: Logger(level: .debug, sinks: [sink]), clock: clock)
            if let engineSees { keying.configure(engineSees) }
        }
    }

    static func config(_ text: String) -> Configuration { Configuration.load(text, file: "ike.conf").get() }

    /// Delivers datagrams both ways until both sides are quiet.
    func run(_ a: Site, _ b: Site, now: Instant) {
        var progress = true
        while progress {
            progress = false
            for (from, to) in [(a, b), (b, a)] {
                from.keying.drain(into: from.manager, send: { bytes, src, dst in
                    progress = true
                    to.keying.engine.receive(bytes, from: src, to: dst, now: now)
                }, keepalive: { _, _ in }, log: { _, _ in })
            }
        }
    }

    /// The spoke at 192.0.2.1 starts its tunnel to the hub at 198.51.100.7; both run until
    /// quiet. Returns the spoke and the number it gave its tunnel.
    func connect(to hub: Site, now: Instant) throws -> (Site, TunnelNumber) {
        let spoke = Site("192.0.2.1", Self.config("""
            config tunnel 'hub'
            \toption remote_address '198.51.100.7'
            \toption psk 'secret secret'
            """), clock: { now })
        var s = Selection()
        s.names = ["hub"]
        let started = try spoke.manager.activate(s).get()
        run(spoke, hub, now: now)
        return (spoke, started[0])
    }

    /// A peer's tunnel the Tunnel Manager refuses (its configuration lost the template
    /// the engine answered with) is deleted at once, at the peer too: not left behind.
    @Test func aRefusedPeerTunnelIsDeletedAtBothEnds() throws {
        let now = Instant(nanoseconds: 1_000_000_000)
        let template = Self.config("""
            config tunnel 'dialin'
            \toption remote_address 'any'
            \toption remote_id '%any'
            \toption psk 'secret secret'
            """)
        let hub = Site("198.51.100.7", Self.config(""), engineSees: template, clock: { now })
        let (spoke, started) = try connect(to: hub, now: now)
        #expect(hub.sink.lines.contains { $0.contains("negotiated tunnel 'dialin', which is not configured or disabled; refused") }, "\(hub.sink.lines)")
        #expect(hub.keying.engine.saCount == 0)
        #expect(hub.manager.tunnels.isEmpty)
        // The spoke came up, and then heard that the hub deleted it.
        #expect(spoke.sink.lines.contains { $0.contains("tunnel \(started) 'hub': phase 2 SA created") }, "\(spoke.sink.lines)")
        #expect(spoke.keying.engine.saCount == 0, "\(spoke.sink.lines)")
    }

    /// A peer's tunnel the manager takes is numbered by the engine from the manager's
    /// sequence: the next tunnel the manager starts gets the number after it.
    @Test func enginesAndTheManagerShareOneSequence() throws {
        let now = Instant(nanoseconds: 1_000_000_000)
        let hubConfig = Self.config("""
            config tunnel 'dialin'
            \toption remote_address 'any'
            \toption remote_id '%any'
            \toption psk 'secret secret'

            config tunnel 'out'
            \toption remote_address '203.0.113.9'
            \toption psk 'other secret'
            """)
        let hub = Site("198.51.100.7", hubConfig, clock: { now })
        _ = try connect(to: hub, now: now)
        let peers = hub.manager.tunnels
        #expect(peers.count == 1 && peers[0].name == "dialin" && peers[0].number == 1, "\(hub.sink.lines)")
        var s = Selection()
        s.names = ["out"]
        #expect(try hub.manager.activate(s).get() == [2])
    }

    static let dialin = config("""
        config tunnel 'dialin'
        \toption remote_address 'any'
        \toption remote_id '%any'
        \toption psk 'secret secret'
        """)

    /// The table keeps what the kernel holds; the rest of an established tunnel's SAs
    /// (identities, algorithms, lifetimes) the manager takes from the engine: both ends
    /// list the same SAs, each from its own side.
    @Test func anEstablishedTunnelIsListedFromItsEngine() throws {
        let now = Instant(nanoseconds: 1_000_000_000)
        let hub = Site("198.51.100.7", Self.dialin, clock: { now })
        let (spoke, started) = try connect(to: hub, now: now)
        let hubRow = try #require(hub.manager.tunnel(1)), spokeRow = try #require(spoke.manager.tunnel(started))
        let (hubP1, hubChild) = hub.manager.sas(of: hubRow)
        let (spokeP1, spokeChild) = spoke.manager.sas(of: spokeRow)
        #expect(hubP1?.remoteID == .address(IPAddress("192.0.2.1")!) && spokeP1?.remoteID == .address(IPAddress("198.51.100.7")!))
        #expect(hubP1?.initiatorSPI == spokeP1?.initiatorSPI && hubP1?.responderSPI == spokeP1?.responderSPI)
        #expect(hubP1.map { $0.algorithms.description } == spokeP1.map { $0.algorithms.description })
        #expect(hubChild?.inboundSPI == spokeChild?.outboundSPI && hubChild?.outboundSPI == spokeChild?.inboundSPI)
        #expect(hubChild?.inboundSPI == hubRow.installed?.inboundSPI && spokeChild?.inboundSPI == spokeRow.installed?.inboundSPI)
        #expect(hubChild?.lifetimeSeconds == 3600 && hubChild?.mode == .tunnel)
    }

    /// The spoke removes phase 2: at both ends the row goes back to phase 1, which the
    /// engine still holds, and the kernel keeps nothing of the tunnel.
    @Test func phase2RemovedLeavesTheEnginesPhase1Listed() throws {
        let now = Instant(nanoseconds: 1_000_000_000)
        let hub = Site("198.51.100.7", Self.dialin, clock: { now })
        let (spoke, started) = try connect(to: hub, now: now)
        #expect(spoke.kernel.sas.count == 2 && hub.kernel.sas.count == 2)
        var s = Selection()
        s.numbers = [started]
        #expect(try spoke.manager.remove(s, phase: .two).get() == [started])
        run(spoke, hub, now: now)
        for (site, number) in [(spoke, started), (hub, TunnelNumber(1))] {
            let row = try #require(site.manager.tunnel(number))
            #expect(row.phase1Status == .active && row.phase2Status == nil && !row.isEstablished, "\(site.sink.lines)")
            let (p1, child) = site.manager.sas(of: row)
            #expect(p1 != nil && child == nil)
            #expect(site.kernel.sas.isEmpty && site.kernel.policies.isEmpty)
        }
    }
}
