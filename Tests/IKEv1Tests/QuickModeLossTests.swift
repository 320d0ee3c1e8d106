import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv1

/// Quick Modes under loss, as charon showed them on a lossy link: IKEv1's last Quick Mode
/// message (QM3) has no answer, so either side may never learn whether it arrived.
@Suite struct QuickModeLossTests {
    /// Our Quick Mode rekey whose QM3 is lost (both copies): the peer keeps its pair (no
    /// Delete comes ahead of it), retransmits QM2, gets QM3 again, and the old pair goes
    /// after that.
    @Test func aLostQM3LeavesThePeerAPair() throws {
        let p = Pair()
        p.up()
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        p.sent = 0
        p.run(drop: { $0 == 3 || $0 == 4 })  // QM1, QM2, QM3 and its copy
        #expect(p.b.sas.values.first?.child != nil)
        p.advance(seconds: 40)
        let a = try #require(p.a.sas.values.first?.child), b = try #require(p.b.sas.values.first?.child)
        #expect(a.sa.outboundSPI == b.sa.inboundSPI && a.sa.inboundSPI == b.sa.outboundSPI, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(p.b.sas.values.allSatisfy { $0.retired.isEmpty })
        #expect(!p.bEvents.contains { if case .report(.deleted) = $0 { return true }; return false }, "\(logs(p.bEvents))")
        #expect(p.b.counters.retransmitsSent >= 1 && p.a.counters.retransmitsAnswered >= 1)
    }

    /// A phase 2 rekey that fails (the network lost everything after the peer had our
    /// QM1, so the peer's QM2 went unanswered too) fails neither side's tunnel: the IPsec
    /// SAs in use stay on both, and ours is tried again a minute later, and then succeeds.
    @Test func aFailedPhase2RekeyKeepsTheTunnelAndIsTriedAgain() throws {
        let p = Pair()
        p.up(dpd: 0)
        let before = try #require(p.a.sas.values.first?.child).sa.inboundSPI
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        p.sent = 0
        p.run(drop: { $0 > 1 })  // QM1 arrives; QM2 and everything after it is lost
        p.advance(seconds: 70, drop: { _ in true })
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(logs(p.aEvents).contains { $0.hasSuffix("the current IPsec SAs stay; tried again in 60.000s") }, "\(logs(p.aEvents))")
        #expect(logs(p.bEvents).contains { $0.hasSuffix("the current IPsec SAs stay") }, "\(logs(p.bEvents))")
        #expect(p.a.sas.values.first?.child?.sa.inboundSPI == before && p.b.sas.values.first?.child?.sa.outboundSPI == before)
        // The network is back: the next try goes through.
        p.advance(seconds: 60)
        let a = try #require(p.a.sas.values.first?.child), b = try #require(p.b.sas.values.first?.child)
        #expect(a.sa.inboundSPI != before && a.sa.outboundSPI == b.sa.inboundSPI && a.sa.inboundSPI == b.sa.outboundSPI, "\(logs(p.aEvents))")
        #expect(p.aEvents.contains { if case .report(.phase2Rekeyed(1, _)) = $0 { return true }; return false })
    }

    /// QM3 goes twice: one lost copy costs nothing, the peer takes its IPsec SAs up at
    /// once rather than after retransmitting QM2 (which charon cannot decrypt our answer
    /// to once three other exchanges have passed on the ISAKMP SA).
    @Test func oneLostQM3CopyCostsNothing() throws {
        let p = Pair()
        p.up()
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        p.sent = 0
        p.run(drop: { $0 == 3 })  // QM1, QM2, QM3 (lost), its copy
        let a = try #require(p.a.sas.values.first?.child), b = try #require(p.b.sas.values.first?.child)
        #expect(a.sa.outboundSPI == b.sa.inboundSPI && a.sa.inboundSPI == b.sa.outboundSPI, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(p.b.counters.retransmitsSent == 0 && p.sent == 4)
    }

    /// Both QM3 copies lost: the peer's retransmitted QM2 is answered with QM3 twice
    /// again, so one more lost copy still costs nothing.
    @Test func aRetransmittedQM2IsAnsweredTwice() throws {
        let p = Pair()
        p.up()
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        p.sent = 0
        p.run(drop: { $0 == 3 || $0 == 4 })  // QM1, QM2, QM3 and its copy lost
        p.advance(seconds: 5, drop: { $0 == 6 })  // QM2 again (5), QM3 (6, lost), its copy (7)
        let a = try #require(p.a.sas.values.first?.child), b = try #require(p.b.sas.values.first?.child)
        #expect(a.sa.outboundSPI == b.sa.inboundSPI && a.sa.inboundSPI == b.sa.outboundSPI, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(p.b.counters.retransmitsSent == 1 && p.a.counters.retransmitsAnswered == 1 && p.sent == 7)
    }

    /// The same with liveness checks going on meanwhile (the peer's R-U-THEREs and our
    /// ACKs, one-way Informationals): they do not push our QM3 out of what we keep for
    /// the peer's retransmitted QM2, which is answered again, not taken for a new
    /// exchange that does not decrypt.
    @Test func informationalsDoNotPushOutTheQM3() throws {
        let p = Pair()
        p.up()
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        p.sent = 0
        p.run(drop: { $0 == 3 || $0 == 4 })  // QM1, QM2, QM3 and its copy
        let sb = try #require(p.b.sas.values.first)
        for sequence in UInt32(100)..<108 {
            p.b.rUThere(sb, sequence)
            p.run()
        }
        p.advance(seconds: 40)
        let a = try #require(p.a.sas.values.first?.child), b = try #require(sb.child)
        #expect(a.sa.outboundSPI == b.sa.inboundSPI && a.sa.inboundSPI == b.sa.outboundSPI, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        #expect(p.a.counters.hashFailures == 0 && p.a.counters.retransmitsAnswered >= 1)
    }

    /// The peer's Quick Mode rekey whose QM3 never arrives (charon does not send it again
    /// once it has sent another request): our QM2 goes unanswered, but the peer shows it
    /// had QM2, by deleting the pair the rekey replaced (`peerDeletes`, as `ike` does) or
    /// by speaking at all after it (its liveness checks; charon keeps the old pair), so
    /// ours goes up too, rather than the tunnel failing.
    @Test(arguments: [true, false]) func aQM3NeverSeenButThePeerAlive(peerDeletes: Bool) throws {
        let p = Pair()
        p.up()
        let sb = try #require(p.b.sas.values.first)
        p.b.rekey(tunnel: 5, phase: 2, now: p.now)
        var qm2Delivered = false
        for second in 1...90 {
            p.now = p.now + .seconds(1)
            if second % 5 == 0 { p.b.rUThere(sb, UInt32(second)) }
            // b's QM3 (the shortest Quick Mode message, 76 bytes: a header and
            // a HASH); without `peerDeletes`, its Delete (92 bytes; an
            // R-U-THERE is 108). And our retransmitted QM2s, which charon, having sent
            // another request since, does not answer (b would, and after three would
            // end the phase: aPeerThatNeverTakesOurQM3FailsThePhase).
            p.tickAndDeliver { bytes, fromA in
                if fromA { defer { if bytes[18] == 32 { qm2Delivered = true } }; return bytes[18] == 32 && qm2Delivered }
                return bytes.count < 100 && (bytes[18] == 32 || (!peerDeletes && bytes[18] == 5))
            }
        }
        let a = try #require(p.a.sas.values.first?.child, "\(logs(p.aEvents))"), b = try #require(sb.child)
        #expect(a.sa.outboundSPI == b.sa.inboundSPI && a.sa.inboundSPI == b.sa.outboundSPI, "\(logs(p.aEvents))")
        #expect(failures(p.aEvents).isEmpty, "\(logs(p.aEvents))")
        #expect(p.aEvents.contains { if case .report(.phase2Rekeyed(1, _)) = $0 { return true }; return false })
        #expect(!p.aEvents.contains { if case .report(.deleted) = $0 { return true }; return false })
    }

    /// A peer that never takes our QM3 (charon, once liveness checks have pushed the Quick
    /// Mode out of the exchanges it can still decrypt) retransmits QM2 until it gives up
    /// and drops the ISAKMP SA, while our IPsec SAs, up since QM2, carry traffic into
    /// nothing. At its third retransmission the phase fails here and both ends lose the
    /// SAs (so the tunnel is tried again at once); the network's duplicates of a QM2 are
    /// not counted as retransmissions.
    @Test(arguments: [false, true]) func aPeerThatNeverTakesOurQM3FailsThePhase(rekey: Bool) throws {
        let p = Pair()
        if rekey {
            p.up(dpd: 0)
            p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        } else {
            p.start(p.configure())
        }
        p.aEvents = []
        // QM3 is the shortest Quick Mode message (76 bytes: a header and a HASH).
        let isQM3 = { (bytes: [UInt8], fromA: Bool) in fromA && bytes[18] == 32 && bytes.count < 100 }
        var qm2Copies = 0, failedAt: Int? = nil
        for halfSecond in 1...120 where failedAt == nil {
            p.now = p.now + .milliseconds(500)
            p.tickAndDeliver { bytes, fromA in
                if !fromA && bytes[18] == 32 {
                    // Every QM2 the peer sends reaches us twice.
                    qm2Copies += 1
                    p.a.receive(bytes, from: Endpoint(IPAddress("198.51.100.7")!, 500), to: Endpoint(IPAddress("192.0.2.1")!, 500), now: p.now)
                }
                return isQM3(bytes, fromA)
            }
            if !failures(p.aEvents).isEmpty { failedAt = halfSecond }
        }
        let failed = try #require(failedAt, "\(logs(p.aEvents))")
        #expect(failures(p.aEvents).count == 1 && failures(p.aEvents)[0].hasSuffix("times more after our QM3; it does not take it"),
                "\(failures(p.aEvents))")
        // The peer's first QM2 and its three retransmissions, 2, 6 and 14 s after it, not
        // the network's copies of the first two.
        #expect(p.b.counters.retransmitsSent == 3 && qm2Copies == 4 && failed >= 24, "\(failed) \(qm2Copies)")
        // Our Delete ended the ISAKMP SA and its waiting Quick Mode at the peer.
        #expect(p.a.sas.isEmpty && p.b.sas.isEmpty, "\(logs(p.bEvents))")
        #expect(rekey || !p.aEvents.isEmpty && established(p.aEvents).child != nil)
    }
}
