import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv1

/// Time on the wheel (the engine-core issue): each SA has one deadline, the engine asks
/// to be woken at the earliest, and a step happens when it is due, not on a poll.
@Suite struct TimerTests {
    func sends(_ events: [EngineOutput]) -> Int {
        events.reduce(0) { n, e in if case .send = e { return n + 1 }; return n }
    }

    @Test func theRUThereGoesOutWhenItIsDue() throws {
        let p = Pair()
        p.up(dpd: 10)
        #expect(p.bEvents.contains { if case .report(.negotiated(5, _, _, _)) = $0 { return true }; return false })
        let sa = try #require(p.b.sas.values.first)
        #expect(p.b.timers.count == p.b.sas.count && p.a.timers.count == p.a.sas.count)
        #expect(p.b.wakeAt == sa.lastHeard + .seconds(10))
        p.b.tick(now: p.now + .milliseconds(9_999))
        #expect(sends(p.b.takeOutput()) == 0)
        p.b.tick(now: p.now + .seconds(10))
        #expect(sends(p.b.takeOutput()) == 1 && sa.dpdPending != nil)
    }

    @Test func aRemovedSALeavesNoDeadline() throws {
        let p = Pair()
        p.up()
        p.a.delete(tunnel: 1, phase: 1, now: p.now)
        p.run()
        #expect(p.a.sas.isEmpty && p.a.timers.count == 0 && p.a.wakeAt == nil)
    }

    /// Every R-U-THERE-ACK (every Informational) from b is lost, but b rekeys its IPsec
    /// SAs every 25 s: what comes from b is authentic, so a never declares it dead.
    @Test func anAnswerOtherThanTheACKProvesLiveness() throws {
        let p = Pair()
        p.up(dpd: 10)
        for second in 1...120 {
            for _ in 0..<2 {
                p.now = p.now + .milliseconds(500)
                // Exchange type 5: an Informational.
                p.tickAndDeliver { bytes, fromA in !fromA && bytes[18] == 5 }
            }
            if second % 25 == 0 { p.b.rekey(tunnel: 5, phase: 2, now: p.now) }
        }
        #expect(!p.aEvents.contains { if case .report(.peerDead) = $0 { return true }; return false }, "\(logs(p.aEvents))")
    }
}
