import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv2

/// Time on the wheel (the engine-core issue): each SA has one deadline, the engine asks
/// to be woken at the earliest, and a step happens when it is due, not on a poll.
@Suite struct TimerTests {
    func sends(_ events: [EngineOutput]) -> Int {
        events.reduce(0) { n, e in if case .send = e { return n + 1 }; return n }
    }

    @Test func theLivenessCheckGoesOutWhenItIsDue() throws {
        let p = RekeyTests().established()
        let sa = try #require(p.b.sas.values.first)
        // Every SA has its deadline; the earliest is the liveness check after 30 s of
        // silence (the lifetimes are hours away).
        #expect(p.b.timers.count == p.b.sas.count && p.a.timers.count == p.a.sas.count)
        #expect(p.b.wakeAt == sa.lastHeard + .seconds(30))
        p.b.tick(now: p.now + .milliseconds(29_999))
        #expect(sends(p.b.takeOutput()) == 0)
        p.b.tick(now: p.now + .seconds(30))
        #expect(sends(p.b.takeOutput()) == 1 && sa.probing)
        // Then the wait is its retransmission's, at most two seconds away.
        let next = try #require(p.b.wakeAt)
        #expect(next > p.now + .seconds(30) && next <= p.now + .seconds(32))
    }

    /// A liveness check's answer is the same empty message each time: the responder keeps
    /// none of its bytes (a hub holds one per spoke between checks), and a retransmitted
    /// check, its first answer lost, is answered again all the same.
    @Test func aLivenessCheckIsAnsweredAgainWithoutItsAnswerBeingKept() throws {
        let p = RekeyTests().established()
        let held = try #require(p.b.sas.values.first)
        func keptEmpty(_ sa: IKESA) -> Bool? {
            sa.lastResponse.map { if case .empty = $0.answer { return true }; return false }
        }
        #expect(keptEmpty(held) == false)
        // a checks at 30 s; b's first answer is lost; a's retransmission gets the second.
        p.now = p.now + .seconds(30)
        var answers = 0
        // (b checks a at the same time: only b's answers, flagged as responses, count.)
        p.tickAndDeliver { bytes, fromA in
            if !fromA, bytes[19] & 0x20 != 0 { answers += 1 }
            return !fromA && bytes[19] & 0x20 != 0 && answers == 1
        }
        let checked = try #require(p.a.sas.values.first)
        #expect(checked.pending != nil && answers == 1)
        #expect(keptEmpty(held) == true)
        p.now = p.now + .seconds(3)
        p.tickAndDeliver { bytes, fromA in
            if !fromA, bytes[19] & 0x20 != 0 { answers += 1 }
            return false
        }
        #expect(answers == 2 && checked.pending == nil)
        #expect(p.b.counters.retransmitsAnswered == 1)
        #expect(p.aEvents.allSatisfy { if case .report(.peerDead) = $0 { return false }; return true })
    }

    @Test func aRetransmissionLeavesAtItsTimeout() throws {
        let a = IKEv2Engine { _ in IPAddress("192.0.2.1")! }
        let now = Instant(nanoseconds: 1_000_000_000)
        a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"),
                   remote: IPAddress("198.51.100.7")!, now: now)
        #expect(sends(a.takeOutput()) == 1)
        // Two seconds less up to a tenth of jitter: the engine says when, to the nanosecond.
        let due = try #require(a.wakeAt)
        #expect(due >= now + .milliseconds(1800) && due <= now + .seconds(2))
        a.tick(now: Instant(nanoseconds: due.nanoseconds - 1))
        #expect(sends(a.takeOutput()) == 0)
        a.tick(now: due)
        #expect(sends(a.takeOutput()) == 1)
    }

    @Test func aRemovedSALeavesNoDeadline() throws {
        let p = RekeyTests().established()
        p.a.delete(tunnel: 1, phase: 1, now: p.now)
        p.run()
        #expect(p.a.sas.isEmpty && p.b.sas.isEmpty)
        #expect(p.a.timers.count == 0 && p.b.timers.count == 0)
        #expect(p.a.wakeAt == nil && p.b.wakeAt == nil)
    }

    /// An SA as the deadline heap sees it: a key to tell them apart, and its place.
    final class Slot: HeapPlaced {
        let key: UInt64
        var heapSlot: Int32 = -1
        init(_ key: UInt64) { self.key = key }
    }

    /// The engines' deadline heap: the earliest current deadline is next, a changed or
    /// cancelled one never fires, and due SAs come out earliest first.
    @Test func deadlinesFireOnceInOrderAndChangesWin() {
        var timers = SATimers<Slot>()
        let sa = (0..<10).map { Slot(UInt64($0)) }
        func keys(_ due: [Slot]) -> [UInt64] { due.map { $0.key } }
        let t0 = Instant(nanoseconds: 1_000_000_000)
        for k in 0..<6 { timers.set(sa[k], at: t0 + .seconds(UInt64(10 * (6 - k)))) }
        #expect(timers.count == 6 && timers.next == t0 + .seconds(10))
        timers.set(sa[5], at: t0 + .seconds(100))  // moved later
        timers.set(sa[4], at: nil)                  // cancelled
        timers.set(sa[0], at: t0 + .seconds(5))     // moved earlier
        #expect(timers.count == 5 && timers.next == t0 + .seconds(5))
        #expect(timers.due(now: t0 + .seconds(4)).isEmpty)
        #expect(keys(timers.due(now: t0 + .seconds(40))) == [0, 3, 2])
        #expect(timers.next == t0 + .seconds(50) && timers.count == 2)
        #expect(keys(timers.due(now: t0 + .seconds(1000))) == [1, 5])
        #expect(timers.next == nil && timers.count == 0)
        #expect(sa.allSatisfy { $0.heapSlot == -1 })
        // Many moves of one deadline leave no pile of old entries behind it.
        for i in 0..<10_000 { timers.set(sa[9], at: t0 + .milliseconds(UInt64(i + 1))) }
        #expect(timers.count == 1 && keys(timers.due(now: t0 + .seconds(20))) == [9])
    }

    /// Deadlines moved in place, both ways, cancelled and set again at random: what fires
    /// is what a plain table of each SA's last deadline says, in time order.
    @Test func movedDeadlinesMatchAPlainTable() {
        var timers = SATimers<Slot>()
        let sa = (0..<64).map { Slot(UInt64($0)) }
        var expected: [UInt64: Instant] = [:]
        var rng = SystemRandomNumberGenerator()
        var now = Instant(nanoseconds: 1_000_000_000)
        var tick: UInt64 = 0
        for _ in 0..<200 {
            for _ in 0..<50 {
                let key = UInt64.random(in: 0..<64, using: &rng)
                tick += 1
                // Distinct instants (a unique nanosecond each), so the order is defined.
                let at: Instant? = Int.random(in: 0..<5, using: &rng) == 0 ? nil
                    : now + Interval(nanoseconds: UInt64.random(in: 0..<2_000, using: &rng) * 1_000_000 + tick)
                timers.set(sa[Int(key)], at: at)
                expected[key] = at
            }
            now = now + .milliseconds(500)
            let fired = expected.filter { $0.value <= now }.sorted { $0.value < $1.value }.map { $0.key }
            #expect(timers.due(now: now).map { $0.key } == fired)
            for key in fired { expected[key] = nil }
            #expect(timers.count == expected.count && timers.next == expected.values.min())
        }
    }

    /// Our request (a CHILD_SA rekey) whose answers are all lost for 80 s while the
    /// peer's own requests (its liveness checks) reach us: the peer is alive, so the
    /// request goes on, a round more each time the peer was heard during one, and
    /// completes once answers get through; before, it gave up after one round (about
    /// 60 s) and the tunnel went down.
    @Test(arguments: [false, true]) func anUnansweredRequestGoesOnWhileThePeerIsHeard(peerSilent: Bool) throws {
        let (p, _, sb) = try RekeyFailureTests().established()
        let start = p.now
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        for halfSecond in 1...400 {
            p.now = p.now + .milliseconds(500)
            // The peer's liveness check, every 20 s from 40 s on.
            if halfSecond >= 80, halfSecond % 40 == 0 { sb.lastHeard = Instant(nanoseconds: p.now.nanoseconds - 31_000_000_000) }
            // b's answers (response flag) are lost for the first 80 s; with
            // a silent peer, all it sends.
            p.tickAndDeliver { bytes, fromA in !fromA && (peerSilent || bytes[19] & 0x20 != 0) && p.now - start < .seconds(80) }
        }
        let dead = p.aEvents.contains { if case .report(.peerDead) = $0 { return true }; return false }
        #expect(dead == peerSilent, "\(p.aEvents)")
        if !peerSilent {
            #expect(p.aEvents.contains { if case .report(.phase2Rekeyed(1, _)) = $0 { return true }; return false })
        }
    }
}
