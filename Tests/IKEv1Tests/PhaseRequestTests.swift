import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv1

/// The engine honours phase requests (`ike cmd=activate phase=1`, then `phase=2`), and
/// makes phase 2 again on request after it was deleted.
@Suite struct PhaseRequestTests {
    @Test func phase1AloneThenPhase2OnRequest() throws {
        let p = Pair()
        p.a.initiate(tunnel: 1, policy: p.configure(), remote: IPAddress("198.51.100.7")!, phase2: false, now: p.now)
        p.run()
        // Main Mode's six messages and no Quick Mode.
        #expect(established(p.aEvents).ike && established(p.aEvents).child == nil && p.sent == 6)
        p.a.requestPhase2(tunnel: 1, now: p.now)
        p.run()
        try expectMatchingChildren(p)
        #expect(p.sent == 10)  // QM1, QM2, QM3 twice
        // Asked again with phase 2 up: nothing more.
        p.a.requestPhase2(tunnel: 1, now: p.now)
        p.run()
        #expect(p.sent == 10)
    }

    @Test func phase2IsMadeAgainAfterItsDelete() throws {
        let p = Pair()
        p.up()
        #expect(p.bEvents.contains { if case .report(.negotiated(5, _, _, _)) = $0 { return true }; return false })
        p.bEvents = []
        p.a.delete(tunnel: 1, phase: 2, now: p.now)
        p.run()
        #expect(p.bEvents.contains { if case .report(.deleted(5, .two)) = $0 { return true }; return false })
        p.aEvents = []
        p.bEvents = []
        p.a.requestPhase2(tunnel: 1, now: p.now)
        p.run()
        let ac = try #require(established(p.aEvents).child, "\(logs(p.aEvents))")
        let bc = try #require(p.bEvents.compactMap { if case let .report(.phase2Created(_, c)) = $0 { return c }; return nil }.first, "\(logs(p.bEvents))")
        #expect(ac.outboundSPI == bc.inboundSPI && ac.outbound.encryption == bc.inbound.encryption)
    }
}
