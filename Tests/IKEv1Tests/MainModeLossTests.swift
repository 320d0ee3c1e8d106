import IKECore
import IKEWire
import Testing
@testable import IKEv1

/// Main Modes under loss, as charon showed them on a lossy link: charon retransmits a
/// request for 165 s (after 4, 7, 13, 23 and 42 s), much longer than a responder keeps a
/// half-open SA from a source it knows nothing about.
@Suite struct MainModeLossTests {
    /// What `engine` sends, taken from its output.
    func sent(_ engine: IKEv1Engine) -> [[UInt8]] {
        engine.takeOutput().compactMap { if case let .send(bytes, _, _) = $0 { return bytes }; return nil }
    }

    /// The peer's MM3 reached us, but our MM4 answers were all lost until its
    /// retransmission 45 s after its MM1: the peer has come back with our cookie, so its
    /// address is proven, and the SA waits for it as long as a peer retransmits; the copy
    /// is answered and Main Mode completes. (A half-open SA that only ever saw an MM1
    /// still goes after `halfOpenLifetime`.)
    @Test func aPeerRetransmittingMM3LateIsAnswered() throws {
        let p = Pair()
        let policy = p.configure()
        let t0 = p.now
        p.start(policy)
        let a = IPAddress("192.0.2.1")!, b = IPAddress("198.51.100.7")!
        let fromA = Endpoint(a, 500), fromB = Endpoint(b, 500)
        let mm1 = try #require(sent(p.a).first)
        p.b.receive(mm1, from: fromA, to: fromB, now: t0)
        let mm2 = try #require(sent(p.b).first)
        p.a.receive(mm2, from: fromB, to: fromA, now: t0)
        let mm3 = try #require(sent(p.a).first)
        p.b.receive(mm3, from: fromA, to: fromB, now: t0 + .seconds(1))
        #expect(sent(p.b).count == 1)  // MM4, lost
        for second in stride(from: 2, through: 44, by: 1) { p.b.tick(now: t0 + .seconds(UInt64(second))) }
        _ = p.b.takeOutput()
        p.b.receive(mm3, from: fromA, to: fromB, now: t0 + .seconds(45))
        let mm4 = try #require(sent(p.b).first, "the late MM3 copy went unanswered")
        #expect(p.b.counters.retransmitsAnswered == 1)
        p.now = t0 + .seconds(45)
        p.a.receive(mm4, from: fromB, to: fromA, now: p.now)
        p.run()
        #expect(established(p.aEvents).child != nil, "\(logs(p.aEvents)) \(logs(p.bEvents))")
    }

    /// A half-open SA whose peer never came back with our cookie (a spoofed source, or a
    /// peer that lost our MM2 for good) still goes after `halfOpenLifetime`.
    @Test func anUnprovenHalfOpenSAGoesAfterItsLifetime() throws {
        let p = Pair()
        let policy = p.configure()
        let t0 = p.now
        p.start(policy)
        let mm1 = try #require(sent(p.a).first)
        p.b.receive(mm1, from: Endpoint(IPAddress("192.0.2.1")!, 500), to: Endpoint(IPAddress("198.51.100.7")!, 500), now: t0)
        #expect(p.b.halfOpenCount == 1)
        p.b.tick(now: t0 + IKEv1Engine.halfOpenLifetime)
        #expect(p.b.halfOpenCount == 0 && p.b.sas.isEmpty && p.b.counters.halfOpenExpired == 1)
    }
}

extension MainModeLossTests {
    /// The peer's phase 1 rekey stops after its MM3 (every message lost for three
    /// minutes): charon then drops the IPsec SAs it had moved to the new SA, so once that
    /// half-open SA goes, we rekey phase 1 ourselves, and the tunnel is renewed on both
    /// sides when the link carries again.
    @Test func aPeersRekeyStoppedHalfwayIsRedoneFromHere() throws {
        let p = CrossedRekeyTests().tunnelUp()
        let first = try #require(p.a.sas.values.first { $0.tunnel != nil })
        let before = try #require(first.child?.sa.inboundSPI)
        p.b.rekey(tunnel: 5, phase: 1, now: p.now)
        p.sent = 0
        p.run(drop: { $0 > 3 })  // MM1, MM2, MM3 arrive; nothing after
        let lossEnds = p.now + .seconds(185)
        p.aEvents = []
        while p.now < lossEnds { p.advance(seconds: 1, drop: { _ in true }) }
        #expect(logs(p.aEvents).contains { $0.contains("stopped its phase 1 rekey halfway") }, "\(logs(p.aEvents))")
        p.advance(seconds: 60)
        let holder = try #require(p.a.sas.values.first { $0.tunnel != nil })
        #expect(holder.initiator && holder.localCookie != first.localCookie, "ours, not the peer's next try: \(logs(p.aEvents))")
        let after = try #require(holder.child?.sa)
        let peer = try #require(p.b.sas.values.first { $0.tunnel != nil }?.child?.sa)
        #expect(after.inboundSPI != before && after.inboundSPI == peer.outboundSPI && after.outboundSPI == peer.inboundSPI,
                "\(logs(p.aEvents)) \(logs(p.bEvents))")
    }
}
