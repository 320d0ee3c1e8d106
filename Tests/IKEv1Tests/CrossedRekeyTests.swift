import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv1

/// Both sides rekey phase 1 at once (both asked, or both soft lifetimes near): two new
/// ISAKMP SAs cross. Both sides keep the one the lower address (here a, 192.0.2.1)
/// initiated, whichever completes first where; the other goes.
@Suite struct CrossedRekeyTests {
    func tunnelSA(_ e: IKEv1Engine, _ tunnel: UInt32) -> ISAKMPSA? { e.byTunnel[tunnel].flatMap { e.sas[$0] } }

    /// a's tunnel 1 up with b, which numbered its side 5; no liveness checks.
    func tunnelUp(sourceLocation: SourceLocation = #_sourceLocation) -> Pair {
        let p = Pair()
        var policy = p.configure()
        policy.dpdDelaySeconds = 0
        p.b.policies[0].dpdDelaySeconds = 0
        p.a.policies = [policy]
        p.start(policy)
        p.run()
        #expect(p.bEvents.contains { if case .report(.negotiated(5, _, _, _)) = $0 { return true }; return false },
                sourceLocation: sourceLocation)
        return p
    }

    /// Delivers what both have to send, `n` times over (one round: a's datagrams to b, then
    /// b's to a); what they send after that waits for `run`.
    func rounds(_ p: Pair, _ n: Int) {
        for _ in 0..<n {
            p.now = p.now + .milliseconds(1)
            for (from, to, isA) in [(p.a, p.b, true), (p.b, p.a, false)] {
                for out in from.takeOutput() {
                    if case let .send(bytes, src, dst) = out {
                        to.receive(bytes, from: src, to: dst, now: p.now)
                    } else if isA { p.aEvents.append(out) } else { p.bEvents.append(out) }
                }
            }
        }
    }

    /// `first`'s rekey starts and `head` rounds of its Main Mode go through (3: complete),
    /// then the other side starts its own.
    @Test(arguments: [(true, 0), (true, 1), (true, 2), (true, 3), (false, 0), (false, 1), (false, 2), (false, 3)])
    func bothKeepTheLowerAddressesSA(aFirst: Bool, head: Int) throws {
        let p = tunnelUp()
        let original = try #require(tunnelSA(p.a, 1)).cookieI
        let (first, second, firstTunnel, secondTunnel) = aFirst ? (p.a, p.b, UInt32(1), UInt32(5)) : (p.b, p.a, UInt32(5), UInt32(1))
        first.rekey(tunnel: firstTunnel, phase: 1, now: p.now)
        rounds(p, head)
        p.now = p.now + .milliseconds(1)
        second.rekey(tunnel: secondTunnel, phase: 1, now: p.now)
        p.run()
        p.advance(seconds: 130)
        let sa = try #require(tunnelSA(p.a, 1), "\(logs(p.aEvents)) \(logs(p.bEvents))")
        let sb = try #require(tunnelSA(p.b, 5), "\(logs(p.bEvents))")
        // One ISAKMP SA on each side, the same one, initiated by a, not the original.
        #expect(sa.cookieI == sb.cookieI && sa.cookieR == sb.cookieR, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        // A rekey that began after the other was up is not a crossing: the later one stays.
        let byA = head < 3 || !aFirst
        #expect(sa.initiator == byA && sa.cookieI != original)
        #expect(p.a.saCount == 1 && p.b.saCount == 1, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(sa.child != nil && sb.child != nil && sa.child?.sa.outboundSPI == sb.child?.sa.inboundSPI)
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty, "\(failures(p.bEvents)) \(logs(p.aEvents)) \(logs(p.bEvents))")
    }

    /// The peer's phase 1 rekey whose last Main Mode message (our answer) is lost: the
    /// peer's retransmission is answered again, and both move to the new SA.
    @Test(arguments: [5, 6]) func thePeersRekeyWithALostEnd(lost: Int) throws {
        let p = tunnelUp()
        let original = try #require(tunnelSA(p.a, 1)).cookieI
        p.b.rekey(tunnel: 5, phase: 1, now: p.now)
        p.sent = 0
        p.run(drop: { $0 == lost })
        p.advance(seconds: 130)
        let sa = try #require(tunnelSA(p.a, 1), "\(logs(p.aEvents))")
        let sb = try #require(tunnelSA(p.b, 5), "\(logs(p.bEvents))")
        #expect(sa.cookieI == sb.cookieI && sa.cookieR == sb.cookieR && sa.cookieI != original, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(p.a.saCount == 1 && p.b.saCount == 1, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty)
    }

    /// b (the higher address) began its rekey before a's was up there, but its first
    /// message reached a only after a's was up here (`delay` later: delayed, or lost and
    /// sent again): b judges the two crossed and deletes its own. Within the crossing
    /// window a judges the same, and its loss changes nothing; later, a takes b's SA for
    /// b's rekey of its own, and b's delete hands the tunnel back. Both end on a's SA.
    @Test(arguments: [(2, true), (2, false), (8, false)]) func thePeersRekeyDelayedPastOurs(delay: Int, lostDelete: Bool) throws {
        let p = tunnelUp()
        p.b.rekey(tunnel: 5, phase: 1, now: p.now)
        let delayed = p.b.takeOutput()
        p.a.rekey(tunnel: 1, phase: 1, now: p.now)
        p.run()
        let ours = try #require(tunnelSA(p.a, 1))
        #expect(ours.initiator && tunnelSA(p.b, 5)?.cookieI == ours.cookieI)
        p.now = p.now + .seconds(UInt64(delay))
        for case let .send(bytes, src, dst) in delayed { p.a.receive(bytes, from: src, to: dst, now: p.now) }
        // After the held first message: a's MM2, b's MM3, a's MM4, b's MM5, a's MM6, b's delete.
        p.sent = 0
        p.run(drop: { lostDelete && $0 == 6 })
        p.advance(seconds: 130)
        let sa = try #require(tunnelSA(p.a, 1), "\(logs(p.aEvents))")
        let sb = try #require(tunnelSA(p.b, 5), "\(logs(p.bEvents))")
        #expect(sa.cookieI == ours.cookieI && sb.cookieI == ours.cookieI && sa.cookieR == sb.cookieR, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(p.a.saCount == 1 && p.b.saCount == 1, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(sa.child != nil && sa.child?.sa.outboundSPI == sb.child?.sa.inboundSPI)
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(!p.aEvents.contains { if case .report(.deleted) = $0 { return true }; return false }, "\(logs(p.aEvents))")
    }

    /// b rekeys a's new SA for real some seconds after it came up (as charon's
    /// reauthentication does): both move to b's SA.
    @Test func thePeersRealRekeyAfterOurs() throws {
        let p = tunnelUp()
        p.a.rekey(tunnel: 1, phase: 1, now: p.now)
        p.run()
        let ours = try #require(tunnelSA(p.a, 1))
        p.now = p.now + .seconds(5)
        p.b.rekey(tunnel: 5, phase: 1, now: p.now)
        p.run()
        p.advance(seconds: 130)
        let sa = try #require(tunnelSA(p.a, 1), "\(logs(p.aEvents))")
        let sb = try #require(tunnelSA(p.b, 5), "\(logs(p.bEvents))")
        #expect(!sa.initiator && sa.cookieI != ours.cookieI && sa.cookieI == sb.cookieI && sa.cookieR == sb.cookieR,
                "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(p.a.saCount == 1 && p.b.saCount == 1, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(sa.child != nil && sa.child?.sa.outboundSPI == sb.child?.sa.inboundSPI)
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty, "\(logs(p.aEvents)) \(logs(p.bEvents))")
    }

    /// Both rekey, and b's completes first (a's first message is held): a refuses b's
    /// (its own, from the lower address, is under way), b moves to its own and deletes
    /// the original SA. That delete must not take a's tunnel down: a's rekey comes up,
    /// b yields to it, and both end on a's SA.
    @Test func thePeerDeletesTheOriginalWhileOurRekeyIsUnderWay() throws {
        let p = tunnelUp()
        let original = try #require(tunnelSA(p.a, 1))
        p.a.rekey(tunnel: 1, phase: 1, now: p.now)
        let held = p.a.takeOutput()
        p.b.rekey(tunnel: 5, phase: 1, now: p.now)
        p.run()
        // b's rekey is up on both sides; b now deletes the SA it replaced.
        let replaced = try #require(p.b.sas.values.first { $0.cookieI == original.cookieI })
        p.b.deleteISAKMP(replaced, now: p.now)
        p.run()
        #expect(!p.aEvents.contains { if case .report(.deleted) = $0 { return true }; return false }, "\(logs(p.aEvents))")
        for case let .send(bytes, src, dst) in held { p.b.receive(bytes, from: src, to: dst, now: p.now) }
        p.run()
        p.advance(seconds: 130)
        let sa = try #require(tunnelSA(p.a, 1), "\(logs(p.aEvents))")
        let sb = try #require(tunnelSA(p.b, 5), "\(logs(p.bEvents))")
        #expect(sa.initiator && sa.cookieI != original.cookieI && sa.cookieI == sb.cookieI && sa.cookieR == sb.cookieR,
                "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(p.a.saCount == 1 && p.b.saCount == 1, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(sa.child != nil && sa.child?.sa.outboundSPI == sb.child?.sa.inboundSPI)
        #expect(failures(p.aEvents).isEmpty, "\(logs(p.aEvents))")
        #expect(!p.aEvents.contains { if case .report(.deleted) = $0 { return true }; return false }, "\(logs(p.aEvents))")
    }

    /// a's rekey is up at b, whose MM6 to a is lost; b rekeys a's new SA seconds later,
    /// and b's Main Mode is up at a before a's MM6 comes again. To b the two are in
    /// sequence; to a they crossed, and a refuses b's SA and ignores its Quick Mode. a's
    /// renewal on its own SA then shows b that a did not take b's rekey: b hands the
    /// tunnel back to a's SA and deletes its own. Both end on a's SA, with no failure.
    @Test(arguments: [500, 1500]) func aRekeyInSequenceThereButCrossedHere(after milliseconds: Int) throws {
        let p = tunnelUp()
        let original = try #require(tunnelSA(p.a, 1)).cookieI
        p.a.rekey(tunnel: 1, phase: 1, now: p.now)
        p.sent = 0
        p.run(drop: { $0 == 6 })  // MM1 to MM5 arrive; b's MM6 is lost
        let ours = try #require(p.a.sas.values.first { $0.initiator && $0.cookieI != original })
        #expect(!ours.isEstablished && tunnelSA(p.b, 5)?.cookieI == ours.cookieI)
        p.now = p.now + .milliseconds(UInt64(milliseconds))
        p.b.rekey(tunnel: 5, phase: 1, now: p.now)
        p.run()
        p.advance(seconds: 130)
        #expect(logs(p.bEvents).contains { $0.contains("(it took the two for crossed); the tunnel goes back to it") })
        let sa = try #require(tunnelSA(p.a, 1), "\(logs(p.aEvents))")
        let sb = try #require(tunnelSA(p.b, 5), "\(logs(p.bEvents))")
        #expect(sa.cookieI == ours.cookieI && sb.cookieI == ours.cookieI && sa.cookieR == sb.cookieR, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(p.a.saCount == 1 && p.b.saCount == 1, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(sa.child != nil && sa.child?.sa.outboundSPI == sb.child?.sa.inboundSPI && sa.child?.sa.inboundSPI == sb.child?.sa.outboundSPI,
                "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty, "\(logs(p.aEvents)) \(logs(p.bEvents))")
    }

    /// Our phase 1 rekey is under way when the tunnel is deleted: when the rekey comes up
    /// it is deleted too, and reported to no tunnel; one that fails, fails no tunnel.
    @Test(arguments: [false, true]) func aRekeyOfAnSAGoneSince(rekeyFails: Bool) throws {
        let p = tunnelUp()
        p.a.rekey(tunnel: 1, phase: 1, now: p.now)
        let held = p.a.takeOutput()
        p.a.delete(tunnel: 1, phase: 1, now: p.now)
        p.run()
        p.aEvents = []
        if !rekeyFails {
            for case let .send(bytes, src, dst) in held { p.b.receive(bytes, from: src, to: dst, now: p.now) }
            p.run()
        }
        p.advance(seconds: 130, drop: { _ in rekeyFails })
        #expect(p.a.saCount == 0, "\(logs(p.aEvents))")
        #expect(!rekeyFails ? p.b.saCount == 0 : true, "\(logs(p.bEvents))")
        #expect(!p.aEvents.contains { if case .report = $0 { return true }; return false }, "\(p.aEvents)")
    }
}
