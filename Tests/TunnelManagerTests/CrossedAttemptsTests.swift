import IKECore
import IKEWire
import Kernel
import Testing
import UCI
@testable import TunnelManager

/// Both sides start one tunnel at once (both liveness checks gave up under loss, or two
/// `start 'auto'` ends): the attempt the lower address initiated stays on both sides, so
/// each ends with the same single tunnel and its filter rules.
@Suite struct CrossedAttemptsTests {
    static let lowSide = "config tunnel 'site'\n\toption remote_address '198.51.100.7'\n\toption psk 'k'\n"
    static let highSide = "config tunnel 'site'\n\toption remote_address '192.0.2.1'\n\toption psk 'k'\n"
    static let low = IPAddress("192.0.2.1")!, high = IPAddress("198.51.100.7")!

    /// Phase 1 as seen from `me` toward `peer`, begun at `startedAt`.
    func sa(from me: IPAddress, to peer: IPAddress, startedAt: Instant?) -> Phase1SA {
        var p = phase1(peer)
        p.localAddress = me
        p.startedAt = startedAt
        return p
    }

    func site() -> Selection {
        var s = Selection()
        s.names = ["site"]
        return s
    }

    func ours(_ f: RetryFixture, _ p1: Phase1SA) {
        _ = f.manager.activate(site())
        f.manager.handle(.phase1Created(1, p1))
        f.manager.handle(.phase2Created(1, child()))
    }

    func numbers(_ f: RetryFixture) -> [TunnelNumber] { f.manager.tunnels.map { $0.number } }

    @Test func theLowerSideKeepsItsAttemptWhenThePeersComesUpFirst() {
        let f = RetryFixture(Self.lowSide)
        _ = f.manager.activate(site())
        let began = f.clock.now + .seconds(1)
        f.clock.now = f.clock.now + .seconds(2)
        // The peer's attempt comes up here while ours still negotiates: both are kept...
        let theirs = sa(from: Self.low, to: Self.high, startedAt: began)
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", theirs, child(in: 0xc000_0021, out: 0xc000_0022)) == 2)
        f.clock.now = f.clock.now + .seconds(1)
        f.manager.handle(.phase1Created(1, sa(from: Self.low, to: Self.high, startedAt: nil)))
        f.manager.handle(.phase2Created(1, child()))
        // ...until ours is up: the peer's goes (deleted at the peer too), ours is installed.
        #expect(numbers(f) == [1])
        #expect(f.v2.requests.contains("delete 2 phase 1"))
        #expect(f.manager.tunnel(1)?.installed?.inboundSPI == 0xc000_0001)
        #expect(f.kernel.policies.count == 3 && f.kernel.sas.count == 2, "\(f.kernel.journal)")
    }

    /// Ours, from the lower address, went on beside the peer's attempt and then failed:
    /// it is not tried again beside the peer's, which is up (each retry came up and
    /// failed on the filter rules the peer's tunnel holds, for ever).
    @Test func theLowerSideDoesNotRetryBesideThePeersTunnel() {
        let f = RetryFixture(Self.lowSide + "\toption keyingtries '5'\n\toption retry_delay '2'\n")
        _ = f.manager.activate(site())
        let began = f.clock.now + .seconds(1)
        f.clock.now = f.clock.now + .seconds(2)
        let theirs = sa(from: Self.low, to: Self.high, startedAt: began)
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", theirs, child(in: 0xc000_0021, out: 0xc000_0022)) == 2)
        f.manager.handle(.phase1Failed(1, reason: "no answer from 198.51.100.7 after 5 transmissions"))
        #expect(f.manager.tunnel(1)?.nextAttempt != nil)
        let requests = f.phase1Requests.count
        f.advance(.seconds(5))
        #expect(f.phase1Requests.count == requests)
        #expect(numbers(f) == [2])
        #expect(f.sink.lines.contains { $0.hasSuffix("the peer brought the tunnel up (tunnel 2 'site'); no further attempt from here") }, "\(f.sink.lines)")
        #expect(f.manager.tunnel(2)?.installed?.inboundSPI == 0xc000_0021 && f.kernel.sas.count == 2)
    }

    @Test func theLowerSideRefusesThePeersAttemptWhenOursIsUpFirst() {
        let f = RetryFixture(Self.lowSide)
        let began = f.clock.now
        ours(f, sa(from: Self.low, to: Self.high, startedAt: nil))
        f.clock.now = f.clock.now + .seconds(1)
        // The peer began before ours was up: it could not know of it.
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", sa(from: Self.low, to: Self.high, startedAt: began),
                                             child(in: 0xc000_0021, out: 0xc000_0022)) == nil)
        #expect(numbers(f) == [1] && f.manager.tunnel(1)?.isEstablished == true)
    }

    @Test func theHigherSideGivesUpItsAttemptInFlight() {
        let f = RetryFixture(Self.highSide)
        _ = f.manager.activate(site())
        f.clock.now = f.clock.now + .seconds(1)
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", sa(from: Self.high, to: Self.low, startedAt: f.clock.now),
                                             child()) == 2)
        #expect(numbers(f) == [2])
        #expect(f.v2.requests.contains("delete 1 phase 1"))
        f.advance(.seconds(3600))
        #expect(numbers(f) == [2] && f.phase1Requests.count == 1)
    }

    @Test func theHigherSideDropsItsTunnelThatCameUpCrossingThePeers() {
        let f = RetryFixture(Self.highSide)
        let began = f.clock.now
        ours(f, sa(from: Self.high, to: Self.low, startedAt: nil))
        f.clock.now = f.clock.now + .seconds(1)
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", sa(from: Self.high, to: Self.low, startedAt: began),
                                             child(in: 0xc000_0021, out: 0xc000_0022)) == 2)
        #expect(numbers(f) == [2] && f.manager.tunnel(2)?.installed?.inboundSPI == 0xc000_0021)
        #expect(f.kernel.policies.count == 3, "\(f.kernel.journal)")
    }

    @Test func theHigherSideDropsItsAttemptThatCompletesAfterThePeers() {
        let f = RetryFixture(Self.highSide)
        _ = f.manager.activate(site())
        f.manager.handle(.phase1Created(1, sa(from: Self.high, to: Self.low, startedAt: nil)))
        // Our phase 1 is up, the peer's whole tunnel comes up before our phase 2.
        f.clock.now = f.clock.now + .seconds(1)
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", sa(from: Self.high, to: Self.low, startedAt: f.clock.now),
                                             child(in: 0xc000_0021, out: 0xc000_0022)) == 2)
        f.manager.handle(.phase2Created(1, child()))
        #expect(numbers(f) == [2])
    }

    @Test func aTunnelUpBeforeThePeerBeganIsReplacedWhicheverAddressIsLower() {
        // The peer restarted (or its liveness check gave up first): its new negotiation
        // began after ours was up, so ours is gone at the peer and goes here too.
        let f = RetryFixture(Self.lowSide)
        ours(f, sa(from: Self.low, to: Self.high, startedAt: nil))
        f.clock.now = f.clock.now + .seconds(30)
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", sa(from: Self.low, to: Self.high, startedAt: f.clock.now),
                                             child(in: 0xc000_0021, out: 0xc000_0022)) == 2)
        #expect(numbers(f) == [2])
    }
}
