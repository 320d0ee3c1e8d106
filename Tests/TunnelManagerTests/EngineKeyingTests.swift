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
        let sink = MemorySink()

        init(_ address: String, _ configuration: Configuration, engineSees: Configuration? = nil, clock: @escaping () -> Instant) {
            let a = IPAddress(address)!
            keying = EngineKeying(engine: IKEv2Engine { _ in a }, version: .v2, now: clock)
            manager = TunnelManager(configuration: configuration, ikev1: FakeEngine(), ikev2: keying, kernel: MemoryKernel(),
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
}
