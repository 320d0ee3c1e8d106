import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv2

/// Two engines back to back in memory: what one sends, the other receives.
final class Pair {
    let a = IKEv2Engine { _ in IPAddress("192.0.2.1")! }
    let b = IKEv2Engine { _ in IPAddress("198.51.100.7")! }
    /// The responder numbers the tunnels peers start from 5 (the initiator uses 1).
    init() { b.tunnelNumbers = TunnelNumbers(first: 5) }
    var now = Instant(nanoseconds: 1_000_000_000)
    var aEvents: [EngineOutput] = []
    var bEvents: [EngineOutput] = []
    var sent = 0

    static func policy(_ name: String, local: String, remote: String?, psk: String = "secret",
                       ike: [AlgorithmSet] = [AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256)], integrity: [], prfs: [.hmacSHA2_256], groups: [.curve25519])],
                       esp: [AlgorithmSet] = [AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256)], integrity: [], prfs: [], groups: [])],
                       localNet: String = "10.1.0.0/24", remoteNet: String = "10.2.0.0/24") -> EnginePolicy {
        EnginePolicy(name: name, localAddress: IPAddress(local), remoteAddress: remote.flatMap { IPAddress($0) },
                    localID: nil, remoteID: remote.flatMap { IPAddress($0) }.map { .address($0) } ?? .any,
                    psk: SecretBytes(Array(psk.utf8)), ikeProposals: ike, espProposals: esp,
                    localSelectors: [TrafficSelector(try! Subnet.parse(localNet).get())],
                    remoteSelectors: [TrafficSelector(try! Subnet.parse(remoteNet).get())],
                    transportMode: false, ikeLifetimeSeconds: 28800, childLifetimeSeconds: 3600)
    }

    /// Delivers datagrams until both are quiet; `drop` may discard one by its index.
    func run(drop: (Int) -> Bool = { _ in false }) {
        exchange(a, b, now: now, aEvents: &aEvents, bEvents: &bEvents, sent: &sent, hold: drop)
    }

    /// Ticks both engines at `now` and delivers what they send until both are quiet,
    /// losing each datagram `lose` picks (its bytes, and whether a sent it).
    func tickAndDeliver(losing lose: ([UInt8], Bool) -> Bool) {
        a.tick(now: now)
        b.tick(now: now)
        var progress = true
        while progress {
            progress = false
            for (from, to, isA) in [(a, b, true), (b, a, false)] {
                for out in from.takeOutput() {
                    if case let .send(bytes, src, dst) = out {
                        progress = true
                        if !lose(bytes, isA) { to.receive(bytes, from: src, to: dst, now: now) }
                    } else if isA { aEvents.append(out) } else { bEvents.append(out) }
                }
            }
        }
    }
}

extension Result {
    func get() throws -> Success {
        switch self {
        case let .success(s): return s
        case let .failure(e): throw e
        }
    }
}

@Suite struct BackToBackTests {
    func established(_ events: [EngineOutput]) -> (ike: Bool, child: ChildSA?) {
        var ike = false
        var child: ChildSA? = nil
        for e in events {
            switch e {
            case .report(.phase1Created): ike = true
            case let .report(.phase2Created(_, c)): child = c
            case let .report(.negotiated(_, _, _, c)): ike = true; child = c
            default: break
            }
        }
        return (ike, child)
    }

    func failures(_ events: [EngineOutput]) -> [String] {
        events.compactMap { if case let .report(.phase1Failed(_, reason)) = $0 { return "1: \(reason)" }; if case let .report(.phase2Failed(_, reason)) = $0 { return "2: \(reason)" }; return nil }
    }

    @Test(arguments: [
        (Cipher(.aesGCM16, keyBits: 256), [IntegrityAlgorithm](), DHGroup.curve25519),
        (Cipher(.aesCBC, keyBits: 256), [.hmacSHA2_256_128], .modp2048),
        (Cipher(.chacha20Poly1305, keyBits: 0), [], .ecp256),
        (Cipher(.aesCBC, keyBits: 128), [.hmacSHA1_96], .ecp384),
    ])
    func bothPhasesComeUpAndTheKeysMatch(cipher: Cipher, integrity: [IntegrityAlgorithm], group: DHGroup) throws {
        let p = Pair()
        let ike = [AlgorithmSet(ciphers: [cipher], integrity: integrity, prfs: [.hmacSHA2_256], groups: [group])]
        let esp = [AlgorithmSet(ciphers: [cipher], integrity: integrity, prfs: [], groups: [])]
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", ike: ike, esp: esp, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", ike: ike, esp: esp),
                     remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty, "\(failures(p.aEvents)) \(failures(p.bEvents))")
        let (aIKE, aChild) = established(p.aEvents)
        let (bIKE, bChild) = established(p.bEvents)
        #expect(aIKE && bIKE)
        let ac = try #require(aChild), bc = try #require(bChild)
        #expect(ac.outboundSPI == bc.inboundSPI && ac.inboundSPI == bc.outboundSPI)
        #expect(ac.outbound.encryption == bc.inbound.encryption)
        #expect(ac.inbound.encryption == bc.outbound.encryption)
        #expect(ac.outbound.encryption != ac.inbound.encryption)
        if integrity.isEmpty { #expect(ac.outbound.integrity == nil) } else { #expect(ac.outbound.integrity == bc.inbound.integrity) }
        #expect(ac.localSelectors.map { $0.description } == ["10.1.0.0/24"])
        #expect(bc.localSelectors.map { $0.description } == ["10.2.0.0/24"])
        #expect(p.sent == 4)
    }

    /// ESN (RFC 7296 §3.3.2): chosen when both sides allow it, in the initiator's order of
    /// preference; 32-bit when the responder allows only that; no proposal when one side
    /// insists on ESN and the other allows none.
    @Test(arguments: [
        ([true, false], [false, true], "esn"),
        ([false, true], [true, false], "none"),
        ([true, false], [Bool](), "none"),
        ([true], [false], "refused"),
        ([true], [true], "esn"),
    ])
    func extendedSequenceNumbersAreNegotiated(initiator: [Bool], responder: [Bool], expected: String) throws {
        let p = Pair()
        func esp(_ esn: [Bool]) -> [AlgorithmSet] { [AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256)], integrity: [], prfs: [], groups: [], esn: esn)] }
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", esp: esp(responder), localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", esp: esp(initiator)),
                     remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        let (_, aChild) = established(p.aEvents)
        let (_, bChild) = established(p.bEvents)
        if expected == "refused" {
            #expect(aChild == nil && bChild == nil)
            #expect(failures(p.aEvents).first?.hasSuffix("NO_PROPOSAL_CHOSEN") == true, "\(failures(p.aEvents))")
            return
        }
        let a = try #require(aChild), b = try #require(bChild)
        #expect(a.algorithms.extendedSequenceNumbers == (expected == "esn"))
        #expect(b.algorithms.extendedSequenceNumbers == (expected == "esn"))
    }

    @Test func aWrongPSKFailsOnBothSides() {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", psk: "other", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(failures(p.aEvents) == ["1: peer answered AUTHENTICATION_FAILED: check psk, local_id and remote_id on both sides"])
        #expect(p.a.saCount == 0 && p.b.saCount == 0)
    }

    /// A peer's IDi, logged when its AUTH fails, cannot forge log records or drive the
    /// terminal: every record is one line, the identity's controls escaped.
    @Test func aHostileIdentityIsLoggedOnOneEscapedLine() {
        final class Lines: LogSink {
            var lines: [String] = []
            func write(_ level: LogLevel, _ line: String) { lines.append(line) }
        }
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        var evil = Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7")
        evil.localID = .fqdn("x\nevent tmd: tunnel 1 'site_a': phase 1 SA created\u{1b}[2J")
        p.a.initiate(tunnel: 1, policy: evil, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        let sink = Lines()
        let log = Logger(level: .debug, sinks: [sink])
        for case let .log(level, text) in p.bEvents { log.log(level, .ikev2d, text) }
        let refused = sink.lines.filter { $0.contains("event tmd") }
        #expect(refused.count >= 1)
        for line in sink.lines {
            #expect(!line.utf8.contains { $0 < 0x20 || $0 == 0x7f }, "\(line)")
        }
        #expect(refused.allSatisfy { $0.contains("@x\\x0aevent tmd: tunnel 1 'site_a': phase 1 SA created\\x1b[2J") }, "\(refused)")
        #expect(!established(p.bEvents).ike)
    }

    /// Two tunnels without a key (an empty PSK on both sides) must never come up: an
    /// absent credential is not a key both sides know.
    @Test func anEmptyPSKNeverAuthenticates() {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", psk: "", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", psk: ""), remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(!established(p.aEvents).ike && !established(p.bEvents).ike)
        #expect(failures(p.aEvents) == ["1: tunnel 'site_b' has no pre-shared key to authenticate with"])
        // The responder with an empty key accepts nobody, even an initiator that has one.
        let q = Pair()
        q.b.policies = p.b.policies
        q.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: q.now)
        q.run()
        #expect(!established(q.aEvents).ike && !established(q.bEvents).ike)
    }

    @Test func aProposalMismatchIsNoProposalChosen() {
        let p = Pair()
        let other = [AlgorithmSet(ciphers: [Cipher(.aesCBC, keyBits: 128)], integrity: [.hmacSHA1_96], prfs: [.hmacSHA1], groups: [.modp2048])]
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", ike: other)]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(failures(p.aEvents) == ["1: peer answered NO_PROPOSAL_CHOSEN"])
        #expect(p.b.saCount == 0)
    }

    @Test func invalidKEPayloadRetriesWithTheRequestedGroup() {
        let p = Pair()
        let both = [AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256)], integrity: [], prfs: [.hmacSHA2_256], groups: [.curve25519, .ecp256])]
        let ecpOnly = [AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256)], integrity: [], prfs: [.hmacSHA2_256], groups: [.ecp256])]
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", ike: ecpOnly, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", ike: both), remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(established(p.aEvents).ike && established(p.bEvents).ike)
        #expect(p.sent == 6)
        #expect(p.aEvents.contains { if case let .report(.phase1Created(_, sa)) = $0 { return sa.algorithms.group == .ecp256 }; return false })
    }

    @Test func aLostRequestIsRetransmittedAndADuplicateAnsweredOnce() {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run { $0 == 3 }  // the IKE_AUTH request is lost
        #expect(!established(p.aEvents).ike)
        p.now = p.now + .seconds(2)
        p.a.tick(now: p.now)
        p.run()
        #expect(established(p.aEvents).ike && established(p.bEvents).ike)
        #expect(p.a.counters.retransmitsSent == 1)
    }

    /// The responder's IKE_AUTH answer is lost. It kept the answer as what makes it again
    /// (a PSK answer: its AUTH, the proposal number; the rest is the SA's state), so the
    /// initiator's retransmission gets the same payloads sealed anew, which it takes: both
    /// hold the same CHILD_SA, in tunnel or transport mode.
    @Test(arguments: [false, true]) func aLostIKEAuthAnswerIsMadeAgain(transport: Bool) {
        let p = Pair()
        var ours = Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7")
        var theirs = Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")
        ours.transportMode = transport
        theirs.transportMode = transport
        p.b.policies = [theirs]
        p.a.initiate(tunnel: 1, policy: ours, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run { $0 == 4 }  // the IKE_AUTH answer is lost
        #expect(!established(p.aEvents).ike && established(p.bEvents).ike)
        p.now = p.now + .seconds(2)
        p.a.tick(now: p.now)
        p.run()
        #expect(p.a.counters.retransmitsSent == 1 && p.b.counters.retransmitsAnswered == 1)
        #expect(failures(p.aEvents).isEmpty)
        let mine = established(p.aEvents).child, peers = established(p.bEvents).child
        #expect(mine != nil && mine?.inboundSPI == peers?.outboundSPI && mine?.outboundSPI == peers?.inboundSPI)
        #expect(mine?.localSelectors == peers?.remoteSelectors && mine?.remoteSelectors == peers?.localSelectors)
        #expect(mine?.transportMode == transport && peers?.transportMode == transport)
        #expect(mine?.outbound.encryption == peers?.inbound.encryption)
    }

    @Test func noAnswerFailsAfterFiveTransmissions() {
        let p = Pair()
        p.a.initiate(tunnel: 7, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: p.now)
        var sends = 0
        for _ in 0..<40 {
            for o in p.a.takeOutput() {
                if case .send = o { sends += 1 } else { p.aEvents.append(o) }
            }
            p.now = p.now + .seconds(2)
            p.a.tick(now: p.now)
        }
        #expect(sends == 5)
        #expect(failures(p.aEvents) == ["1: no answer from 198.51.100.7:500 after 5 transmissions"])
    }

    @Test func deletesReachThePeer() {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        guard case let .report(.negotiated(number, name, _, _))? = p.bEvents.first(where: { if case .report(.negotiated) = $0 { return true }; return false }) else {
            Issue.record("responder not established")
            return
        }
        #expect(name == "site_a")
        #expect(number == 5)
        p.a.delete(tunnel: 1, phase: 2, now: p.now)
        p.run()
        #expect(p.bEvents.contains { if case .report(.deleted(5, .two)) = $0 { return true }; return false })
        p.a.delete(tunnel: 1, phase: 1, now: p.now)
        p.run()
        #expect(p.bEvents.contains { if case .report(.deleted(5, .one)) = $0 { return true }; return false })
        #expect(p.a.saCount == 0 && p.b.saCount == 0)
    }
}
