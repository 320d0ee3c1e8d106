import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv2

/// The engine honours phase requests (`ike cmd=activate phase=1`, then `phase=2`): the
/// CHILD_SA IKE_AUTH made is held until asked for, and a deleted phase 2 is made again
/// with CREATE_CHILD_SA (RFC 7296 §1.3.1), from either side.
@Suite struct PhaseRequestTests {
    func children(_ events: [EngineOutput]) -> [ChildSA] {
        events.compactMap { if case let .report(.phase2Created(_, c)) = $0 { return c }; return nil }
    }

    func ikeUp(_ events: [EngineOutput]) -> Bool {
        events.contains { if case .report(.phase1Created) = $0 { return true }; return false }
    }

    func deleted(_ events: [EngineOutput], _ tunnel: UInt32) -> Bool {
        events.contains { if case .report(.deleted(tunnel, .two)) = $0 { return true }; return false }
    }

    @Test func theChildOfIKEAuthIsHeldUntilPhase2IsRequested() throws {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"),
                     remote: IPAddress("198.51.100.7")!, phase2: false, now: p.now)
        p.run()
        #expect(ikeUp(p.aEvents) && children(p.aEvents).isEmpty)
        let sent = p.sent
        p.a.requestPhase2(tunnel: 1, now: p.now)
        p.run()
        // No exchange: the CHILD_SA IKE_AUTH made is the one reported.
        #expect(p.sent == sent)
        let ac = try #require(children(p.aEvents).first)
        var bc: ChildSA? = nil
        for e in p.bEvents { if case let .report(.negotiated(_, _, _, c)) = e { bc = c } }
        let b = try #require(bc)
        #expect(ac.outboundSPI == b.inboundSPI && ac.outbound.encryption == b.inbound.encryption)
        p.a.requestPhase2(tunnel: 1, now: p.now)
        #expect(children(p.a.takeOutput()).isEmpty)
    }

    @Test(arguments: [true, false])
    func aDeletedPhase2IsMadeAgain(byInitiator: Bool) throws {
        let p = RekeyTests().established()
        let (us, ours, theirs) = byInitiator ? (p.a, UInt32(1), UInt32(5)) : (p.b, UInt32(5), UInt32(1))
        us.delete(tunnel: ours, phase: 2, now: p.now)
        p.run()
        #expect(deleted(byInitiator ? p.bEvents : p.aEvents, theirs))
        p.aEvents = []
        p.bEvents = []
        us.requestPhase2(tunnel: ours, now: p.now)
        p.run()
        let mine = try #require(children(byInitiator ? p.aEvents : p.bEvents).first, "\(p.aEvents) \(p.bEvents)")
        let peer = try #require(children(byInitiator ? p.bEvents : p.aEvents).first)
        #expect(mine.outboundSPI == peer.inboundSPI && mine.inboundSPI == peer.outboundSPI)
        #expect(mine.outbound.encryption == peer.inbound.encryption && mine.inbound.encryption == peer.outbound.encryption)
        #expect(mine.localSelectors == peer.remoteSelectors && mine.remoteSelectors == peer.localSelectors)
        // It lives like the first: a rekey of it works.
        p.aEvents = []
        p.bEvents = []
        us.rekey(tunnel: ours, phase: 2, now: p.now)
        p.run()
        #expect((byInitiator ? p.aEvents : p.bEvents).contains { if case .report(.phase2Rekeyed) = $0 { return true }; return false })
    }
}
