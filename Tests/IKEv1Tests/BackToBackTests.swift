import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv1

/// Two IKEv1 engines back to back in memory: what one sends, the other receives.
final class Pair {
    let a = IKEv1Engine { _ in IPAddress("192.0.2.1")! }
    let b = IKEv1Engine { _ in IPAddress("198.51.100.7")! }
    /// The responder numbers the tunnels peers start from 5 (the initiator uses 1).
    init() { b.tunnelNumbers = TunnelNumbers(first: 5) }
    var now = Instant(nanoseconds: 1_000_000_000)
    var aEvents: [EngineOutput] = []
    var bEvents: [EngineOutput] = []
    var sent = 0

    static let ikeDefault = [AlgorithmSet(ciphers: [Cipher(.aesCBC, keyBits: 256)], integrity: [], prfs: [.hmacSHA2_256], groups: [.modp2048])]
    static let espDefault = [AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256)], integrity: [], prfs: [], groups: [])]

    static func policy(_ name: String, local: String, remote: String?, psk: String = "secret", aggressive: Bool = false,
                       ike: [AlgorithmSet] = ikeDefault, esp: [AlgorithmSet] = espDefault,
                       localNet: String = "10.1.0.0/24", remoteNet: String = "10.2.0.0/24") -> EnginePolicy {
        var p = EnginePolicy(name: name, localAddress: IPAddress(local), remoteAddress: remote.flatMap { IPAddress($0) },
                             localID: nil, remoteID: remote.flatMap { IPAddress($0) }.map { .address($0) } ?? .any,
                             psk: SecretBytes(Array(psk.utf8)), ikeProposals: ike, espProposals: esp,
                             localSelectors: [TrafficSelector(try! Subnet.parse(localNet).get())],
                             remoteSelectors: [TrafficSelector(try! Subnet.parse(remoteNet).get())],
                             transportMode: false, ikeLifetimeSeconds: 28800, childLifetimeSeconds: 3600)
        p.aggressive = aggressive
        return p
    }

    /// site_b at a (initiator) and site_a at b (responder), mirrored.
    func configure(aggressive: Bool = false, pskB: String = "secret", ikeB: [AlgorithmSet] = ikeDefault,
                   espA: [AlgorithmSet] = espDefault, espB: [AlgorithmSet] = espDefault) -> EnginePolicy {
        b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", psk: pskB, aggressive: aggressive, ike: ikeB, esp: espB,
                                  localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        return Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", aggressive: aggressive, esp: espA)
    }

    func start(_ policy: EnginePolicy) {
        a.initiate(tunnel: 1, policy: policy, remote: IPAddress("198.51.100.7")!, now: now)
    }

    /// site_b up from a to b, with `dpd` seconds between liveness checks on both sides
    /// (nil: the policies' default).
    func up(dpd: UInt32? = nil) {
        var policy = configure()
        if let dpd {
            policy.dpdDelaySeconds = dpd
            b.policies[0].dpdDelaySeconds = dpd
        }
        start(policy)
        run()
    }

    /// Delivers datagrams until both are quiet; `drop` may discard one by its index,
    /// `duplicate` delivers one twice.
    func run(drop: (Int) -> Bool = { _ in false }, duplicate: (Int) -> Bool = { _ in false }) {
        var progress = true
        while progress {
            progress = false
            for (from, to, isA) in [(a, b, true), (b, a, false)] {
                for out in from.takeOutput() {
                    switch out {
                    case let .send(bytes, src, dst):
                        sent += 1
                        progress = true
                        if drop(sent) { continue }
                        to.receive(bytes, from: src, to: dst, now: now)
                        if duplicate(sent) { to.receive(bytes, from: src, to: dst, now: now) }
                    default:
                        if isA { aEvents.append(out) } else { bEvents.append(out) }
                    }
                }
            }
        }
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

    /// Lets time pass in steps, ticking both engines and delivering what they send.
    func advance(seconds: Int, drop: (Int) -> Bool = { _ in false }) {
        for _ in 0..<(seconds * 2) {
            now = now + .milliseconds(500)
            a.tick(now: now)
            b.tick(now: now)
            run(drop: drop)
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

func logs(_ events: [EngineOutput]) -> [String] {
    events.compactMap { if case let .log(_, text) = $0 { return text }; return nil }
}

func expectMatchingChildren(_ p: Pair, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let ac = try #require(established(p.aEvents).child, "\(logs(p.aEvents)) \(logs(p.bEvents))", sourceLocation: sourceLocation)
    let bc = try #require(established(p.bEvents).child, "\(logs(p.bEvents))", sourceLocation: sourceLocation)
    #expect(ac.outboundSPI == bc.inboundSPI && ac.inboundSPI == bc.outboundSPI, sourceLocation: sourceLocation)
    #expect(ac.outbound.encryption == bc.inbound.encryption, sourceLocation: sourceLocation)
    #expect(ac.inbound.encryption == bc.outbound.encryption, sourceLocation: sourceLocation)
    #expect(ac.outbound.encryption != ac.inbound.encryption, sourceLocation: sourceLocation)
    #expect(ac.outbound.integrity == bc.inbound.integrity, sourceLocation: sourceLocation)
    #expect(ac.localSelectors.map { $0.description } == ["10.1.0.0/24"], sourceLocation: sourceLocation)
    #expect(bc.localSelectors.map { $0.description } == ["10.2.0.0/24"], sourceLocation: sourceLocation)
}

@Suite struct BackToBackTests {
    @Test(arguments: [
        (Cipher(.aesCBC, keyBits: 256), PseudorandomFunction.hmacSHA2_256, DHGroup.modp2048, Cipher(.aesGCM16, keyBits: 256), [IntegrityAlgorithm]()),
        (Cipher(.aesCBC, keyBits: 128), .hmacSHA1, .ecp256, Cipher(.aesCBC, keyBits: 128), [.hmacSHA1_96]),
        (Cipher(.aesCBC, keyBits: 256), .hmacSHA2_512, .ecp384, Cipher(.aesCBC, keyBits: 256), [.hmacSHA2_256_128]),
        (Cipher(.aesCBC, keyBits: 128), .hmacSHA2_384, .curve25519, Cipher(.aesGCM16, keyBits: 128), []),
    ])
    func mainModeAndQuickModeComeUpAndTheKeysMatch(cipher: Cipher, hash: PseudorandomFunction, group: DHGroup, espCipher: Cipher,
                                                   integrity: [IntegrityAlgorithm]) throws {
        let p = Pair()
        let ike = [AlgorithmSet(ciphers: [cipher], integrity: [], prfs: [hash], groups: [group])]
        let esp = [AlgorithmSet(ciphers: [espCipher], integrity: integrity, prfs: [], groups: [])]
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", ike: ike, esp: esp, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", ike: ike, esp: esp),
                     remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty, "\(failures(p.aEvents)) \(failures(p.bEvents))")
        #expect(established(p.aEvents).ike && established(p.bEvents).ike)
        try expectMatchingChildren(p)
        // Main Mode's six messages and Quick Mode's three, QM3 twice.
        #expect(p.sent == 10)
    }

    @Test func aggressiveModeComesUp() throws {
        let p = Pair()
        p.start(p.configure(aggressive: true))
        p.run()
        // Phase 1 is up; Quick Mode waits a moment (100 ms), not right behind AM3, and
        // the engine asks to be woken then rather than on the next regular tick.
        #expect(established(p.aEvents).ike && p.sent == 3)
        #expect(p.a.wakeAt == p.now + .milliseconds(100))
        p.a.tick(now: p.now + .milliseconds(99))
        p.run()
        #expect(p.sent == 3 && p.a.wakeAt == p.now + .milliseconds(100))
        p.a.tick(now: p.now + .milliseconds(100))
        #expect(p.a.wakeAt.map { $0 > p.now + .milliseconds(100) } ?? true)
        p.run()
        #expect(p.sent >= 5)
        p.advance(seconds: 1)
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty, "\(failures(p.aEvents)) \(failures(p.bEvents))")
        try expectMatchingChildren(p)
        // AM1-AM3, then Quick Mode's three messages, QM3 twice.
        #expect(p.sent == 7)
    }

    @Test(arguments: [DHGroup.modp2048, .curve25519])
    func quickModeWithPFS(group: DHGroup) throws {
        let p = Pair()
        let esp = [AlgorithmSet(ciphers: [Cipher(.aesCBC, keyBits: 256)], integrity: [.hmacSHA2_256_128], prfs: [], groups: [group])]
        p.start(p.configure(espA: esp, espB: esp))
        p.run()
        try expectMatchingChildren(p)
        #expect(established(p.aEvents).child?.algorithms.group == group)
    }

    @Test func aWrongPSKFailsOnBothSides() {
        let p = Pair()
        p.start(p.configure(pskB: "other"))
        p.run()
        #expect(failures(p.aEvents) == ["1: peer answered AUTHENTICATION-FAILED: check psk, local_id and remote_id on both sides"])
        #expect(p.a.saCount == 0 && p.b.saCount == 0)
    }

    /// Two tunnels without a key (an empty PSK on both sides) must never come up: an
    /// absent credential is not a key both sides know.
    @Test(arguments: [false, true]) func anEmptyPSKNeverAuthenticates(aggressive: Bool) {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", psk: "", aggressive: aggressive,
                                    localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.start(Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", psk: "", aggressive: aggressive))
        p.run()
        #expect(!established(p.aEvents).ike && !established(p.bEvents).ike)
        #expect(established(p.aEvents).child == nil && established(p.bEvents).child == nil)
    }

    @Test func aPhase1ProposalMismatchIsNoProposalChosen() {
        let p = Pair()
        let other = [AlgorithmSet(ciphers: [Cipher(.aesCBC, keyBits: 128)], integrity: [], prfs: [.hmacSHA1], groups: [.modp3072])]
        p.start(p.configure(ikeB: other))
        p.run()
        #expect(failures(p.aEvents) == ["1: peer answered NO-PROPOSAL-CHOSEN"])
        #expect(p.a.saCount == 0 && p.b.saCount == 0)
    }

    @Test func aPhase2ProposalMismatchIsNoProposalChosen() {
        let p = Pair()
        let other = [AlgorithmSet(ciphers: [Cipher(.aesCBC, keyBits: 128)], integrity: [.hmacSHA1_96], prfs: [], groups: [])]
        p.start(p.configure(espB: other))
        p.run()
        #expect(established(p.aEvents).ike)
        #expect(failures(p.aEvents) == ["2: peer answered NO-PROPOSAL-CHOSEN"])
    }

    /// Every message of Main Mode and Quick Mode lost once: the sender retransmits, and
    /// both ends come up with the same keys. (QM3, the ninth, goes twice: its copy makes
    /// a lost one good without a retransmission; both lost, the responder's QM2 goes
    /// again and draws it once more.)
    @Test(arguments: 1...9)
    func aLostMessageIsRetransmitted(lost: Int) throws {
        let p = Pair()
        p.start(p.configure())
        p.run(drop: { $0 == lost || (lost == 9 && $0 == 10) })
        p.advance(seconds: 5)
        try expectMatchingChildren(p)
        #expect(p.a.counters.retransmitsSent + p.b.counters.retransmitsSent >= 1)
    }

    /// Every message delivered twice: the copy is answered from memory (or dropped), never
    /// processed again.
    @Test(arguments: 1...9)
    func aDuplicatedMessageIsHarmless(copy: Int) throws {
        let p = Pair()
        p.start(p.configure())
        p.run(duplicate: { $0 == copy })
        p.advance(seconds: 3)
        try expectMatchingChildren(p)
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty)
        #expect(p.aEvents.filter { if case .report(.phase2Created) = $0 { return true }; return false }.count == 1)
    }

    @Test(arguments: [1, 2]) func deletesReachThePeer(phase: Int) throws {
        let p = Pair()
        p.start(p.configure())
        p.run()
        let number = try #require(p.bEvents.compactMap { e -> UInt32? in if case let .report(.negotiated(t, _, _, _)) = e { return t }; return nil }.first)
        #expect(number == 5)
        p.a.delete(tunnel: 1, phase: phase, now: p.now)
        p.run()
        #expect(p.bEvents.contains { if case .report(.deleted(5, .two)) = $0 { return true }; return false })
        if phase == 1 {
            #expect(p.bEvents.contains { if case .report(.deleted(5, .one)) = $0 { return true }; return false })
            #expect(p.a.saCount == 0 && p.b.saCount == 0)
        }
    }

    @Test(arguments: [1, 2]) func rekeysKeepTheTunnelUp(phase: Int) throws {
        let p = Pair()
        p.start(p.configure())
        p.run()
        let number = try #require(p.bEvents.compactMap { e -> UInt32? in if case let .report(.negotiated(t, _, _, _)) = e { return t }; return nil }.first)
        #expect(number == 5)
        let before = try #require(established(p.aEvents).child)
        p.a.rekey(tunnel: 1, phase: phase, now: p.now)
        p.run()
        // What the rekey replaced goes at the peer once our QM3 has had time to arrive.
        #expect(p.b.sas.values.contains { !$0.retired.isEmpty } && p.b.saCount == (phase == 1 ? 2 : 1))
        p.advance(seconds: 16)
        #expect(p.b.sas.values.allSatisfy { $0.retired.isEmpty })
        if phase == 1 {
            #expect(p.aEvents.contains { if case .report(.phase1Rekeyed(1, _)) = $0 { return true }; return false })
            #expect(p.bEvents.contains { if case .report(.phase1Rekeyed(5, _)) = $0 { return true }; return false })
            #expect(p.a.saCount == 1 && p.b.saCount == 1)
            // The IPsec SAs moved to the new ISAKMP SA: a phase 2 rekey runs on it.
            p.a.rekey(tunnel: 1, phase: 2, now: p.now)
            p.run()
        }
        let aNew = p.aEvents.compactMap { e -> ChildSA? in if case let .report(.phase2Rekeyed(1, c)) = e { return c }; return nil }.last
        let bNew = p.bEvents.compactMap { e -> ChildSA? in if case let .report(.phase2Rekeyed(5, c)) = e { return c }; return nil }.last
        let a = try #require(aNew), b = try #require(bNew)
        #expect(a.inboundSPI != before.inboundSPI && a.outboundSPI == b.inboundSPI && a.inboundSPI == b.outboundSPI)
        #expect(a.outbound.encryption == b.inbound.encryption)
        #expect(!p.bEvents.contains { if case .report(.deleted) = $0 { return true }; return false })
    }

    /// A phase 1 rekey commanded while our Quick Mode is in flight follows it a second
    /// later: it used to be dropped (left to the lifetime's rekey, hours away).
    @Test func aPhase1RekeyCommandedDuringOurQuickModeFollowsIt() throws {
        let p = Pair()
        p.up()
        #expect(established(p.aEvents).child != nil)
        func phase1Rekeyed(_ events: [EngineOutput]) -> Bool { events.contains { if case .report(.phase1Rekeyed) = $0 { return true }; return false } }
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        p.a.rekey(tunnel: 1, phase: 1, now: p.now)
        p.run()
        #expect(p.aEvents.contains { if case .report(.phase2Rekeyed(1, _)) = $0 { return true }; return false })
        #expect(!phase1Rekeyed(p.aEvents))
        p.advance(seconds: 2)
        #expect(phase1Rekeyed(p.aEvents) && phase1Rekeyed(p.bEvents), "\(logs(p.aEvents))")
    }

    /// Our phase 1 rekey whose Quick Mode renewal never gets through (the network loses
    /// everything after the new Main Mode): the ISAKMP SA it replaced is deleted with the
    /// failure, not left without a tunnel for ever.
    @Test func aFailedRenewalAfterAPhase1RekeyLeavesNoOldISAKMPSA() throws {
        let p = Pair()
        p.up()
        #expect(established(p.aEvents).child != nil)
        p.a.rekey(tunnel: 1, phase: 1, now: p.now)
        let base = p.sent
        p.run(drop: { $0 > base + 6 })
        #expect(p.aEvents.contains { if case .report(.phase1Rekeyed(1, _)) = $0 { return true }; return false })
        #expect(p.a.saCount == 2)
        func renewalFailed() -> Bool { p.aEvents.contains { if case .report(.phase2Failed(1, _)) = $0 { return true }; return false } }
        for _ in 0..<120 where !renewalFailed() { p.advance(seconds: 1, drop: { _ in true }) }
        #expect(renewalFailed())
        // The new ISAKMP SA stays (the Tunnel Manager retries phase 2 on it); the old is gone.
        #expect(p.a.saCount == 1, "\(logs(p.aEvents))")
    }

    /// Our phase 1 rekey whose Main Mode goes unanswered does not fail the tunnel: it
    /// runs on the current ISAKMP SA, which tries again a minute later.
    @Test func aFailedPhase1RekeyLeavesTheTunnelUpAndIsTriedAgain() throws {
        let p = Pair()
        p.up(dpd: 0)
        #expect(established(p.aEvents).child != nil)
        p.a.rekey(tunnel: 1, phase: 1, now: p.now)
        // Five transmissions of its first message, 2 + 4 + 8 + 16 + 32 s apart.
        p.advance(seconds: 70, drop: { _ in true })
        #expect(failures(p.aEvents).isEmpty, "\(logs(p.aEvents))")
        #expect(logs(p.aEvents).contains { $0.contains("phase 1 rekey with 198.51.100.7:500 failed") })
        #expect(p.a.saCount == 1)
        // The network is back: the next try, a minute after the failure, goes through.
        p.advance(seconds: 60)
        #expect(p.aEvents.contains { if case .report(.phase1Rekeyed(1, _)) = $0 { return true }; return false }, "\(logs(p.aEvents))")
    }

    @Test func deadPeerDetection() throws {
        let p = Pair()
        p.up(dpd: 10)
        #expect(established(p.aEvents).child != nil)
        // A live peer answers R-U-THERE: nothing happens.
        p.advance(seconds: 25)
        #expect(!p.aEvents.contains { if case .report(.peerDead) = $0 { return true }; return false })
        // A silent one (everything to b lost) is declared dead.
        p.advance(seconds: 120, drop: { _ in true })
        #expect(p.aEvents.contains { if case .report(.peerDead(1)) = $0 { return true }; return false })
        #expect(p.a.saCount == 0)
    }
}

@Suite struct ResponderPolicyTests {
    /// A Main Mode tunnel does not answer Aggressive Mode (whose PSK hash an eavesdropper
    /// could attack offline), and says so.
    @Test func aTunnelAnswersOnlyItsOwnExchange() {
        let p = Pair()
        _ = p.configure(aggressive: false)
        p.start(Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", aggressive: true))
        p.run()
        #expect(failures(p.aEvents) == ["1: peer answered INVALID-EXCHANGE-TYPE"])
        #expect(p.b.saCount == 0 && p.b.counters.noMatchingTunnel == 1)
    }

    @Test func anUnknownPeerGetsNoProposalChosen() {
        let p = Pair()
        p.b.policies = []
        p.start(Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"))
        p.run()
        #expect(failures(p.aEvents) == ["1: peer answered NO-PROPOSAL-CHOSEN"])
    }
}

@Suite struct HalfOpenTests {
    /// Sends Main Mode message 1 from `source` to b, `count` times.
    func flood(_ p: Pair, from source: String, count: Int, aggressive: Bool = false) {
        for _ in 0..<count {
            let a = IKEv1Engine { _ in IPAddress(source)! }
            let policy = Pair.policy("x", local: source, remote: "198.51.100.7", aggressive: aggressive)
            a.initiate(tunnel: 1, policy: policy, remote: IPAddress("198.51.100.7")!, now: p.now)
            for case let .send(bytes, src, dst) in a.takeOutput() { p.b.receive(bytes, from: src, to: dst, now: p.now) }
        }
    }

    /// First messages from a configured peer's address keep at most its share: each past
    /// it replaces that source's oldest. They expire as before.
    @Test func halfOpenSAsAreBoundedAndExpire() {
        let p = Pair()
        _ = p.configure()
        p.b.halfOpenLimit = 3
        flood(p, from: "192.0.2.1", count: 5)
        #expect(p.b.saCount == 3 && p.b.counters.halfOpenReplaced == 2 && p.b.halfOpenCount == 3)
        p.b.tick(now: p.now + .seconds(31))
        #expect(p.b.saCount == 0 && p.b.counters.halfOpenExpired == 3 && p.b.halfOpenCount == 0)
    }

    /// Spoofed first messages from many addresses fill the table (and are counted), one
    /// address gets its share only, and the configured peer's tunnel still comes up.
    @Test func aFloodOfFirstMessagesLeavesRoomForConfiguredPeers() {
        let p = Pair()
        let policy = p.configure()
        p.b.policies.append(Pair.policy("anyone", local: "198.51.100.7", remote: nil, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24"))
        p.b.halfOpenLimit = 20
        flood(p, from: "203.0.113.200", count: 30)
        #expect(p.b.halfOpenCount == p.b.limits.halfOpenPerSource)
        for i in 0..<30 { flood(p, from: "203.0.113.\(i + 1)", count: 1) }
        #expect(p.b.halfOpenCount == 20 && p.b.counters.halfOpenRefused == 26)
        p.start(policy)
        p.run()
        #expect(established(p.aEvents).child != nil)
    }

    /// A peer that runs phase 1 and never a Quick Mode leaves us an ISAKMP SA that no
    /// tunnel uses: it is deleted (the peer told) after `retireGrace`.
    @Test func aPhase1WithoutQuickModeIsRetired() {
        let p = Pair()
        p.start(p.configure())
        // Everything but Quick Mode (exchange type 32) reaches the other side.
        var progress = true
        while progress {
            progress = false
            for (from, to) in [(p.a, p.b), (p.b, p.a)] {
                for case let .send(bytes, src, dst) in from.takeOutput() where bytes[18] != 32 {
                    to.receive(bytes, from: src, to: dst, now: p.now)
                    progress = true
                }
            }
        }
        #expect(p.b.saCount == 1 && p.b.halfOpenCount == 0)
        p.b.tick(now: p.now + .seconds(59))
        #expect(p.b.saCount == 1)
        p.b.tick(now: p.now + IKEv1Engine.retireGrace)
        #expect(p.b.saCount == 0)
        #expect(p.b.takeOutput().contains { if case .send = $0 { return true }; return false })
    }

    /// Aggressive Mode costs the responder a Diffie-Hellman before any proof: at most
    /// `aggressive_rate` a second from addresses no tunnel names.
    @Test func aggressiveModeIsRateLimited() {
        let p = Pair()
        _ = p.configure()
        p.b.policies.append(Pair.policy("anyone", local: "198.51.100.7", remote: nil, aggressive: true))
        p.b.limits.aggressivePerSecond = 5
        for i in 0..<8 { flood(p, from: "203.0.113.\(i + 1)", count: 1, aggressive: true) }
        #expect(p.b.saCount == 5 && p.b.counters.aggressiveLimited == 3)
        p.now = p.now + .seconds(1)
        flood(p, from: "203.0.113.99", count: 1, aggressive: true)
        #expect(p.b.saCount == 6)
    }
}

@Suite struct InformationalTests {
    /// A copy of an Informational message (here an R-U-THERE) is neither answered twice
    /// nor answered with an empty datagram.
    @Test func aDuplicatedInformationalIsDropped() throws {
        let p = Pair()
        var policy = p.configure()
        policy.dpdDelaySeconds = 5
        p.b.policies[0].dpdDelaySeconds = 5
        p.start(policy)
        p.run()
        #expect(established(p.aEvents).child != nil)
        p.now = p.now + .seconds(6)
        p.a.tick(now: p.now)
        let probes = p.a.takeOutput().compactMap { e -> ([UInt8], Endpoint, Endpoint)? in
            if case let .send(b, s, d) = e { return (b, s, d) }
            return nil
        }
        let (bytes, src, dst) = try #require(probes.first)
        p.b.receive(bytes, from: src, to: dst, now: p.now)
        p.b.receive(bytes, from: src, to: dst, now: p.now)
        let answers = p.b.takeOutput().compactMap { e -> [UInt8]? in if case let .send(b, _, _) = e { return b }; return nil }
        #expect(answers.count == 1 && !answers[0].isEmpty)
    }
}

@Suite struct PrecheckTests {
    /// On the pool buffer, before any copy: first messages pass, messages for an SA we
    /// do not have are dropped and counted, a broken header too.
    @Test func unknownCookiesAndBrokenHeadersStopBeforeAnyState() throws {
        let p = Pair()
        let policy = p.configure()
        p.start(policy)
        let first = try #require(p.a.takeOutput().compactMap { e -> [UInt8]? in if case let .send(b, _, _) = e { return b }; return nil }.first)
        #expect(first.withUnsafeBytes { p.b.precheck($0) })
        var stranger = first
        stranger[8] = 0x42  // a responder cookie nobody gave out
        #expect(!stranger.withUnsafeBytes { p.b.precheck($0) })
        #expect(!Array(first[0..<20]).withUnsafeBytes { p.b.precheck($0) })
        #expect(p.b.counters.unknownCookie == 1 && p.b.counters.malformed == 1 && p.b.saCount == 0)
    }
}

/// Messages an IKEv1 responder must not answer (found by adversarial testing).
@Suite struct IKEv1RefusalTests {
    func sends(_ outputs: [EngineOutput]) -> [[UInt8]] {
        outputs.compactMap { if case let .send(bytes, _, _) = $0 { return bytes }; return nil }
    }

    /// RFC 2408 §5.1: a first message with a payload type that is not ISAKMP's builds
    /// nothing and gets no answer.
    @Test func aFirstMessageWithAnUnknownPayloadTypeIsNotAnswered() throws {
        let p = Pair()
        p.start(p.configure())
        let first = try #require(p.a.takeOutput().compactMap { o -> ([UInt8], Endpoint, Endpoint)? in
            if case let .send(b, s, d) = o { return (b, s, d) }; return nil
        }.first)
        var bytes = first.0
        // Walk the payload chain to its last payload; chain a payload of type 200 after it.
        var offset = 28
        while true {
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if bytes[offset] == 0 { bytes[offset] = 200; break }
            offset += length
        }
        bytes += [0, 0, 0, 4]
        let total = bytes.count
        bytes[24] = UInt8(total >> 24); bytes[25] = UInt8(total >> 16 & 0xff); bytes[26] = UInt8(total >> 8 & 0xff); bytes[27] = UInt8(total & 0xff)
        p.b.receive(bytes, from: first.1, to: first.2, now: p.now)
        #expect(sends(p.b.takeOutput()).isEmpty)
        #expect(p.b.saCount == 0 && p.b.counters.malformed == 1)
        // The same message without it is answered.
        p.b.receive(first.0, from: first.1, to: first.2, now: p.now)
        #expect(sends(p.b.takeOutput()).count == 1)
    }

    /// RFC 2408 §4.8: after phase 1 an Informational has a message ID of its own; an
    /// R-U-THERE under message ID 0 is dropped, not acknowledged.
    @Test func anInformationalWithMessageIDZeroAfterPhase1IsDropped() throws {
        let p = Pair()
        p.start(p.configure())
        p.run()
        let a = try #require(p.a.sas.values.first { $0.isEstablished })
        let probe: [ISAKMPPayload] = [.notification(ISAKMPNotification(.rUThere, spi: p.a.cookies(a), data: [0, 0, 0, 9]))]
        let zero = try p.a.protected(a, .informational, messageID: 0, probe)
        _ = p.b.takeOutput()
        p.b.receive(zero, from: a.local, to: a.remote, now: p.now)
        #expect(sends(p.b.takeOutput()).isEmpty)
        let fresh = try p.a.protected(a, .informational, messageID: 0x1234_5678, probe)
        p.b.receive(fresh, from: a.local, to: a.remote, now: p.now)
        #expect(sends(p.b.takeOutput()).count == 1)
    }
}
