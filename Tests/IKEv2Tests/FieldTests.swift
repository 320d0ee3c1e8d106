import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv2

/// Delivers between two engines until both are quiet; `hold` keeps a datagram (by its
/// index in `sent`, the count of all sent) back instead of delivering it. Returns the
/// held datagrams.
@discardableResult
func exchange(_ a: IKEv2Engine, _ b: IKEv2Engine, now: Instant, aEvents: inout [EngineOutput], bEvents: inout [EngineOutput],
              sent: inout Int, hold: (Int) -> Bool = { _ in false }) -> [(bytes: [UInt8], from: Endpoint, to: Endpoint, toA: Bool)] {
    var held: [(bytes: [UInt8], from: Endpoint, to: Endpoint, toA: Bool)] = []
    var progress = true
    while progress {
        progress = false
        for (from, to, isA) in [(a, b, true), (b, a, false)] {
            for out in from.takeOutput() {
                switch out {
                case let .send(bytes, src, dst):
                    sent += 1
                    progress = true
                    if hold(sent) { held.append((bytes, src, dst, !isA)) } else { to.receive(bytes, from: src, to: dst, now: now) }
                default:
                    if isA { aEvents.append(out) } else { bEvents.append(out) }
                }
            }
        }
    }
    return held
}

@discardableResult
func exchange(_ a: IKEv2Engine, _ b: IKEv2Engine, now: Instant, aEvents: inout [EngineOutput], bEvents: inout [EngineOutput],
              hold: (Int) -> Bool = { _ in false }) -> [(bytes: [UInt8], from: Endpoint, to: Endpoint, toA: Bool)] {
    var sent = 0
    return exchange(a, b, now: now, aEvents: &aEvents, bEvents: &bEvents, sent: &sent, hold: hold)
}

/// Behaviour that real peers exposed (the field issue): authentication failures after
/// IKE_AUTH, INITIAL_CONTACT from a restarted peer, IKE SAs without a CHILD_SA.
@Suite struct FieldTests {
    let siteA = Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")
    let siteB = Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7")

    func failures(_ events: [EngineOutput]) -> [String] {
        events.compactMap { if case let .report(.phase1Failed(_, reason)) = $0 { return "1: \(reason)" }; if case let .report(.phase2Failed(_, reason)) = $0 { return "2: \(reason)" }; return nil }
    }

    /// The number the responder gave the tunnel a peer started.
    func responderTunnel(_ events: [EngineOutput]) -> UInt32? {
        for e in events { if case let .report(.negotiated(t, _, _, _)) = e { return t } }
        return nil
    }

    /// We initiate and refuse the responder's identity: the responder, which is
    /// established by then, is told with AUTHENTICATION_FAILED and drops its SA, and the
    /// tunnel it reported fails with that reason.
    @Test func theInitiatorTellsTheResponderItsIdentityWasRefused() throws {
        let a = IKEv2Engine { _ in IPAddress("192.0.2.1")! }
        let b = IKEv2Engine { _ in IPAddress("198.51.100.7")! }
        b.tunnelNumbers = TunnelNumbers(first: 7)
        let now = Instant(nanoseconds: 1_000_000_000)
        b.policies = [siteA]
        var strict = siteB
        strict.remoteID = .fqdn("gw.example")
        a.initiate(tunnel: 1, policy: strict, remote: IPAddress("198.51.100.7")!, now: now)
        var aEvents: [EngineOutput] = [], bEvents: [EngineOutput] = []
        // IKE_SA_INIT, IKE_AUTH, then the INFORMATIONAL (5th), held until b has numbered its tunnel.
        let held = exchange(a, b, now: now, aEvents: &aEvents, bEvents: &bEvents, hold: { $0 == 5 })
        #expect(failures(aEvents) == ["1: peer identifies as 198.51.100.7, expected remote_id @gw.example"])
        #expect(try #require(responderTunnel(bEvents)) == 7)
        let informational = try #require(held.first)
        #expect(informational.bytes[18] == 37)  // exchange type INFORMATIONAL
        b.receive(informational.bytes, from: informational.from, to: informational.to, now: now)
        bEvents += b.takeOutput()
        #expect(failures(bEvents) == ["1: the peer refused our authentication after IKE_AUTH (AUTHENTICATION_FAILED): check local_id, remote_id and psk on both sides"])
        #expect(a.saCount == 0 && b.saCount == 0)
    }

    /// RFC 7296 §2.4: a peer that restarted comes back with INITIAL_CONTACT; its old IKE
    /// SA (and tunnel) is replaced, not left Active beside the new one.
    @Test func initialContactFromARestartedPeerReplacesTheOldSA() throws {
        let b = IKEv2Engine { _ in IPAddress("198.51.100.7")! }
        b.tunnelNumbers = TunnelNumbers(first: 7)
        let now = Instant(nanoseconds: 1_000_000_000)
        b.policies = [siteA]
        var bEvents: [EngineOutput] = []
        let first = IKEv2Engine { _ in IPAddress("192.0.2.1")! }
        var firstEvents: [EngineOutput] = []
        first.initiate(tunnel: 1, policy: siteB, remote: IPAddress("198.51.100.7")!, now: now)
        exchange(first, b, now: now, aEvents: &firstEvents, bEvents: &bEvents)
        #expect(try #require(responderTunnel(bEvents)) == 7)
        #expect(b.saCount == 1)
        // The peer restarts: a fresh engine, no memory of the old SA.
        let restarted = IKEv2Engine { _ in IPAddress("192.0.2.1")! }
        var restartedEvents: [EngineOutput] = []
        bEvents = []
        restarted.initiate(tunnel: 1, policy: siteB, remote: IPAddress("198.51.100.7")!, now: now)
        exchange(restarted, b, now: now, aEvents: &restartedEvents, bEvents: &bEvents)
        #expect(responderTunnel(bEvents) != nil)
        #expect(bEvents.contains { if case .report(.deleted(7, .one)) = $0 { return true }; return false })
        #expect(b.saCount == 1)
    }

    /// Under a `remote_id '%any'` template many clients may share one identity: one
    /// client's INITIAL_CONTACT replaces only its own older SA, never another client's.
    @Test func initialContactUnderASharedIdentityTemplateSparesOtherClients() throws {
        let hub = IKEv2Engine { _ in IPAddress("198.51.100.7")! }
        hub.tunnelNumbers = TunnelNumbers(first: 7)
        let now = Instant(nanoseconds: 1_000_000_000)
        hub.policies = [Pair.policy("clients", local: "198.51.100.7", remote: nil, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        var hubEvents: [EngineOutput] = []
        for (n, address) in ["192.0.2.1", "192.0.2.2"].enumerated() {
            let client = IKEv2Engine { _ in IPAddress(address)! }
            var policy = Pair.policy("hub", local: address, remote: "198.51.100.7")
            policy.localID = .fqdn("client.example")
            client.initiate(tunnel: 1, policy: policy, remote: IPAddress("198.51.100.7")!, now: now)
            var clientEvents: [EngineOutput] = []
            hubEvents = []
            exchange(client, hub, now: now, aEvents: &clientEvents, bEvents: &hubEvents)
            #expect(try #require(responderTunnel(hubEvents)) == UInt32(7 + n))
        }
        // Both clients sent INITIAL_CONTACT (each had no SA of its own): both stay.
        #expect(!hubEvents.contains { if case .report(.deleted) = $0 { return true }; return false })
        #expect(hub.saCount == 2)
        // The first client restarts from its address: its old SA, and only that one, goes.
        let restarted = IKEv2Engine { _ in IPAddress("192.0.2.1")! }
        var policy = Pair.policy("hub", local: "192.0.2.1", remote: "198.51.100.7")
        policy.localID = .fqdn("client.example")
        restarted.initiate(tunnel: 1, policy: policy, remote: IPAddress("198.51.100.7")!, now: now)
        var restartedEvents: [EngineOutput] = []
        hubEvents = []
        exchange(restarted, hub, now: now, aEvents: &restartedEvents, bEvents: &hubEvents)
        #expect(hubEvents.contains { if case .report(.deleted(7, .one)) = $0 { return true }; return false })
        #expect(!hubEvents.contains { if case .report(.deleted(8, .one)) = $0 { return true }; return false })
        #expect(hub.saCount == 2)
    }

    /// a (192.0.2.1) has started tunnel 1 toward b (198.51.100.7, `site_a`, numbering from
    /// 7), and both hold it.
    func oneTunnel() throws -> (a: IKEv2Engine, b: IKEv2Engine, now: Instant, aEvents: [EngineOutput], bEvents: [EngineOutput]) {
        let a = IKEv2Engine { _ in IPAddress("192.0.2.1")! }
        let b = IKEv2Engine { _ in IPAddress("198.51.100.7")! }
        b.tunnelNumbers = TunnelNumbers(first: 7)
        let now = Instant(nanoseconds: 1_000_000_000)
        b.policies = [siteA]
        var aEvents: [EngineOutput] = [], bEvents: [EngineOutput] = []
        a.initiate(tunnel: 1, policy: siteB, remote: IPAddress("198.51.100.7")!, now: now)
        exchange(a, b, now: now, aEvents: &aEvents, bEvents: &bEvents)
        #expect(try #require(responderTunnel(bEvents)) == 7)
        return (a, b, now, aEvents, bEvents)
    }

    /// A second tunnel to a peer we already have an SA with sends no INITIAL_CONTACT,
    /// or the peer would tear the first one down.
    @Test func aSecondTunnelToTheSamePeerLeavesTheFirstAlone() throws {
        var (a, b, now, aEvents, bEvents) = try oneTunnel()
        a.initiate(tunnel: 2, policy: siteB, remote: IPAddress("198.51.100.7")!, now: now)
        bEvents = []
        exchange(a, b, now: now, aEvents: &aEvents, bEvents: &bEvents)
        #expect(responderTunnel(bEvents) != nil)
        #expect(!bEvents.contains { if case .report(.deleted) = $0 { return true }; return false })
        #expect(b.saCount == 2)
    }

    /// INITIAL_CONTACT goes with the first SA we hold with a peer, not the first since we
    /// started: our tunnel removed while its delete was lost, the peer still holds its SA;
    /// our next tunnel to it says INITIAL_CONTACT again, and the peer drops the stale one.
    /// Nothing of a peer stays behind once its last SA is gone.
    @Test func initialContactReturnsOnceTheLastSAWithThePeerIsGone() throws {
        var (a, b, now, aEvents, bEvents) = try oneTunnel()
        #expect(a.contacted.count == 1 && b.contacted.count == 1)
        // Our delete (sent once, the SA gone with it) never arrives: the peer keeps its SA.
        a.delete(tunnel: 1, phase: 1, now: now)
        let lost = a.takeOutput().filter { if case .send = $0 { return true }; return false }
        #expect(lost.count == 1)
        #expect(a.saCount == 0 && a.contacted.isEmpty)
        #expect(b.saCount == 1)
        bEvents = []
        a.initiate(tunnel: 2, policy: siteB, remote: IPAddress("198.51.100.7")!, now: now + .seconds(600))
        exchange(a, b, now: now + .seconds(600), aEvents: &aEvents, bEvents: &bEvents)
        #expect(try #require(responderTunnel(bEvents)) == 8)
        #expect(bEvents.contains { if case .report(.deleted(7, .one)) = $0 { return true }; return false })
        #expect(a.saCount == 1 && b.saCount == 1)
        #expect(a.contacted.count == 1 && b.contacted.count == 1)
    }

    /// An IKE SA whose first CHILD_SA failed has no tunnel at the responder: it is
    /// deleted, not left invisible to `ike cmd=list` until its lifetime.
    @Test func anIKESAWithoutItsFirstChildIsDeletedByTheResponder() throws {
        let a = IKEv2Engine { _ in IPAddress("192.0.2.1")! }
        let b = IKEv2Engine { _ in IPAddress("198.51.100.7")! }
        b.tunnelNumbers = TunnelNumbers(first: 7)
        let now = Instant(nanoseconds: 1_000_000_000)
        var cbcOnly = siteA
        cbcOnly.espProposals = [AlgorithmSet(ciphers: [Cipher(.aesCBC, keyBits: 128)], integrity: [.hmacSHA2_256_128], prfs: [], groups: [])]
        b.policies = [cbcOnly]
        var aEvents: [EngineOutput] = [], bEvents: [EngineOutput] = []
        a.initiate(tunnel: 1, policy: siteB, remote: IPAddress("198.51.100.7")!, now: now)
        exchange(a, b, now: now, aEvents: &aEvents, bEvents: &bEvents)
        #expect(failures(aEvents) == ["2: peer answered NO_PROPOSAL_CHOSEN"])
        #expect(aEvents.contains { if case .report(.deleted(1, .one)) = $0 { return true }; return false })
        #expect(a.saCount == 0 && b.saCount == 0)
        #expect(responderTunnel(bEvents) == nil)
    }

    /// Two tunnels between the same two peers, same PSK and identities, differing only by
    /// subnets, started together: the responder tells them apart by their traffic
    /// selectors, and only one IKE_AUTH carries INITIAL_CONTACT (so neither kills the other).
    @Test func twoTunnelsToOnePeerAreToldApartBySubnets() {
        let a = IKEv2Engine { _ in IPAddress("192.0.2.1")! }
        let b = IKEv2Engine { _ in IPAddress("198.51.100.7")! }
        b.tunnelNumbers = TunnelNumbers(first: 7)
        b.policies = [
            Pair.policy("first", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24"),
            Pair.policy("second", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.1.0/24", remoteNet: "10.1.1.0/24"),
        ]
        let now = Instant(nanoseconds: 1_000_000_000)
        a.initiate(tunnel: 1, policy: Pair.policy("one", local: "192.0.2.1", remote: "198.51.100.7", localNet: "10.1.1.0/24", remoteNet: "10.2.1.0/24"),
                   remote: IPAddress("198.51.100.7")!, now: now)
        a.initiate(tunnel: 2, policy: Pair.policy("two", local: "192.0.2.1", remote: "198.51.100.7", localNet: "10.1.0.0/24", remoteNet: "10.2.0.0/24"),
                   remote: IPAddress("198.51.100.7")!, now: now)
        var aEvents: [EngineOutput] = [], bEvents: [EngineOutput] = []
        exchange(a, b, now: now, aEvents: &aEvents, bEvents: &bEvents)
        let names = bEvents.compactMap { e -> String? in if case let .report(.negotiated(_, name, _, _)) = e { return name }; return nil }
        #expect(names.sorted() == ["first", "second"])
        #expect(a.saCount == 2 && b.saCount == 2)
        #expect(!bEvents.contains { if case .report(.deleted) = $0 { return true }; return false })
        #expect(aEvents.filter { if case .report(.phase2Created) = $0 { return true }; return false }.count == 2)
    }
}
