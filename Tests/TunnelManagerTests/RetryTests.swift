import IKECore
import IKEWire
import Kernel
import Testing
import UCI
@testable import TunnelManager

/// A manual clock the manager reads for its retry times.
final class TestClock {
    var now = Instant(nanoseconds: 1_000_000_000)
}

/// A manager over fakes with a clock the test moves.
struct RetryFixture {
    let v1 = FakeEngine()
    let v2 = FakeEngine()
    let kernel = MemoryKernel()
    let sink = MemorySink()
    let clock = TestClock()
    let manager: TunnelManager

    init(_ text: String) {
        let configuration = Configuration.load(text, file: "ike.conf").get()
        let c = clock
        manager = TunnelManager(configuration: configuration, ikev1: v1, ikev2: v2, kernel: kernel,
                                log: Logger(level: .debug, sinks: [sink]), clock: { c.now })
    }

    func advance(_ interval: Interval) {
        clock.now = clock.now + interval
        manager.tick(now: clock.now)
    }

    var phase1Requests: [String] { v2.requests.filter { $0.hasPrefix("phase1") } }
}

func tunnels(_ n: Int, peer: String = "198.51.100.7", extra: String = "\toption start 'auto'\n") -> String {
    var text = ""
    for i in 0..<n {
        text += "config tunnel 't\(i)'\n\toption remote_address '\(peer)'\n\toption psk 'k'\n\(extra)\n"
    }
    return text
}

/// A tunnel is never abandoned: retries with back-off, keyingtries, reload, remove, and
/// the pacing of many initiations toward one peer (the field issue).
@Suite struct RetryTests {
    @Test func aFailedAutoTunnelIsTriedAgainUnderItsNumberWithBackOff() throws {
        let f = RetryFixture(tunnels(1, extra: "\toption start 'auto'\n\toption retry_delay '4'\n"))
        f.manager.startAutoTunnels()
        f.manager.handle(.phase1Failed(1, reason: "no answer from 198.51.100.7 after 5 transmissions"))
        let t = try #require(f.manager.tunnel(1))
        let first = try #require(t.nextAttempt) - f.clock.now
        #expect(first.milliseconds >= 3000 && first.milliseconds <= 4000)
        #expect(f.sink.lines.contains { $0.hasPrefix("event tmd: tunnel 1 't0': attempt 1 failed; next attempt in ") })
        f.advance(.milliseconds(2900))
        #expect(f.phase1Requests.count == 1)
        f.advance(.milliseconds(1200))
        #expect(f.phase1Requests == ["phase1 1 t0 198.51.100.7", "phase1 1 t0 198.51.100.7"])
        #expect(f.manager.tunnel(1)?.attempt == 2 && f.manager.tunnels.count == 1)
        f.manager.handle(.phase1Failed(1, reason: "again"))
        let second = try #require(f.manager.tunnel(1)?.nextAttempt) - f.clock.now
        #expect(second.milliseconds >= 6000 && second.milliseconds <= 8000)
        // A second report changes neither the error nor the next attempt.
        f.manager.handle(.phase1Failed(1, reason: "ignored: failed already"))
        #expect(f.manager.tunnel(1)?.nextAttempt == f.clock.now + second)
        #expect(f.manager.tunnel(1)?.failure == "step 3: phase 1 failed: again")
        // Up at last: no more retries.
        f.advance(second)
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        #expect(f.manager.tunnel(1)?.nextAttempt == nil)
        f.advance(.seconds(600))
        #expect(f.phase1Requests.count == 3)
    }

    @Test func backOffStopsAtTheMaximumDelay() throws {
        let f = RetryFixture(tunnels(1, extra: "\toption start 'auto'\n\toption retry_delay '1'\n\toption retry_max_delay '10'\n"))
        f.manager.startAutoTunnels()
        for _ in 0..<8 {
            f.manager.handle(.phase1Failed(1, reason: "no answer"))
            let wait = try #require(f.manager.tunnel(1)?.nextAttempt) - f.clock.now
            #expect(wait.milliseconds <= 10_000)
            f.advance(wait)
        }
        #expect(f.phase1Requests.count == 9)
        #expect(f.manager.tunnel(1)?.attempt == 9)
    }

    @Test func aManualActivationIsTriedOnceUnlessKeyingtriesSaysMore() throws {
        let f = RetryFixture(tunnels(1, extra: "") + tunnels(1, peer: "203.0.113.9", extra: "\toption keyingtries '2'\n").replacingOccurrences(of: "'t0'", with: "'u0'"))
        _ = f.manager.activate({ var s = Selection(); s.names = ["t0", "u0"]; return s }())
        f.manager.handle(.phase1Failed(1, reason: "refused"))
        f.manager.handle(.phase1Failed(2, reason: "refused"))
        #expect(f.manager.tunnel(1)?.nextAttempt == nil)
        #expect(f.manager.tunnel(2)?.nextAttempt != nil)
        f.advance(.seconds(10))
        f.manager.handle(.phase1Failed(2, reason: "refused again"))
        #expect(f.manager.tunnel(2)?.nextAttempt == nil)
        #expect(f.sink.lines.contains("error tmd: tunnel 2 'u0': giving up after 2 attempts (keyingtries 2)"))
        #expect(f.manager.tunnel(2)?.isFailed == true)
    }

    @Test func removeStopsTheRetries() throws {
        let f = RetryFixture(tunnels(1))
        f.manager.startAutoTunnels()
        f.manager.handle(.phase1Failed(1, reason: "no answer"))
        _ = f.manager.remove({ var s = Selection(); s.numbers = [1]; return s }())
        f.advance(.seconds(600))
        #expect(f.phase1Requests.count == 1 && f.manager.tunnels.isEmpty)
    }

    @Test func reloadRestartsFailedAutoTunnelsAtOnce() throws {
        let text = tunnels(1, extra: "\toption start 'auto'\n\toption retry_delay '600'\n")
        let f = RetryFixture(text)
        f.manager.startAutoTunnels()
        f.manager.handle(.phase1Failed(1, reason: "no answer"))
        _ = f.manager.reload(Configuration.load(text, file: "ike.conf").get())
        #expect(f.phase1Requests.count == 2)
        #expect(f.manager.tunnels.count == 1 && f.manager.tunnels[0].attempt == 1 && !f.manager.tunnels[0].isFailed)
    }

    /// After a phase 2 failure the retry starts from phase 1, the old one deleted first.
    @Test func aPhase2FailureRetriesFromPhase1() throws {
        let f = RetryFixture(tunnels(1))
        f.manager.startAutoTunnels()
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Failed(1, reason: "NO_PROPOSAL_CHOSEN"))
        f.advance(.seconds(10))
        #expect(f.v2.requests == ["phase1 1 t0 198.51.100.7", "phase2 1", "delete 1 phase 1", "phase1 1 t0 198.51.100.7"])
    }

    /// A hundred tunnels toward one peer: at most 4 negotiate at once, the rest wait
    /// and go as slots free up; another peer is not held up by the queue.
    @Test func initiationsTowardOnePeerArePaced() throws {
        let f = RetryFixture(tunnels(100) + tunnels(1, peer: "203.0.113.9").replacingOccurrences(of: "'t0'", with: "'other'"))
        f.manager.startAutoTunnels()
        #expect(f.phase1Requests.count == TunnelManager.maxNegotiatingPerPeer + 1)
        #expect(f.phase1Requests.contains("phase1 101 other 203.0.113.9"))
        #expect(f.manager.tunnels.allSatisfy { $0.phase1Status == .negotiating })
        f.manager.handle(.phase1Created(1, phase1()))
        #expect(f.phase1Requests.count == TunnelManager.maxNegotiatingPerPeer + 2)
        #expect(f.phase1Requests.last == "phase1 5 t4 198.51.100.7")
        f.manager.handle(.phase1Failed(2, reason: "x"))
        _ = f.manager.remove({ var s = Selection(); s.numbers = [3]; return s }())
        #expect(f.phase1Requests.count == TunnelManager.maxNegotiatingPerPeer + 4)
        for n in 4...100 { f.manager.handle(.phase1Created(TunnelNumber(n), phase1())) }
        #expect(f.phase1Requests.count == 101)
    }

    /// Both ends with dpd_action 'restart' after an outage: the side that had answered
    /// waits; when the peer brings the tunnel up meanwhile, it makes no second one.
    @Test func theAnsweringSideLetsThePeerRestartFirst() {
        let f = RetryFixture("config tunnel 'site'\n\toption remote_address '198.51.100.7'\n\toption psk 'k'\n\toption dpd_action 'restart'\n")
        let p1 = phase1(), c = child()
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", p1, c) == 1)
        f.manager.handle(.peerDead(1))
        #expect(f.manager.tunnels.count == 1 && f.manager.tunnels[0].isFailed && f.phase1Requests.isEmpty)
        // The peer restarts it first: our pending attempt goes.
        #expect(f.manager.tunnels.map { $0.number } == [1])
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", p1, c) == 2)
        #expect(f.manager.tunnels.map { $0.number } == [2])
        f.advance(.seconds(3600))
        #expect(f.phase1Requests.isEmpty)
    }

    /// A `start 'auto'` tunnel whose phase 1 the peer deletes (it reboots, or gave up on
    /// a Quick Mode we took as done) is started again; one activated by hand is not.
    @Test func anAutoTunnelDeletedByThePeerComesBack() {
        let f = RetryFixture("config tunnel 'site'\n\toption remote_address '198.51.100.7'\n\toption psk 'k'\n\toption start 'auto'\n\toption retry_delay '2'\n")
        #expect(f.manager.startAutoTunnels() == [1])
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        f.manager.handle(.deleted(1, .one))
        #expect(f.manager.tunnels.map { $0.number } == [1] && f.manager.tunnels[0].isFailed)
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        f.advance(.seconds(4))
        #expect(f.phase1Requests == ["phase1 1 site 198.51.100.7", "phase1 1 site 198.51.100.7"])
    }

    /// The peer set our `start 'auto'` tunnel up again (its own restart replaced ours),
    /// then deleted it: we bring it back after `retry_delay`, as when we had started it.
    /// Without this, the tunnel was gone for good.
    @Test func anAutoTunnelThePeerSetUpAgainAndDeletedComesBack() {
        let f = RetryFixture("config tunnel 'site'\n\toption remote_address '198.51.100.7'\n\toption psk 'k'\n\toption start 'auto'\n\toption retry_delay '2'\n")
        #expect(f.manager.startAutoTunnels() == [1])
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        var theirs = phase1()
        theirs.startedAt = Instant(nanoseconds: 5_000_000_000)
        f.clock.now = Instant(nanoseconds: 6_000_000_000)
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", theirs, child(in: 0xc000_0021, out: 0xc000_0022)) == 2)
        #expect(f.manager.tunnels.map { $0.number } == [2])
        f.manager.handle(.deleted(2, .one))
        // It keeps its number (2) as it comes back.
        #expect(f.manager.tunnels.map { $0.number } == [2] && f.manager.tunnels[0].isFailed && f.manager.tunnels[0].role == .initiator)
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        f.advance(.seconds(4))
        #expect(f.phase1Requests == ["phase1 1 site 198.51.100.7", "phase1 2 site 198.51.100.7"])
        // One the peer answered for a tunnel we only answer (no start 'auto') stays gone.
        let g = RetryFixture("config tunnel 'site'\n\toption remote_address '198.51.100.7'\n\toption psk 'k'\n\toption retry_delay '2'\n")
        #expect(g.manager.negotiatedByEngine(tunnelName: "site", phase1(), child()) == 1)
        g.manager.handle(.deleted(1, .one))
        g.advance(.seconds(3600))
        #expect(g.manager.tunnels.isEmpty && g.phase1Requests.isEmpty)
    }

    /// The peer brought the tunnel up again before our verdict on the old SA came: the
    /// old one goes, and no restart makes a second.
    @Test func aVerdictOnAnOldSADoesNotDuplicateTheTunnel() {
        let f = RetryFixture("config tunnel 'site'\n\toption remote_address '198.51.100.7'\n\toption psk 'k'\n\toption dpd_action 'restart'\n")
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", phase1(), child()) == 1)
        #expect(f.manager.negotiatedByEngine(tunnelName: "site", phase1(), child(in: 0xc000_0011, out: 0xc000_0012, remoteNet: "10.2.0.0/25")) == 2)
        f.manager.handle(.peerDead(1))
        f.advance(.seconds(3600))
        #expect(f.manager.tunnels.map { $0.number } == [2])
        #expect(f.phase1Requests.isEmpty)
    }
}
