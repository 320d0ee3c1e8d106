import CAllocCounter
import IKECore
import IKECrypto
import IKEWire
import IKEv1
import IKEv2
import Platform

/// What an established tunnel costs a responder engine in heap: N initiators negotiate
/// with one responder in memory (PSK, aes256gcm16-prfsha256-x25519), then the initiators
/// are released, and the responder's heap growth is divided by N. Counted by the
/// interposed allocator, so it is every byte the engine holds, OpenSSL's included, and
/// nothing of the process's pages. IKEv1 runs Main Mode with aes256-sha256-x25519 and
/// Quick Mode with aes256gcm16 and PFS.
///
///   ike-bench memory [N]
enum MemoryBenchmark {
    static let hub = IPAddress("198.51.100.1")!

    static func policy(version: Int, remote: IPAddress?, local: IPAddress?, localNet: String, remoteNet: String) -> EnginePolicy {
        let ike = version == 2
            ? AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256)], integrity: [], prfs: [.hmacSHA2_256], groups: [.curve25519])
            : AlgorithmSet(ciphers: [Cipher(.aesCBC, keyBits: 256)], integrity: [.hmacSHA2_256_128], prfs: [.hmacSHA2_256], groups: [.curve25519])
        return EnginePolicy(
            name: "hub", localAddress: local, remoteAddress: remote, localID: nil,
            remoteID: remote.map { .address($0) } ?? .any, psk: SecretBytes(Array("benchmark".utf8)),
            ikeProposals: [ike],
            espProposals: [AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256)], integrity: [], prfs: [], groups: [.curve25519])],
            localSelectors: [TrafficSelector(try! Subnet.parse(localNet).get())],
            remoteSelectors: [TrafficSelector(try! Subnet.parse(remoteNet).get())],
            transportMode: false, ikeLifetimeSeconds: 28800, childLifetimeSeconds: 3600)
    }

    /// The spoke `i`'s address and subnet.
    static func spoke(_ i: Int) -> (address: IPAddress, net: String) {
        (IPAddress("10.\(64 + i / 65536).\(i / 256 % 256).\(i % 256)")!, "172.\(16 + i / 65536).\(i / 256 % 256).0/24")
    }

    /// Delivers what each engine sends to the other until both are quiet.
    static func exchange(_ a: any SansIOEngine, _ b: any SansIOEngine, now: Instant,
                         receiveA: ([UInt8], Endpoint, Endpoint) -> Void, receiveB: ([UInt8], Endpoint, Endpoint) -> Void) -> Int {
        var established = 0
        var progress = true
        while progress {
            progress = false
            for out in a.takeOutput() {
                switch out {
                case let .send(bytes, src, dst):
                    receiveB(bytes, src, dst)
                    progress = true
                case let .failed(_, phase, reason):
                    Process.printError("ike-bench memory: phase \(phase) failed at an initiator: \(reason)")
                default:
                    break
                }
            }
            for out in b.takeOutput() {
                switch out {
                case let .send(bytes, src, dst):
                    receiveA(bytes, src, dst)
                    progress = true
                case let .failed(_, phase, reason):
                    Process.printError("ike-bench memory: phase \(phase) failed at the responder: \(reason)")
                case let .responderEstablished(spi, _, _, _):
                    established += 1
                    b.assign(tunnel: UInt32(truncatingIfNeeded: spi), toSA: spi)
                default:
                    break
                }
            }
        }
        return established
    }

    /// Heap bytes per established tunnel held by a responder of `version`.
    static func perTunnel(version: Int, count: Int) -> Int {
        let now = Instant(nanoseconds: 1_000_000_000)
        let responder: any SansIOEngine = version == 2 ? IKEv2Engine { _ in hub } : IKEv1Engine { _ in hub }
        responder.policies = [policy(version: version, remote: nil, local: hub, localNet: "10.0.0.0/16", remoteNet: "172.16.0.0/12")]
        responder.limits.cookieThreshold = Int.max
        responder.logs = { _ in false }
        var established = 0
        let before = ike_alloc_live_bytes()
        do {
            var initiators: [any SansIOEngine] = []
            for i in 0..<count {
                let (address, net) = spoke(i)
                let initiator: any SansIOEngine = version == 2 ? IKEv2Engine { _ in address } : IKEv1Engine { _ in address }
                initiator.logs = { _ in false }
                initiator.initiate(tunnel: 1, policy: policy(version: version, remote: hub, local: address, localNet: net, remoteNet: "10.0.0.0/16"),
                                   remote: hub, now: now)
                if let r = responder as? IKEv2Engine, let i = initiator as? IKEv2Engine {
                    established += exchange(i, r, now: now,
                                            receiveA: { b, s, d in i.receive(b, from: s, to: d, now: now) },
                                            receiveB: { b, s, d in if b.withUnsafeBytes({ r.precheck($0) }) { r.receive(b, from: s, to: d, now: now) } })
                } else if let r = responder as? IKEv1Engine, let i = initiator as? IKEv1Engine {
                    established += exchange(i, r, now: now,
                                            receiveA: { b, s, d in i.receive(b, from: s, to: d, now: now) },
                                            receiveB: { b, s, d in if b.withUnsafeBytes({ r.precheck($0) }) { r.receive(b, from: s, to: d, now: now) } })
                }
                initiators.append(initiator)
            }
            initiators.removeAll()
        }
        _ = responder.takeOutput()
        let grown = Int(ike_alloc_live_bytes() - before)
        guard established == count, responder.saCount == count else {
            Process.printError("ike-bench memory: IKEv\(version): \(established) of \(count) tunnels established, \(responder.saCount) SAs held")
            Process.exit(1)
        }
        return grown / count
    }

    static func run(count: Int) {
        for version in [2, 1] {
            let bytes = perTunnel(version: version, count: count)
            Process.printOut("IKEv\(version) responder: \(count) tunnels established, \(bytes) B of heap per tunnel held")
        }
    }
}
