import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv2

@Suite struct RobustnessTests {
    func start(_ p: Pair, dpd: UInt32 = 30) {
        var b = Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")
        b.dpdDelaySeconds = dpd
        p.b.policies = [b]
        var a = Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7")
        a.dpdDelaySeconds = dpd
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
    }

    func count(_ events: [EngineOutput], _ match: (EngineOutput) -> Bool) -> Int { events.filter(match).count }
    func isIKE(_ o: EngineOutput) -> Bool { if case .report(.phase1Created) = o { return true }; if case .report(.negotiated) = o { return true }; return false }

    @Test(arguments: [1, 2, 3, 4])
    func losingAnyOneMessageIsRecoveredByRetransmission(lost: Int) {
        let p = Pair()
        start(p)
        p.run { $0 == lost }
        p.now = p.now + .seconds(2)
        p.a.tick(now: p.now)
        p.run()
        #expect(count(p.aEvents, isIKE) == 1 && count(p.bEvents, isIKE) == 1)
    }

    @Test(arguments: [1, 2, 3, 4])
    func aDuplicatedMessageChangesNothing(duplicated: Int) {
        let p = Pair()
        start(p)
        var n = 0
        var progress = true
        while progress {
            progress = false
            for (from, to, isA) in [(p.a, p.b, true), (p.b, p.a, false)] {
                for out in from.takeOutput() {
                    if case let .send(bytes, src, dst) = out {
                        n += 1
                        progress = true
                        to.receive(bytes, from: src, to: dst, now: p.now)
                        if n == duplicated { to.receive(bytes, from: src, to: dst, now: p.now) }
                    } else if isA { p.aEvents.append(out) } else { p.bEvents.append(out) }
                }
            }
        }
        #expect(count(p.aEvents, isIKE) == 1 && count(p.bEvents, isIKE) == 1)
        #expect(p.a.saCount == 1 && p.b.saCount == 1)
    }

    /// Messages that arrive late and out of order: an old copy of each request after the
    /// exchange moved on, and an old response, change nothing and get no answer.
    @Test func lateCopiesOfEarlierMessagesAreDropped() {
        let p = Pair()
        start(p)
        var log: [(bytes: [UInt8], from: Endpoint, to: Endpoint, toB: Bool)] = []
        var progress = true
        while progress {
            progress = false
            for (from, to, toB) in [(p.a, p.b, true), (p.b, p.a, false)] {
                for out in from.takeOutput() {
                    if case let .send(bytes, src, dst) = out {
                        progress = true
                        log.append((bytes, src, dst, toB))
                        to.receive(bytes, from: src, to: dst, now: p.now)
                    } else if toB { p.aEvents.append(out) } else { p.bEvents.append(out) }
                }
            }
        }
        #expect(log.count == 4)
        // Replay messages 1 to 3 (both requests and the first response) out of order.
        for i in [2, 0, 1] {
            let m = log[i]
            (m.toB ? p.b : p.a).receive(m.bytes, from: m.from, to: m.to, now: p.now)
        }
        let aOut = p.a.takeOutput(), bOut = p.b.takeOutput()
        // Only the IKE_AUTH request copy is answered again (its cached response); nothing else.
        #expect(aOut.filter { if case .send = $0 { return true }; return false }.count == 0)
        #expect(bOut.filter { if case .send = $0 { return true }; return false }.count == 1)
        #expect(count(aOut + bOut, isIKE) == 0)
        #expect(p.a.saCount == 1 && p.b.saCount == 1)
    }

    @Test func underLoadTheResponderAsksForACookieAndKeepsNoState() {
        let p = Pair()
        p.b.halfOpenThreshold = 0
        start(p)
        // The first request is answered with a COOKIE, without state.
        for out in p.a.takeOutput() {
            if case let .send(bytes, src, dst) = out { p.b.receive(bytes, from: src, to: dst, now: p.now) }
        }
        #expect(p.b.saCount == 0)
        #expect(p.b.counters.cookiesSent == 1)
        p.run()
        #expect(count(p.aEvents, isIKE) == 1 && count(p.bEvents, isIKE) == 1)
        #expect(p.b.counters.badCookies == 0)
    }

    @Test func livenessChecksAndADeadPeer() {
        let p = Pair()
        start(p, dpd: 10)
        p.run()
        p.now = p.now + .seconds(11)
        p.a.tick(now: p.now)
        p.run()
        #expect(p.a.counters.retransmitsSent == 0)
        #expect(count(p.aEvents) { if case .report(.peerDead) = $0 { return true }; return false } == 0)
        // Now b is gone: the probe is retransmitted, then the peer is declared dead.
        p.now = p.now + .seconds(11)
        for _ in 0..<80 {
            p.a.tick(now: p.now)
            for o in p.a.takeOutput() { if case .send = o {} else { p.aEvents.append(o) } }
            p.now = p.now + .seconds(1)
        }
        #expect(count(p.aEvents) { if case .report(.peerDead(1)) = $0 { return true }; return false } == 1)
        #expect(p.a.saCount == 0)
    }

    /// A forged message for a known SPI is not a sign of life: the liveness check still goes out.
    @Test func onlyVerifiedMessagesCountAsLife() throws {
        let p = Pair()
        start(p, dpd: 10)
        var fromB: [([UInt8], Endpoint, Endpoint)] = []
        var progress = true
        while progress {
            progress = false
            for (from, to, isB) in [(p.a, p.b, false), (p.b, p.a, true)] {
                for out in from.takeOutput() {
                    if case let .send(bytes, src, dst) = out {
                        progress = true
                        if isB { fromB.append((bytes, src, dst)) }
                        to.receive(bytes, from: src, to: dst, now: p.now)
                    }
                }
            }
        }
        var forged = try #require(fromB.last)
        forged.0[forged.0.count - 1] ^= 0xff
        p.now = p.now + .seconds(11)
        p.a.receive(forged.0, from: forged.1, to: forged.2, now: p.now)
        #expect(p.a.counters.integrityFailures + p.a.counters.badMessageID == 1)
        p.a.tick(now: p.now)
        #expect(p.a.takeOutput().contains { if case .send = $0 { return true }; return false })
    }

    @Test func theSoftLifetimeRekeysAndTheHardOneDeletes() {
        let p = Pair()
        start(p, dpd: 0)
        p.run()
        // 90% of the CHILD_SA's 3600 s lifetime (less jitter) passes: it is rekeyed.
        p.now = p.now + .seconds(3241)
        p.a.tick(now: p.now)
        p.run()
        #expect(count(p.aEvents) { if case .report(.phase2Rekeyed) = $0 { return true }; return false } == 1)
        // b's SA has no tunnel number (nobody assigned one), so only a reports.
        // b's own soft lifetime came too; both rekeys were refused or done, none lost.
        p.b.tick(now: p.now)
        p.run()
        // Then nobody answers any more: at the IKE SA's hard lifetime it is deleted.
        p.now = p.now + .seconds(28800)
        p.a.tick(now: p.now)
        #expect(count(p.a.takeOutput()) { if case .report(.deleted(1, .one)) = $0 { return true }; return false } == 1)
        #expect(p.a.saCount == 0)
    }
}

@Suite struct VersionTests {
    @Test func aHigherMajorVersionIsAnsweredWithInvalidMajorVersion() throws {
        let e = IKEv2Engine { _ in nil }
        let header = ISAKMPHeader(initiatorSPI: 0x1234, responderSPI: 0, nextPayload: 33, majorVersion: 3, minorVersion: 0,
                                  exchangeType: 34, flags: 0x08, messageID: 0, length: 28)
        let peer = Endpoint(IPAddress("192.0.2.9")!, 500), us = Endpoint(IPAddress("192.0.2.1")!, 500)
        let now = Instant(nanoseconds: 5_000_000_000)
        e.answerUnsupportedVersion(header, from: peer, to: us, now: now)
        guard case let .send(bytes, from, to)? = e.takeOutput().first else {
            Issue.record("no answer")
            return
        }
        #expect(from == us && to == peer)
        let message = try parseMessage(bytes).get()
        #expect(message.header.majorVersion == 2 && message.isResponse && message.header.initiatorSPI == 0x1234)
        #expect(message.notify(.invalidMajorVersion)?.data == [0x20])
    }

    /// A flood of spoofed requests is not reflected: 10 answers a second, the rest counted.
    @Test func invalidMajorVersionAnswersAreRateLimited() {
        let e = IKEv2Engine { _ in nil }
        let header = ISAKMPHeader(initiatorSPI: 0x1234, responderSPI: 0, nextPayload: 33, majorVersion: 3, minorVersion: 0,
                                  exchangeType: 34, flags: 0x08, messageID: 0, length: 28)
        let peer = Endpoint(IPAddress("192.0.2.9")!, 500), us = Endpoint(IPAddress("192.0.2.1")!, 500)
        let now = Instant(nanoseconds: 5_000_000_000)
        for _ in 0..<100 { e.answerUnsupportedVersion(header, from: peer, to: us, now: now) }
        #expect(e.takeOutput().count == IKEv2Engine.versionAnswersPerSecond)
        #expect(e.counters.versionAnswersSuppressed == 90)
        e.answerUnsupportedVersion(header, from: peer, to: us, now: now + .seconds(1))
        #expect(e.takeOutput().count == 1)
    }
}

func parseMessage(_ bytes: [UInt8]) -> Result<IKEv2Message, WireError> {
    bytes.withUnsafeBytes { raw in
        do throws(WireError) { return .success(try IKEv2Message.parse(raw)) } catch { return .failure(error) }
    }
}

@Suite struct PrecheckTests {
    @Test func unknownSPIsAndBrokenHeadersStopBeforeAnyState() throws {
        let e = IKEv2Engine { _ in nil }
        func check(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { e.precheck($0) } }
        var header = [UInt8](repeating: 0, count: 28)
        header[0] = 1; header[8] = 2; header[17] = 0x20; header[18] = 35; header[19] = 0x08; header[27] = 28
        #expect(!check(header))  // IKE_AUTH for an SA we do not have
        #expect(e.counters.unknownSPI == 1)
        #expect(!check([1, 2, 3]))
        #expect(e.counters.malformed == 1)
        var initRequest = header
        initRequest[8] = 0
        initRequest[18] = 34
        #expect(check(initRequest))  // a new IKE_SA_INIT goes on to the cookie gate
        #expect(e.saCount == 0)
    }

    /// RFC 7296 §3.1: an IKE_SA_INIT whose initiator SPI is zero builds nothing and gets
    /// no answer, whether it comes through the precheck or straight to the engine.
    @Test func anInitiatorSPIOfZeroIsDropped() throws {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: p.now)
        var first: (bytes: [UInt8], from: Endpoint, to: Endpoint)? = nil
        for out in p.a.takeOutput() { if case let .send(bytes, from, to) = out { first = (bytes, from, to) } }
        var zeroed = try #require(first)
        for i in 0..<8 { zeroed.bytes[i] = 0 }
        #expect(!zeroed.bytes.withUnsafeBytes { p.b.precheck($0) })
        p.b.receive(zeroed.bytes, from: zeroed.from, to: zeroed.to, now: p.now)
        #expect(p.b.saCount == 0 && !p.b.takeOutput().contains { if case .send = $0 { return true }; return false })
        #expect(p.b.counters.malformed == 2)
    }
}
