import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv1

/// The initiator behind a NAT that maps 192.0.2.1:P to 203.0.113.5:(40000 + P).
@Suite struct NATTraversalTests {
    let inside = IPAddress("192.0.2.1")!, outside = IPAddress("203.0.113.5")!

    func translateOut(_ e: Endpoint) -> Endpoint { e.address == inside ? Endpoint(outside, 40000 + e.port) : e }
    func translateIn(_ e: Endpoint) -> Endpoint { e.address == outside ? Endpoint(inside, e.port - 40000) : e }

    @Test(arguments: [false, true])
    func behindANATPhase1MovesTo4500AndESPGoesInUDP(aggressive: Bool) throws {
        let p = Pair()
        p.b.policies = [Pair.policy("site_a", local: "198.51.100.7", remote: nil, aggressive: aggressive, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")]
        p.start(Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", aggressive: aggressive))
        var ports: [UInt16] = []
        func deliver() {
            var progress = true
            while progress {
                progress = false
                for out in p.a.takeOutput() {
                    if case let .send(bytes, src, dst) = out {
                        progress = true
                        ports.append(dst.port)
                        p.b.receive(bytes, from: translateOut(src), to: dst, now: p.now)
                    } else { p.aEvents.append(out) }
                }
                for out in p.b.takeOutput() {
                    if case let .send(bytes, src, dst) = out {
                        progress = true
                        p.a.receive(bytes, from: src, to: translateIn(dst), now: p.now)
                    } else { p.bEvents.append(out) }
                }
            }
        }
        deliver()
        // Aggressive Mode's Quick Mode starts on the next tick.
        p.now = p.now + .milliseconds(500)
        p.a.tick(now: p.now)
        deliver()
        // The initiator's messages: RFC 3947 §4 moves them to 4500 once the NAT-D payloads
        // show the NAT (from MM5, or from AM3); QM3 goes twice.
        #expect(ports == (aggressive ? [500, 4500, 4500, 4500, 4500] : [500, 500, 4500, 4500, 4500, 4500]))
        let a = try #require(established(p.aEvents).child, "\(logs(p.aEvents)) \(logs(p.bEvents))")
        let b = try #require(established(p.bEvents).child)
        #expect(a.encapsulation?.local == 4500 && a.encapsulation?.remote == 4500)
        #expect(b.encapsulation?.local == 4500 && b.encapsulation?.remote == 44500)
        #expect(a.outbound.encryption == b.inbound.encryption)
        // Keepalives from the side behind the NAT only (RFC 3948 §4).
        p.a.tick(now: p.now + .seconds(21))
        #expect(p.a.takeOutput().contains { if case .keepalive = $0 { return true }; return false })
        p.b.tick(now: p.now + .seconds(21))
        #expect(!p.b.takeOutput().contains { if case .keepalive = $0 { return true }; return false })
    }
}
