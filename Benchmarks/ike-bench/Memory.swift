import CAllocCounter
import IKECore
import IKECrypto
import IKEWire
import IKEv1
import IKEv2
import Kernel
import Platform
import TunnelManager
import UCI

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

    static func policy(version: Int, remote: IPAddress?, local: IPAddress?, localID: Identity? = nil, localNet: String, remoteNet: String) -> EnginePolicy {
        let ike = version == 2
            ? AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256)], integrity: [], prfs: [.hmacSHA2_256], groups: [.curve25519])
            : AlgorithmSet(ciphers: [Cipher(.aesCBC, keyBits: 256)], integrity: [.hmacSHA2_256_128], prfs: [.hmacSHA2_256], groups: [.curve25519])
        return EnginePolicy(
            name: "hub", localAddress: local, remoteAddress: remote, localID: localID,
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

    /// The spoke `i`'s identity, as a hub's spokes name themselves (17 octets and more:
    /// past what a Swift string holds inline).
    static func spokeID(_ i: Int) -> Identity { .fqdn(IdentityName("spoke\(i).example")) }

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
                case let .report(.phase1Failed(_, reason)), let .report(.phase2Failed(_, reason)):
                    Process.printError("ike-bench memory: failed at an initiator: \(reason)")
                default:
                    break
                }
            }
            for out in b.takeOutput() {
                switch out {
                case let .send(bytes, src, dst):
                    receiveA(bytes, src, dst)
                    progress = true
                case let .report(.phase1Failed(_, reason)), let .report(.phase2Failed(_, reason)):
                    Process.printError("ike-bench memory: failed at the responder: \(reason)")
                case .report(.negotiated):
                    established += 1
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
        let chunksBefore = liveChunks()
        do {
            var initiators: [any SansIOEngine] = []
            for i in 0..<count {
                let (address, net) = spoke(i)
                let initiator: any SansIOEngine = version == 2 ? IKEv2Engine { _ in address } : IKEv1Engine { _ in address }
                initiator.logs = { _ in false }
                initiator.initiate(tunnel: 1, policy: policy(version: version, remote: hub, local: address, localID: spokeID(i), localNet: net, remoteNet: "10.0.0.0/16"),
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
        printChunks("IKEv\(version) engine", since: chunksBefore, count: count)
        guard established == count, responder.saCount == count else {
            Process.printError("ike-bench memory: IKEv\(version): \(established) of \(count) tunnels established, \(responder.saCount) SAs held")
            Process.exit(1)
        }
        return grown / count
    }

    /// A kernel that takes every SA and policy and keeps nothing in this process, as XFRM
    /// keeps them in the kernel's memory, not the daemon's.
    final class OutOfProcessKernel: IPsecKernel {
        let name = "benchmark"
        var installed = 0
        func addSA(_ sa: SecurityAssociation) throws(KernelError) { installed += 1 }
        func deleteSA(_ id: SAIdentifier) throws(KernelError) {}
        func addPolicy(_ policy: Policy) throws(KernelError) {}
        func deletePolicy(_ id: PolicyIdentifier) throws(KernelError) {}
        func counters(_ id: SAIdentifier) -> SACounters? { nil }
    }

    /// The same through the daemon's keying stack: the responder engine behind its
    /// Tunnel Manager (a `remote_address 'any'` template), so the tunnel table counts too.
    /// `livenessChecked`: then each spoke checks the hub's liveness once (RFC 7296 §2.4, 31 s
    /// later) before the figure is taken: what a hub holds between its spokes' checks.
    static func perTunnelWithManager(version: Int, count: Int, livenessChecked: Bool = false) -> Int {
        var clock = Instant(nanoseconds: 1_000_000_000)
        let text = """
        config tunnel 'hub'
        \toption version '\(version)'
        \toption remote_address 'any'
        \toption local_address '198.51.100.1'
        \toption psk 'benchmark'
        \toption local_subnet '10.0.0.0/16'
        \toption remote_subnet '172.16.0.0/12'
        \toption ike_proposal '\(version == 2 ? "aes256gcm16-prfsha256-x25519" : "aes256-sha256-x25519")'
        \toption esp_proposal 'aes256gcm16-x25519'

        """
        guard case let .success(configuration) = Configuration.load(text, file: "bench.conf") else {
            Process.printError("ike-bench memory: the hub configuration does not load")
            Process.exit(1)
        }
        let v1 = EngineKeying(engine: IKEv1Engine { _ in hub }, version: .v1, now: { clock })
        let v2 = EngineKeying(engine: IKEv2Engine { _ in hub }, version: .v2, now: { clock })
        let kernel = OutOfProcessKernel()
        let manager = TunnelManager(configuration: configuration, ikev1: v1, ikev2: v2, kernel: kernel,
                                    log: Logger(level: .error, sinks: []), clock: { clock })
        for e in [v1.engine as any SansIOEngine, v2.engine] {
            e.limits.cookieThreshold = Int.max
            e.logs = { _ in false }
        }
        v1.configure(configuration)
        v2.configure(configuration)
        let responder: any SansIOEngine = version == 2 ? v2.engine : v1.engine
        let before = ike_alloc_live_bytes()
        let chunksBefore = liveChunks()
        // The responder side's time (its engine and the Tunnel Manager, not the
        // initiators'), per tunnel, in ten windows as the SAs accumulate.
        let mono = MonotonicClock()
        var responderNs: UInt64 = 0
        var windowStart: UInt64 = 0
        var windows: [String] = []
        do {
            /// Delivers what the initiator and the responder send each other until both are quiet.
            func converse(_ initiator: any SansIOEngine) {
                var progress = true
                while progress {
                    progress = false
                    for case let .send(bytes, src, dst) in initiator.takeOutput() {
                        progress = true
                        let t0 = mono.now
                        if let r = responder as? IKEv2Engine { if bytes.withUnsafeBytes({ r.precheck($0) }) { r.receive(bytes, from: src, to: dst, now: clock) } }
                        if let r = responder as? IKEv1Engine { if bytes.withUnsafeBytes({ r.precheck($0) }) { r.receive(bytes, from: src, to: dst, now: clock) } }
                        responderNs += (mono.now - t0).nanoseconds
                    }
                    var initiatorNs: UInt64 = 0
                    let deliver: ([UInt8], Endpoint, Endpoint) -> Void = { bytes, src, dst in
                        progress = true
                        let t0 = mono.now
                        if let i = initiator as? IKEv2Engine { i.receive(bytes, from: src, to: dst, now: clock) }
                        if let i = initiator as? IKEv1Engine { i.receive(bytes, from: src, to: dst, now: clock) }
                        initiatorNs += (mono.now - t0).nanoseconds
                    }
                    let t0 = mono.now
                    if version == 2 {
                        v2.drain(into: manager, send: deliver, keepalive: { _, _ in }, log: { _, _ in })
                    } else {
                        v1.drain(into: manager, send: deliver, keepalive: { _, _ in }, log: { _, _ in })
                    }
                    responderNs += (mono.now - t0).nanoseconds - initiatorNs
                }
            }
            var initiators: [any SansIOEngine] = []
            for i in 0..<count {
                let (address, net) = spoke(i)
                let initiator: any SansIOEngine = version == 2 ? IKEv2Engine { _ in address } : IKEv1Engine { _ in address }
                initiator.logs = { _ in false }
                initiator.initiate(tunnel: 1, policy: policy(version: version, remote: hub, local: address, localID: spokeID(i), localNet: net, remoteNet: "10.0.0.0/16"),
                                   remote: hub, now: clock)
                converse(initiator)
                initiators.append(initiator)
                clock = clock + .milliseconds(1)
                if (i + 1) % max(count / 10, 1) == 0 {
                    windows.append("\((responderNs - windowStart) / UInt64(max(count / 10, 1)) / 1000)@\(i + 1)")
                    windowStart = responderNs
                }
            }
            if livenessChecked {
                clock = clock + .seconds(31)
                for initiator in initiators {
                    initiator.tick(now: clock)
                    converse(initiator)
                }
            }
            initiators.removeAll()
        }
        let grown = Int(ike_alloc_live_bytes() - before)
        printChunks("IKEv\(version) with the Tunnel Manager\(livenessChecked ? ", liveness checked" : "")", since: chunksBefore, count: count)
        let up = manager.tunnels.filter { $0.isEstablished }.count
        guard up == count else {
            Process.printError("ike-bench memory: IKEv\(version) with the Tunnel Manager: \(up) of \(count) tunnels up")
            Process.exit(1)
        }
        guard !livenessChecked else { return grown / count }
        Process.printOut("IKEv\(version) responder with the Tunnel Manager: us per tunnel by window (us@SAs held): \(windows.joined(separator: " "))")
        return grown / count
    }

    /// Live heap chunks by 16-byte size class (the allocation counter's).
    static func liveChunks() -> [Int64] {
        (0..<Int(ike_alloc_size_classes())).map { ike_alloc_live_chunks(Int32($0)) }
    }

    /// Which allocations a tunnel holds: the size classes that grew by at least a tenth of a
    /// chunk per tunnel, the largest share first, as chunks per tunnel and what each costs
    /// the heap (glibc's usable sizes are 16c + 8 in class c, plus its size word). The last
    /// class holds every larger chunk; its cost shown is a floor.
    static func printChunks(_ what: String, since before: [Int64], count: Int) {
        let after = liveChunks()
        var shares: [(tenths: Int, cost: Int)] = []
        for c in 0..<after.count {
            let grown = Int(after[c] - before[c])
            guard grown * 10 >= count else { continue }
            shares.append((grown * 10 / count, c * 16 + 16))
        }
        shares.sort { $0.tenths * $0.cost > $1.tenths * $1.cost }
        let text = shares.map { "\($0.tenths / 10).\($0.tenths % 10)x\($0.cost)" }
        Process.printOut("\(what): heap chunks per tunnel (count x bytes): \(text.joined(separator: " "))")
    }

    static func run(count: Int) {
        for version in [2, 1] {
            let engine = perTunnel(version: version, count: count)
            let whole = perTunnelWithManager(version: version, count: count)
            // IKEv1's liveness checks (RFC 3706) are a different exchange; only IKEv2's here.
            let checked = version == 2 ? perTunnelWithManager(version: version, count: count, livenessChecked: true) : nil
            Process.printOut("IKEv\(version) responder: \(count) tunnels established, heap per tunnel held: engine \(engine) B,"
                + " with the Tunnel Manager \(whole) B" + (checked.map { ", after each spoke's first liveness check \($0) B" } ?? ""))
        }
    }
}
