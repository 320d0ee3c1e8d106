import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv2

/// What an unauthenticated sender, or a misbehaving authenticated peer, can make the
/// responder hold (the robustness issue): half-open SAs per source and in all, with room
/// kept for configured peers, and at most two IKE SAs per tunnel through rekeys.
@Suite struct ResourceTests {
    static let exchangeType = 18, ikeSAInit: UInt8 = 34, informational: UInt8 = 37

    /// The responder: a tunnel for 192.0.2.1 and a template for anyone else.
    func responder() -> IKEv2Engine {
        let b = IKEv2Engine { _ in IPAddress("198.51.100.7")! }
        b.policies = [
            Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24"),
            Pair.policy("anyone", local: "198.51.100.7", remote: nil, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24"),
        ]
        return b
    }

    /// An initiator at `source` that answers COOKIEs but never sends IKE_AUTH: each call
    /// leaves (at most) one half-open SA at the responder.
    func halfOpen(_ b: IKEv2Engine, from source: String, now: Instant) {
        let a = IKEv2Engine { _ in IPAddress(source)! }
        a.initiate(tunnel: 1, policy: Pair.policy("x", local: source, remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: now)
        var progress = true
        while progress {
            progress = false
            for case let .send(bytes, src, dst) in a.takeOutput() where bytes[ResourceTests.exchangeType] == ResourceTests.ikeSAInit {
                b.receive(bytes, from: src, to: dst, now: now)
                progress = true
            }
            for case let .send(bytes, src, dst) in b.takeOutput() { a.receive(bytes, from: src, to: dst, now: now) }
        }
    }

    /// A source that answers COOKIEs receives at its address: it holds up to half the
    /// table, and past that its new requests are refused while the exchanges it began
    /// stay (an initiator bringing up many tunnels at once loses none to its own burst).
    @Test func oneSourceThatAnswersCookiesHoldsHalfTheTableAndKeepsWhatItBegan() {
        let b = responder()
        b.limits.halfOpenTotal = 60
        let now = Instant(nanoseconds: 1_000_000_000)
        for _ in 0..<40 { halfOpen(b, from: "203.0.113.9", now: now) }
        #expect(b.halfOpenCount == 30 && b.saCount == 30)
        #expect(b.counters.cookiesSent >= 40 - UInt64(b.limits.cookieThresholdPerSource))
        #expect(b.counters.halfOpenReplaced == 0)
        #expect(b.counters.halfOpenRefused == 10)
        // The other half is for everyone else.
        for i in 0..<5 { halfOpen(b, from: "203.0.113.\(20 + i)", now: now) }
        #expect(b.halfOpenCount == 35)
        // A request that no tunnel takes (no proposal in common) displaces nothing.
        let stranger = IKEv2Engine { _ in IPAddress("203.0.113.9")! }
        let odd = [AlgorithmSet(ciphers: [Cipher(.aesCBC, keyBits: 128)], integrity: [.hmacSHA1_96], prfs: [.hmacSHA1], groups: [.modp2048])]
        stranger.initiate(tunnel: 1, policy: Pair.policy("x", local: "203.0.113.9", remote: "198.51.100.7", ike: odd),
                          remote: IPAddress("198.51.100.7")!, now: now)
        for case let .send(bytes, src, dst) in stranger.takeOutput() { b.receive(bytes, from: src, to: dst, now: now) }
        for case let .send(bytes, src, dst) in b.takeOutput() { stranger.receive(bytes, from: src, to: dst, now: now) }
        for case let .send(bytes, src, dst) in stranger.takeOutput() { b.receive(bytes, from: src, to: dst, now: now) }
        #expect(b.counters.halfOpenReplaced == 0 && b.halfOpenCount == 35)
        // They expire as before, and the counts go with them.
        b.tick(now: now + .seconds(31))
        #expect(b.halfOpenCount == 0 && b.saCount == 0)
    }

    /// Without COOKIEs (thresholds set above the flood) a source's address is unproven:
    /// it holds `half_open_per_source`, and each new one replaces its oldest, so a spoofer
    /// sharing a real peer's address cannot lock it out.
    @Test func anUnprovenSourceHoldsItsShareAndReplacesItsOldest() {
        let b = responder()
        b.limits.cookieThreshold = 10_000
        b.limits.cookieThresholdPerSource = 10_000
        let now = Instant(nanoseconds: 1_000_000_000)
        for _ in 0..<40 { halfOpen(b, from: "203.0.113.9", now: now) }
        #expect(b.counters.cookiesSent == 0)
        #expect(b.halfOpenCount == b.limits.halfOpenPerSource && b.saCount == b.limits.halfOpenPerSource)
        #expect(b.counters.halfOpenReplaced == UInt64(40 - b.limits.halfOpenPerSource))
    }

    @Test func aFullTableStillTakesAConfiguredPeer() {
        let b = responder()
        b.limits.halfOpenTotal = 20
        let now = Instant(nanoseconds: 1_000_000_000)
        for i in 0..<30 { halfOpen(b, from: "203.0.113.\(i + 1)", now: now) }
        #expect(b.halfOpenCount == 20)
        #expect(b.counters.halfOpenRefused == 10)
        // The configured peer's tunnel comes up all the same.
        let a = IKEv2Engine { _ in IPAddress("192.0.2.1")! }
        a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: now)
        var aEvents: [EngineOutput] = [], bEvents: [EngineOutput] = []
        exchange(a, b, now: now, aEvents: &aEvents, bEvents: &bEvents)
        #expect(aEvents.contains { if case .report(.phase2Created) = $0 { return true }; return false })
        #expect(b.halfOpenCount == 20)
    }

    /// A peer that rekeys its IKE SA again and again and never deletes the old one leaves
    /// at most two IKE SAs with us, and the replaced one goes after the grace period.
    @Test func aRekeyChainWithoutDeletesStaysBounded() {
        let p = RekeyTests().established()
        for _ in 0..<10 {
            p.a.rekey(tunnel: 1, phase: 1, now: p.now)
            var progress = true
            while progress {
                progress = false
                for case let .send(bytes, src, dst) in p.a.takeOutput() {
                    // a's deletes of its old IKE SA never reach b.
                    if bytes[ResourceTests.exchangeType] == ResourceTests.informational && bytes[19] & 0x20 == 0 { continue }
                    p.b.receive(bytes, from: src, to: dst, now: p.now)
                    progress = true
                }
                for case let .send(bytes, src, dst) in p.b.takeOutput() {
                    p.a.receive(bytes, from: src, to: dst, now: p.now)
                    progress = true
                }
            }
            #expect(p.b.saCount <= 2)
        }
        p.now = p.now + IKEv2Engine.retireGrace
        p.b.tick(now: p.now)
        #expect(p.b.saCount == 1)
        #expect(Array(p.b.contacted.values) == [1])
        // The tunnel still works on what is left: a CHILD_SA rekey goes through.
        _ = p.b.takeOutput()
        p.aEvents = []
        p.bEvents = []
        p.a.tick(now: p.now)
        p.run()
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        p.run()
        #expect(p.aEvents.contains { if case .report(.phase2Rekeyed) = $0 { return true }; return false })
    }

    @Test func theTableCountsWhatItHolds() {
        var t = HalfOpenTable()
        var limits = ResponderLimits()
        limits.halfOpenTotal = 3
        limits.halfOpenPerSource = 2
        let x = IPAddress("203.0.113.1")!, y = IPAddress("203.0.113.2")!, peer = IPAddress("192.0.2.1")!
        #expect(t.admission(from: x, configuredPeer: false, limits) == .admit)
        t.insert(HalfOpenTable.Key(1, x), ours: 11)
        t.insert(HalfOpenTable.Key(2, x), ours: 12)
        #expect(t.admission(from: x, configuredPeer: false, limits) == .replace(11))
        t.insert(HalfOpenTable.Key(3, y), ours: 13)
        #expect(t.admission(from: y, configuredPeer: false, limits) == .full)
        #expect(t.admission(from: peer, configuredPeer: true, limits) == .admit)
        // A proven source (a valid COOKIE) is refused at its larger share, never replaces.
        #expect(t.admission(from: x, configuredPeer: false, proven: true, limits) == .full)
        limits.halfOpenTotal = 8
        #expect(t.admission(from: x, configuredPeer: false, proven: true, limits) == .admit)
        limits.halfOpenTotal = 3
        #expect(t.responder(initiatorSPI: 2, from: x) == 12 && t.responder(initiatorSPI: 2, from: y) == nil)
        t.settled(HalfOpenTable.Key(2, x), ours: 12)
        #expect(t.halfOpen == 2 && t.halfOpen(from: x) == 1 && t.responder(initiatorSPI: 2, from: x) == 12)
        t.removed(HalfOpenTable.Key(2, x), ours: 12)
        t.removed(HalfOpenTable.Key(1, x), ours: 11)
        #expect(t.halfOpen == 1 && t.halfOpen(from: x) == 0 && t.responder(initiatorSPI: 2, from: x) == nil)
    }
}

/// What an established IKE SA keeps between exchanges.
@Suite struct HeldStateTests {
    /// Our last response serves the peer's retransmissions while it may still send them
    /// (IKE_AUTH's here), then goes.
    @Test func theLastResponseGoesAfterThePeersSilence() throws {
        let p = RekeyTests().established()
        p.b.policies[0].dpdDelaySeconds = 0
        let sa = try #require(p.b.sas.values.first)
        sa.policy?.dpdDelaySeconds = 0
        // Established: the handshake's key exchange, nonces, messages and candidate policies are gone.
        #expect(sa.lastResponse != nil && sa.isEstablished && sa.handshake == nil)
        p.b.tick(now: p.now + .seconds(299))
        #expect(sa.lastResponse != nil)
        p.b.tick(now: p.now + Retransmission.answerKept)
        #expect(sa.lastResponse == nil)
    }

    /// The responder finds an SA by the initiator's first message (its SPI and address)
    /// through the SPI it derived from them, with no index beside its SAs (a hub's SAs
    /// cost the half-open table nothing): a late copy of that message is dropped, before
    /// the peer's next request and after it, and while the SA is half-open a
    /// retransmission gets the same answer.
    @Test func theFirstMessageFindsItsSAWithoutAnIndex() throws {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"),
                     remote: IPAddress("198.51.100.7")!, now: p.now)
        let started = p.a.takeOutput()
        guard let i = started.firstIndex(where: { if case .send = $0 { return true }; return false }),
              case let .send(first, src, dst) = started[i] else {
            Issue.record("no IKE_SA_INIT")
            return
        }
        // A retransmission while half-open: the same answer, the same SA.
        p.b.receive(first, from: src, to: dst, now: p.now)
        let answer = p.b.takeOutput()
        p.b.receive(first, from: src, to: dst, now: p.now)
        let again = p.b.takeOutput()
        guard case let .send(a1, _, _)? = answer.first(where: { if case .send = $0 { return true }; return false }),
              case let .send(a2, _, _)? = again.first(where: { if case .send = $0 { return true }; return false }) else {
            Issue.record("no IKE_SA_INIT answer")
            return
        }
        #expect(a1 == a2 && p.b.sas.count == 1 && p.b.responders.halfOpen == 1)
        for out in answer { if case let .send(bytes, s, d) = out { p.a.receive(bytes, from: s, to: d, now: p.now) } }
        p.run()
        let initiator = try #require(p.a.sas.values.first)
        let responder = try #require(p.b.sas.values.first)
        #expect(initiator.isEstablished && p.b.sas.count == 1 && p.b.responders.halfOpen == 0)
        #expect(responder.localSPI == p.b.responderSPI(initiator.localSPI, src.address))
        #expect(p.b.responders.responder(initiatorSPI: initiator.localSPI, from: src.address) == nil)
        // A late copy of the IKE_SA_INIT is dropped.
        p.b.receive(first, from: src, to: dst, now: p.now)
        #expect(p.b.takeOutput().isEmpty && p.b.sas.count == 1)
        // a's liveness check at 30 s, its first request after IKE_AUTH; a copy still is.
        p.now = p.now + .seconds(30)
        p.tickAndDeliver { _, _ in false }
        p.b.receive(first, from: src, to: dst, now: p.now)
        #expect(p.b.takeOutput().isEmpty)
        #expect(p.b.sas.count == 1 && p.a.sas.count == 1 && p.b.responders.halfOpen == 0)
    }

    /// A hub's own side is the same for each of its CHILD_SAs: they hold the policy's
    /// array of selectors rather than a copy each; a narrowed side has its own.
    @Test func unnarrowedSelectorsShareThePolicysArray() {
        let p = Pair()
        p.b.policies = [Pair.policy("hub", local: "198.51.100.7", remote: nil, localNet: "10.2.0.0/24", remoteNet: "10.0.0.0/8")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("spoke", local: "192.0.2.1", remote: "198.51.100.7", localNet: "10.1.0.0/24",
                                                     remoteNet: "10.2.0.0/24"),
                     remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        guard let child = p.bEvents.lazy.compactMap({ e -> ChildSA? in
            if case let .report(.negotiated(_, _, _, c)) = e { return c }
            return nil
        }).first else {
            Issue.record("no CHILD_SA at the hub")
            return
        }
        func storage(_ s: [TrafficSelector]) -> UnsafeRawPointer? { s.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }
        #expect(child.localSelectors.map { $0.description } == ["10.2.0.0/24"])
        #expect(storage(child.localSelectors) == storage(p.b.policies[0].localSelectors))
        #expect(child.remoteSelectors.map { $0.description } == ["10.1.0.0/24"])
        #expect(storage(child.remoteSelectors) != storage(p.b.policies[0].remoteSelectors))
    }
}
