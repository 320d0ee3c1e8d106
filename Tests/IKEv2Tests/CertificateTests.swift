import CertificateProxy
import Foundation
import IKECore
import IKECrypto
import IKEWire
import PKITestSupport
import Testing
@testable import IKEv2

/// The engines back to back with certificates: each signs through its own cpsd store
/// (in process here; the daemon's runs in its own process) made from a PKI of the
/// openssl command.
@Suite struct CertificateTests {
    func side(_ engine: IKEv2Engine, leaf: String, name: String, local: String, remote: String, remoteID: Identity,
              send: SendCertificate = .ifAsked) throws -> EnginePolicy {
        let store = CredentialStore(files: TestPKI.files)
        var credential = try store.load([TestPKI.spec(leaf, tunnel: name)])[0].get()
        credential.send = send
        engine.certificates = store
        var p = Pair.policy(name, local: local, remote: remote, psk: "")
        p.remoteID = remoteID
        p.certificate = credential
        if local == "198.51.100.7" {
            p.localSelectors = [TrafficSelector(try Subnet.parse("10.2.0.0/24").get())]
            p.remoteSelectors = [TrafficSelector(try Subnet.parse("10.1.0.0/24").get())]
        }
        return p
    }

    func failures(_ events: [EngineOutput]) -> [String] {
        events.compactMap { if case let .report(.phase1Failed(_, reason)) = $0 { return "1: \(reason)" }; if case let .report(.phase2Failed(_, reason)) = $0 { return "2: \(reason)" }; return nil }
    }

    func logs(_ events: [EngineOutput], _ level: LogLevel) -> [String] {
        events.compactMap { if case let .log(l, text) = $0, l == level { return text }; return nil }
    }

    func up(_ events: [EngineOutput]) -> Bool {
        events.contains { if case .report(.phase2Created) = $0 { return true }; if case .report(.negotiated) = $0 { return true }; return false }
    }

    @Test(arguments: [("p256", "peer"), ("rsa", "peer-rsa"), ("ed25519", "peer-ed25519"), ("p384", "peer")])
    func bothSidesSignAndVerify(initiator: String, responder: String) throws {
        let p = Pair()
        let subjectB = try Identity.parse("C=CH, O=ike test, CN=\(responder).ike.test").get()
        p.b.policies = [try side(p.b, leaf: responder, name: "site_a", local: "198.51.100.7", remote: "192.0.2.1", remoteID: .any)]
        let a = try side(p.a, leaf: initiator, name: "site_b", local: "192.0.2.1", remote: "198.51.100.7", remoteID: subjectB)
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty, "\(failures(p.aEvents)) \(failures(p.bEvents))")
        #expect(up(p.aEvents) && up(p.bEvents))
        // Each side named its own subject (no local_id), and each proved it by certificate.
        let ikeA = p.aEvents.compactMap { if case let .report(.phase1Created(_, sa)) = $0 { return sa }; return nil }.first
        #expect(ikeA?.remoteID == subjectB)
        #expect(ikeA?.localID == (try Identity.parse("C=CH, O=ike test, CN=\(initiator).ike.test").get()))
        #expect(logs(p.bEvents, .information).contains { $0.contains("by certificate \"C=CH, O=ike test, CN=\(initiator).ike.test\"") })
    }

    @Test func withSendCertNeverThePeerHasNothingToVerify() throws {
        let p = Pair()
        p.b.policies = [try side(p.b, leaf: "peer", name: "site_a", local: "198.51.100.7", remote: "192.0.2.1", remoteID: .any)]
        let a = try side(p.a, leaf: "p256", name: "site_b", local: "192.0.2.1", remote: "198.51.100.7", remoteID: .any, send: .never)
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(!up(p.aEvents) && !up(p.bEvents))
        #expect(logs(p.bEvents, .event).contains { $0.contains("certificate refused: no certificate (the peer sent no certificate)") }, "\(logs(p.bEvents, .event))")
        #expect(failures(p.aEvents).contains { $0.contains("AUTHENTICATION_FAILED") })
    }

    @Test func aRemoteIDTheCertificateDoesNotProveIsRefused() throws {
        let p = Pair()
        p.b.policies = [try side(p.b, leaf: "peer", name: "site_a", local: "198.51.100.7", remote: "192.0.2.1", remoteID: .any)]
        var a = try side(p.a, leaf: "p256", name: "site_b", local: "192.0.2.1", remote: "198.51.100.7", remoteID: .any)
        a.localID = .fqdn("someone.else.test")  // not in our certificate
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(!up(p.bEvents))
        #expect(logs(p.bEvents, .event).contains { $0.contains("refused: identity mismatch") }, "\(logs(p.bEvents, .event))")
    }

    @Test func aPSKPolicyDoesNotTakeASignature() throws {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", psk: "secret", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        let a = try side(p.a, leaf: "p256", name: "site_b", local: "192.0.2.1", remote: "198.51.100.7", remoteID: .any)
        var withAddress = a
        withAddress.localID = .address(IPAddress("192.0.2.1")!)
        p.a.initiate(tunnel: 1, policy: withAddress, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(!up(p.aEvents) && !up(p.bEvents))
    }

    @Test func withoutTheProxyNothingIsSigned() throws {
        let p = Pair()
        p.b.policies = [try side(p.b, leaf: "peer", name: "site_a", local: "198.51.100.7", remote: "192.0.2.1", remoteID: .any)]
        let a = try side(p.a, leaf: "p256", name: "site_b", local: "192.0.2.1", remote: "198.51.100.7", remoteID: .any)
        p.a.certificates = nil
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(failures(p.aEvents).contains { $0.contains("cannot sign our AUTH") && $0.contains("cpsd unavailable") }, "\(failures(p.aEvents))")
    }

    /// Delivers what each engine sends, a batch at a time, through `deliver` (which may
    /// reorder, duplicate or drop); ticks the clock when nothing moves, up to `ticks` times.
    func run(_ p: Pair, ticks: Int = 0, deliver: ([(bytes: [UInt8], from: Endpoint, to: Endpoint)], Int) -> [(bytes: [UInt8], from: Endpoint, to: Endpoint)]) -> Int {
        var round = 0, datagrams = 0
        var remainingTicks = ticks
        while true {
            var moved = false
            for (from, to, isA) in [(p.a, p.b, true), (p.b, p.a, false)] {
                var batch: [(bytes: [UInt8], from: Endpoint, to: Endpoint)] = []
                for out in from.takeOutput() {
                    if case let .send(bytes, src, dst) = out { batch.append((bytes, src, dst)) } else if isA { p.aEvents.append(out) } else { p.bEvents.append(out) }
                }
                if batch.isEmpty { continue }
                moved = true
                round += 1
                datagrams += batch.count
                for d in deliver(batch, round) { to.receive(d.bytes, from: d.from, to: d.to, now: p.now) }
            }
            if !moved {
                guard remainingTicks > 0 else { return datagrams }
                remainingTicks -= 1
                p.now = p.now + .seconds(1)
                p.a.tick(now: p.now)
                p.b.tick(now: p.now)
            }
        }
    }

    func fragmentedPair(_ size: Int) throws -> Pair {
        let p = Pair()
        p.a.fragmentSize = size
        p.b.fragmentSize = size
        p.b.policies = [try side(p.b, leaf: "peer-rsa", name: "site_a", local: "198.51.100.7", remote: "192.0.2.1", remoteID: .any)]
        let a = try side(p.a, leaf: "rsa4096", name: "site_b", local: "192.0.2.1", remote: "198.51.100.7", remoteID: .any)
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        return p
    }

    @Test func fragmentsArriveReversedAndTwiceAndTheMessageIsWhole() throws {
        let p = try fragmentedPair(576)
        var largest = 0
        _ = run(p) { batch, _ in
            for d in batch { largest = max(largest, d.bytes.count) }
            return batch.reversed() + batch
        }
        #expect(up(p.aEvents) && up(p.bEvents), "\(failures(p.aEvents)) \(failures(p.bEvents))")
        // 576 octets of IPv4 datagram: 576 - 20 - 8 - 4 for the IKE message.
        #expect(largest <= 544)
        // The second copies of IKE_SA_INIT and of the request's first fragment are
        // retransmissions: each answered again, the second with every fragment.
        #expect(p.a.counters.messagesFragmented == 1 && p.b.counters.messagesFragmented == 2)
        #expect(p.b.counters.retransmitsAnswered == 2)
        #expect(p.a.counters.fragmentsReceived > 4 && p.b.counters.fragmentsReceived > 8)
        #expect(p.a.counters.fragmentsDropped == 0 && p.b.counters.fragmentsDropped == 0)
    }

    @Test func aLostFragmentIsRecoveredByRetransmission() throws {
        let p = try fragmentedPair(1280)
        // The fourth batch is the responder's fragmented IKE_AUTH answer: lose its last
        // fragment once. The initiator sends its request again; the responder answers
        // its first fragment with the whole answer again.
        _ = run(p, ticks: 4) { batch, round in round == 4 && batch.count > 1 ? Array(batch.dropLast()) : batch }
        #expect(up(p.aEvents) && up(p.bEvents), "\(failures(p.aEvents)) \(failures(p.bEvents))")
        #expect(p.b.counters.retransmitsAnswered == 1)
    }

    @Test func messagesWithinFragmentSizeStayWhole() throws {
        let p = try fragmentedPair(65_535)
        _ = run(p) { batch, _ in batch }
        #expect(up(p.aEvents) && up(p.bEvents))
        #expect(p.a.counters.messagesFragmented == 0 && p.b.counters.messagesFragmented == 0)
        #expect(p.a.counters.fragmentsReceived == 0 && p.b.counters.fragmentsReceived == 0)
    }
}
