import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv2

/// The initiator behind a NAT that maps 192.0.2.1:P to 203.0.113.5:(40000 + P).
@Suite struct NATTraversalTests {
    let inside = IPAddress("192.0.2.1")!, outside = IPAddress("203.0.113.5")!

    func translateOut(_ e: Endpoint) -> Endpoint { e.address == inside ? Endpoint(outside, 40000 + e.port) : e }
    func translateIn(_ e: Endpoint) -> Endpoint { e.address == outside ? Endpoint(inside, e.port - 40000) : e }

    @Test func behindANATTheSAsFloatTo4500AndESPGoesInUDP() throws {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: nil, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: p.now)
        var ports: [UInt16] = []
        var progress = true
        var aChild: ChildSA? = nil, bChild: ChildSA? = nil
        while progress {
            progress = false
            for out in p.a.takeOutput() {
                if case let .send(bytes, src, dst) = out {
                    progress = true
                    ports.append(dst.port)
                    p.b.receive(bytes, from: translateOut(src), to: dst, now: p.now)
                } else if case let .report(.phase2Created(_, c)) = out { aChild = c }
            }
            for out in p.b.takeOutput() {
                if case let .send(bytes, src, dst) = out {
                    progress = true
                    p.a.receive(bytes, from: src, to: translateIn(dst), now: p.now)
                } else if case let .report(.negotiated(_, _, _, c)) = out { bChild = c }
            }
        }
        // IKE_SA_INIT to 500, IKE_AUTH to 4500 (RFC 7296 §2.23).
        #expect(ports == [500, 4500])
        let a = try #require(aChild), b = try #require(bChild)
        #expect(a.encapsulation?.local == 4500 && a.encapsulation?.remote == 4500)
        // The responder sees the NAT's mapping of the initiator's 4500.
        #expect(b.encapsulation?.local == 4500 && b.encapsulation?.remote == 44500)
        // RFC 3948 §4: only the side behind the NAT sends keepalives, one interval after
        // the start, never from the first tick; the responder in front of it sends none.
        func keepalives(_ e: IKEv2Engine, at t: Instant) -> Int {
            e.tick(now: t)
            return e.takeOutput().filter { if case .keepalive = $0 { return true }; return false }.count
        }
        #expect(keepalives(p.a, at: p.now + .milliseconds(500)) == 0)
        #expect(keepalives(p.b, at: p.now + .milliseconds(500)) == 0)
        #expect(keepalives(p.a, at: p.now + .seconds(21)) == 1)
        #expect(keepalives(p.b, at: p.now + .seconds(21)) == 0)
        #expect(keepalives(p.b, at: p.now + .seconds(61)) == 0)
    }

    @Test func withoutANATThereIsNoEncapsulation() throws {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.a.initiate(tunnel: 1, policy: Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"), remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        let child = p.aEvents.compactMap { if case let .report(.phase2Created(_, c)) = $0 { return c }; return nil }.first
        #expect(try #require(child).encapsulation == nil)
    }
}
