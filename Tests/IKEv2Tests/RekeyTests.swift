import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv2

@Suite struct RekeyTests {
    /// Both sides up; returns the pair and the responder's SA SPI (tunnel 5 on b).
    func established(espGroups: [DHGroup] = []) -> Pair {
        let p = Pair()
        let esp = [AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256)], integrity: [], prfs: [], groups: espGroups)]
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", esp: esp, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", esp: esp),
                     remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(p.bEvents.contains { if case .report(.negotiated(5, _, _, _)) = $0 { return true }; return false })
        p.aEvents = []
        p.bEvents = []
        return p
    }

    func rekeyedChild(_ events: [EngineOutput]) -> ChildSA? {
        for e in events { if case let .report(.phase2Rekeyed(_, c)) = e { return c } }
        return nil
    }

    @Test(arguments: [[DHGroup](), [.curve25519]])
    func childRekeyFromEitherSideGivesMatchingNewKeys(pfs: [DHGroup]) throws {
        for initiatorIsA in [true, false] {
            let p = established(espGroups: pfs)
            if initiatorIsA { p.a.rekey(tunnel: 1, phase: 2, now: p.now) } else { p.b.rekey(tunnel: 5, phase: 2, now: p.now) }
            p.run()
            let a = try #require(rekeyedChild(p.aEvents)), b = try #require(rekeyedChild(p.bEvents))
            #expect(a.outboundSPI == b.inboundSPI && a.inboundSPI == b.outboundSPI)
            #expect(a.outbound.encryption == b.inbound.encryption && a.inbound.encryption == b.outbound.encryption)
            // The old CHILD_SA was deleted quietly: no phase 2 deletion reported.
            #expect(!p.aEvents.contains { if case .report(.deleted) = $0 { return true }; return false })
            #expect(!p.bEvents.contains { if case .report(.deleted) = $0 { return true }; return false })
            // And the rekeyed SA can be rekeyed again.
            if initiatorIsA { p.a.rekey(tunnel: 1, phase: 2, now: p.now) } else { p.b.rekey(tunnel: 5, phase: 2, now: p.now) }
            p.aEvents = []
            p.bEvents = []
            p.run()
            #expect(rekeyedChild(p.aEvents) != nil && rekeyedChild(p.bEvents) != nil)
        }
    }

    @Test func ikeRekeyMovesTheChildAndDeletesTheOldSA() throws {
        for initiatorIsA in [true, false] {
            let p = established()
            if initiatorIsA { p.a.rekey(tunnel: 1, phase: 1, now: p.now) } else { p.b.rekey(tunnel: 5, phase: 1, now: p.now) }
            p.run()
            let aNew = p.aEvents.compactMap { if case let .report(.phase1Rekeyed(_, s)) = $0 { return s }; return nil }
            let bNew = p.bEvents.compactMap { if case let .report(.phase1Rekeyed(_, s)) = $0 { return s }; return nil }
            #expect(aNew.count == 1 && bNew.count == 1)
            #expect(aNew.first?.initiatorSPI == bNew.first?.initiatorSPI && aNew.first?.responderSPI == bNew.first?.responderSPI)
            #expect(p.a.saCount == 1 && p.b.saCount == 1)
            // Each side still counts one SA with the other: a tunnel started now sends no
            // INITIAL_CONTACT, which would tear this one down.
            #expect(Array(p.a.contacted.values) == [1] && Array(p.b.contacted.values) == [1])
            // The successors are established and keep no handshake (nonces, key exchange).
            #expect((Array(p.a.sas.values) + Array(p.b.sas.values)).allSatisfy { $0.isEstablished && $0.handshake == nil })
            // The new IKE SA works: a CHILD_SA rekey and a delete go through it.
            p.a.rekey(tunnel: 1, phase: 2, now: p.now)
            p.run()
            #expect(rekeyedChild(p.aEvents) != nil && rekeyedChild(p.bEvents) != nil)
            p.a.delete(tunnel: 1, phase: 1, now: p.now)
            p.run()
            #expect(p.bEvents.contains { if case .report(.deleted(5, .one)) = $0 { return true }; return false })
            #expect(p.a.saCount == 0 && p.b.saCount == 0)
            #expect(p.a.contacted.isEmpty && p.b.contacted.isEmpty)
        }
    }

    /// §2.8.1: both ends rekey at once; both answer, and both keep the same pair.
    /// A commanded rekey while another exchange of the SA is in flight (here the other
    /// phase's rekey; under loss, often a liveness check) goes out a second after that
    /// exchange ends: it used to wait for the lifetime's own rekey, an hour away (found
    /// by the netem run against charon). The same phase's rekey again is the one in flight.
    @Test(arguments: [1, 2])
    func aRekeyCommandedDuringAnotherExchangeFollowsIt(first: Int) throws {
        let p = established()
        let spi = try #require(p.a.byTunnel[1])
        let sa = try #require(p.a.sas[spi])
        let second = 3 - first
        let lifetimeRekey = try #require(second == 2 ? sa.childRekeyAt : sa.ikeRekeyAt)
        p.a.rekey(tunnel: 1, phase: first, now: p.now)
        p.a.rekey(tunnel: 1, phase: first, now: p.now)
        p.a.rekey(tunnel: 1, phase: second, now: p.now)
        p.run()
        func rekeyed(_ phase: Int) -> Int {
            p.aEvents.filter {
                switch $0 {
                case .report(.phase1Rekeyed): return phase == 1
                case .report(.phase2Rekeyed): return phase == 2
                default: return false
                }
            }.count
        }
        #expect(rekeyed(first) == 1 && rekeyed(second) == 0)
        let current = try #require(p.a.byTunnel[1].flatMap { p.a.sas[$0] })
        let due = try #require(second == 2 ? current.childRekeyAt : current.ikeRekeyAt)
        #expect(due < lifetimeRekey && (due - p.now).milliseconds <= 1000)
        p.now = due
        p.a.tick(now: due)
        p.run()
        #expect(rekeyed(first) == 1 && rekeyed(second) == 1)
        #expect(p.a.saCount == 1 && p.b.saCount == 1)
    }

    @Test(arguments: [true, false])
    func simultaneousChildRekeysSettleOnOnePair(aFirst: Bool) throws {
        let p = established()
        if aFirst {
            p.a.rekey(tunnel: 1, phase: 2, now: p.now)
            p.b.rekey(tunnel: 5, phase: 2, now: p.now)
        } else {
            p.b.rekey(tunnel: 5, phase: 2, now: p.now)
            p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        }
        p.run()
        let a = p.aEvents.compactMap { if case let .report(.phase2Rekeyed(_, c)) = $0 { return c }; return nil }
        let b = p.bEvents.compactMap { if case let .report(.phase2Rekeyed(_, c)) = $0 { return c }; return nil }
        #expect(a.count == 1 && b.count == 1)
        let ac = try #require(a.first), bc = try #require(b.first)
        #expect(ac.outboundSPI == bc.inboundSPI && ac.inboundSPI == bc.outboundSPI)
        #expect(ac.outbound.encryption == bc.inbound.encryption)
        #expect(!p.aEvents.contains { if case .report(.deleted) = $0 { return true }; return false })
        #expect(!p.bEvents.contains { if case .report(.deleted) = $0 { return true }; return false })
        // Still one working SA pair: a delete of phase 2 reaches the peer.
        p.a.delete(tunnel: 1, phase: 2, now: p.now)
        p.run()
        #expect(p.bEvents.contains { if case .report(.deleted(5, .two)) = $0 { return true }; return false })
    }

    @Test(arguments: [true, false])
    func simultaneousIKERekeysSettleOnOneSA(aFirst: Bool) throws {
        let p = established()
        if aFirst {
            p.a.rekey(tunnel: 1, phase: 1, now: p.now)
            p.b.rekey(tunnel: 5, phase: 1, now: p.now)
        } else {
            p.b.rekey(tunnel: 5, phase: 1, now: p.now)
            p.a.rekey(tunnel: 1, phase: 1, now: p.now)
        }
        p.run()
        let a = p.aEvents.compactMap { if case let .report(.phase1Rekeyed(_, s)) = $0 { return s }; return nil }
        let b = p.bEvents.compactMap { if case let .report(.phase1Rekeyed(_, s)) = $0 { return s }; return nil }
        #expect(a.count == 1 && b.count == 1)
        #expect(a.first?.initiatorSPI == b.first?.initiatorSPI && a.first?.responderSPI == b.first?.responderSPI)
        #expect(p.a.saCount == 1 && p.b.saCount == 1)
        #expect((Array(p.a.sas.values) + Array(p.b.sas.values)).allSatisfy { $0.isEstablished && $0.handshake == nil })
        #expect(!p.aEvents.contains { if case .report(.deleted) = $0 { return true }; return false })
        // The surviving SA carries on: a CHILD_SA rekey, then a delete.
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        p.run()
        #expect(p.aEvents.contains { if case .report(.phase2Rekeyed) = $0 { return true }; return false })
        p.a.delete(tunnel: 1, phase: 1, now: p.now)
        p.run()
        #expect(p.bEvents.contains { if case .report(.deleted(5, .one)) = $0 { return true }; return false })
        #expect(p.a.saCount == 0 && p.b.saCount == 0)
    }
}

/// A rekey the peer refuses, or whose answer is unusable, is not dropped: it is counted,
/// logged and tried again with back-off before the hard lifetime (the field issue).
@Suite struct RekeyFailureTests {
    func established() throws -> (Pair, IKESA, IKESA) {
        let p = RekeyTests().established()
        let aSPI = try #require(p.a.byTunnel[1]), bSPI = try #require(p.b.byTunnel[5])
        let a = try #require(p.a.sas[aSPI]), b = try #require(p.b.sas[bSPI])
        return (p, a, b)
    }

    func requests(_ p: Pair) -> Int { p.a.takeOutput().filter { if case .send = $0 { return true }; return false }.count }

    /// Each way the responder refuses a CHILD_SA rekey, and the retry that follows.
    @Test(arguments: ["NO_PROPOSAL_CHOSEN", "NO_ADDITIONAL_SAS", "TS_UNACCEPTABLE", "TEMPORARY_FAILURE"])
    func aRefusedChildRekeyIsRetriedWithBackOff(refusal: String) throws {
        let (p, a, b) = try established()
        let saved = (b.policy!, b.childOutboundSPI, b.childLocal)
        switch refusal {
        case "NO_PROPOSAL_CHOSEN":
            b.policy!.espProposals = [AlgorithmSet(ciphers: [Cipher(.aesCBC, keyBits: 128)], integrity: [.hmacSHA2_256_128], prfs: [], groups: [])]
        case "NO_ADDITIONAL_SAS": b.childOutboundSPI = 0x1234
        case "TS_UNACCEPTABLE": b.childLocal = [TrafficSelector(try Subnet.parse("10.99.0.0/24").get())]
        default: b.rekey = .ike(nonce: [], keyExchange: try KeyExchange(group: .curve25519), spi: 1)
        }
        let expiry = try #require(a.childExpiresAt)
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        p.run()
        #expect(p.a.counters.rekeyFailures == 1)
        let logs = p.aEvents.compactMap { if case let .log(_, text) = $0 { return text }; return nil }
        #expect(logs.contains { $0.contains("failed (attempt 1): the peer refused it (\(refusal))") }, "\(logs)")
        let first = try #require(a.childRekeyAt)
        #expect(first > p.now && first < expiry)
        #expect((first - p.now).milliseconds >= 1500 && (first - p.now).milliseconds <= 2000)
        // Nothing before it is due; then the retry goes out, fails again and waits longer.
        p.now = first
        p.a.tick(now: first)
        p.run()
        #expect(p.a.counters.rekeyFailures == 2)
        let second = try #require(a.childRekeyAt)
        #expect((second - first).milliseconds >= 3000)
        // The peer can take it again: the next retry renews the CHILD_SA.
        (b.policy, b.childOutboundSPI, b.childLocal) = (saved.0, saved.1, saved.2)
        if refusal == "TEMPORARY_FAILURE" { b.rekey = nil }
        let before = a.childInboundSPI
        p.aEvents = []
        p.now = second
        p.a.tick(now: second)
        p.run()
        #expect(a.childInboundSPI != before)
        #expect(p.aEvents.contains { if case .report(.phase2Rekeyed) = $0 { return true }; return false })
        #expect(a.rekeyFailures == 0)
    }

    /// However many failures, the retry comes before the hard lifetime.
    @Test func retriesStayBeforeTheHardLifetime() throws {
        let (p, a, b) = try established()
        b.childOutboundSPI = 0x1234
        let expiry = try #require(a.childExpiresAt)
        var t = p.now
        for _ in 0..<12 {
            p.now = t
            p.a.rekey(tunnel: 1, phase: 2, now: t)
            p.run()
            let next = try #require(a.childRekeyAt)
            #expect(next < expiry)
            t = next
        }
        #expect(p.a.counters.rekeyFailures == 12)
    }
}
