import Broker
@_spi(Fuzzing) import CertificateProxy
import Control
import IKECore
import IKECrypto
import IKEWire
import IKEv1
@_spi(Fuzzing) import IKEv2
import Netlink
import Platform
import UCI

/// One fuzz target per untrusted input of the daemon (scripts/fuzz, the robustness issue).
/// Each takes the fuzzer's bytes, must never crash, hang or leak, and checks the
/// invariants that hold for any input. `swift test` replays the inputs kept under
/// Tests/FuzzRegressions and the seeds through the same functions.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A datagram on UDP 500 or 4500 (first byte, bit 0) through the broker into both engines.
    case broker
    /// IKEv2 message parsing, every payload, and re-encoding what parsed.
    case ikev2Message = "ikev2-message"
    /// ISAKMP (IKEv1) message parsing, every payload, and re-encoding what parsed.
    case ikev1Message = "ikev1-message"
    /// An IKEv2 responder fed a sequence of datagrams with a manual clock.
    case ikev2Responder = "ikev2-responder"
    /// An IKEv1 responder fed a sequence of datagrams with a manual clock.
    case ikev1Responder = "ikev1-responder"
    /// IKE_AUTH, CREATE_CHILD_SA and INFORMATIONAL inside valid SK payloads: a real
    /// IKE_SA_INIT (and IKE_AUTH) first, then the fuzzer's payload chains sealed with the
    /// SA's keys, both directions' answers delivered.
    case ikev2Protected = "ikev2-protected"
    /// The UCI parser and loader; what loads must print and load again to the same.
    case uci
    /// Control-socket frames, requests and responses.
    case control
    /// XFRM netlink notifications (acquire, expire, migrate).
    case xfrm
    /// DNS answers, /etc/hosts and /etc/resolv.conf for the stub resolver.
    case dns
    /// What cpsd receives: proxy requests (first byte 0), peer certificate chains to
    /// verify against a loaded credential (1: 2-octet length records of DER), and
    /// certificate and CRL files in PEM or DER (2).
    case certificate

    public func run(_ data: [UInt8]) {
        switch self {
        case .broker: Fuzz.broker(data)
        case .ikev2Message: Fuzz.ikev2Message(data)
        case .ikev1Message: Fuzz.ikev1Message(data)
        case .ikev2Responder: Fuzz.ikev2Responder(data)
        case .ikev1Responder: Fuzz.ikev1Responder(data)
        case .ikev2Protected: Fuzz.ikev2Protected(data)
        case .uci: Fuzz.uci(data)
        case .control: Fuzz.control(data)
        case .xfrm: _ = XFRMEvents.parse(data)
        case .dns: Fuzz.dns(data)
        case .certificate: Fuzz.certificate(data)
        }
    }
}

/// Discards log lines, after they were built (so their formatting runs too).
final class NullSink: LogSink {
    func write(_ level: LogLevel, _ line: String) {}
}

enum Fuzz {
    static let us = IPAddress("198.51.100.7")!
    static let peer = IPAddress("192.0.2.1")!
    static let start = Instant(nanoseconds: 1_000_000_000)

    static func policy(_ name: String, local: IPAddress, remote: IPAddress?, aggressive: Bool = false,
                       localNet: String, remoteNet: String) -> EnginePolicy {
        var p = EnginePolicy(
            name: name, localAddress: local, remoteAddress: remote, localID: nil,
            remoteID: remote.map { .address($0) } ?? .any, psk: SecretBytes(Array("fuzzing".utf8)),
            ikeProposals: [AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256), Cipher(.aesCBC, keyBits: 128)],
                                        integrity: [.hmacSHA2_256_128, .hmacSHA1_96], prfs: [.hmacSHA2_256, .hmacSHA1],
                                        groups: [.curve25519, .modp2048])],
            espProposals: [AlgorithmSet(ciphers: [Cipher(.aesGCM16, keyBits: 256), Cipher(.aesCBC, keyBits: 128)],
                                        integrity: [.hmacSHA2_256_128], prfs: [], groups: [])],
            localSelectors: [TrafficSelector(try! Subnet.parse(localNet).get())],
            remoteSelectors: [TrafficSelector(try! Subnet.parse(remoteNet).get())],
            transportMode: false, ikeLifetimeSeconds: 3600, childLifetimeSeconds: 1200)
        p.aggressive = aggressive
        p.dpdDelaySeconds = 5
        return p
    }

    /// Our side: a tunnel for `peer` and a template for anyone.
    static func responderPolicies(aggressive: Bool = false) -> [EnginePolicy] {
        [policy("site", local: us, remote: peer, aggressive: aggressive, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24"),
         policy("anyone", local: us, remote: nil, aggressive: aggressive, localNet: "10.2.0.0/24", remoteNet: "0.0.0.0/0")]
    }

    /// The peer's side of the `site` tunnel.
    static var initiatorPolicy: EnginePolicy {
        policy("branch", local: peer, remote: us, localNet: "10.1.0.0/24", remoteNet: "10.2.0.0/24")
    }

    /// Splits input into records of a two-byte length and that many bytes (the last one
    /// takes what is left).
    static func records(_ data: [UInt8], max: Int = 16) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i < data.count && out.count < max {
            guard i + 2 <= data.count else { break }
            let n = Int(data[i]) << 8 | Int(data[i + 1])
            i += 2
            let end = Swift.min(data.count, i + n)
            out.append(Array(data[i..<end]))
            i = end
        }
        return out
    }

    static func broker(_ data: [UInt8]) {
        guard let flags = data.first else { return }
        let pool = PacketBufferPool(count: 2, bufferSize: 8192)
        let log = Logger(level: .debug, sinks: [NullSink()])
        let broker = Broker(log: log, pool: pool)
        let v1 = IKEv1Engine { _ in us }, v2 = IKEv2Engine { _ in us }
        v1.policies = responderPolicies()
        v2.policies = responderPolicies()
        broker.ikev1 = { m, s, d in if v1.precheck(m.bytes) { v1.receive(Array(m.bytes), from: s, to: d, now: start) } }
        broker.ikev2 = { m, s, d in if v2.precheck(m.bytes) { v2.receive(Array(m.bytes), from: s, to: d, now: start) } }
        broker.unsupportedVersion = { h, s, d in v2.answerUnsupportedVersion(h, from: s, to: d, now: start) }
        guard let buffer = pool.acquire() else { return }
        let n = Swift.min(data.count - 1, buffer.storage.count)
        data.withUnsafeBytes { buffer.storage.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[1..<(1 + n)])) }
        buffer.count = n
        let natt = flags & 1 == 1
        let datagram = Datagram(payload: buffer.view, source: Endpoint(peer, natt ? 4500 : 500),
                                destination: Endpoint(us, natt ? 4500 : 500), interface: 1)
        broker.handle(datagram, natt: natt)
        _ = v1.takeOutput()
        _ = v2.takeOutput()
    }

    static func ikev2Message(_ data: [UInt8]) {
        let parsed: IKEv2Message? = data.withUnsafeBytes { raw in try? IKEv2Message.parse(raw) }
        guard let message = parsed, let encoded = try? message.encode() else { return }
        // What we encode from a parsed message parses again.
        let again: IKEv2Message? = encoded.withUnsafeBytes { raw in try? IKEv2Message.parse(raw) }
        precondition(again != nil, "a re-encoded IKEv2 message does not parse")
    }

    static func ikev1Message(_ data: [UInt8]) {
        let parsed: ISAKMPMessage? = data.withUnsafeBytes { raw in try? ISAKMPMessage.parse(raw) }
        guard let message = parsed, !message.isEncrypted, let encoded = try? message.encode() else { return }
        let again: ISAKMPMessage? = encoded.withUnsafeBytes { raw in try? ISAKMPMessage.parse(raw) }
        precondition(again != nil, "a re-encoded ISAKMP message does not parse")
    }

    static func ikev2Responder(_ data: [UInt8]) {
        let b = IKEv2Engine { _ in us }
        b.policies = responderPolicies()
        feed(data, to: b) { bytes, from, to, now in
            if bytes.withUnsafeBytes({ b.precheck($0) }) { b.receive(bytes, from: from, to: to, now: now) }
        }
    }

    /// The first byte's top bit makes the tunnels Aggressive Mode ones.
    static func ikev1Responder(_ data: [UInt8]) {
        let b = IKEv1Engine { _ in us }
        b.policies = responderPolicies(aggressive: data.first.map { $0 & 0x80 != 0 } ?? false)
        feed(data, to: b) { bytes, from, to, now in
            if bytes.withUnsafeBytes({ b.precheck($0) }) { b.receive(bytes, from: from, to: to, now: now) }
        }
    }

    /// A responder fed `data` as records of one flag byte (bit 0: from port 4500, bit 1:
    /// from another address than the configured peer's, bits 2-6: seconds to let pass
    /// first) and a datagram; the engine ticks before each and long after the last.
    static func feed(_ data: [UInt8], to engine: any SansIOEngine, receive: ([UInt8], Endpoint, Endpoint, Instant) -> Void) {
        var now = start
        for record in records(data) {
            guard let flags = record.first else { continue }
            now = now + .seconds(UInt64((flags & 0x7f) >> 2))
            engine.tick(now: now)
            let from = Endpoint(flags & 2 == 0 ? peer : IPAddress("203.0.113.9")!, flags & 1 == 0 ? 500 : 4500)
            receive(Array(record.dropFirst()), from, Endpoint(us, from.port), now)
            _ = engine.takeOutput()
        }
        engine.tick(now: now + .seconds(120))
        _ = engine.takeOutput()
    }

    /// Delivers what each engine sends to the other until both are quiet.
    static func deliver(_ a: IKEv2Engine, _ b: IKEv2Engine, now: Instant) {
        var progress = true
        var rounds = 0
        while progress && rounds < 64 {
            progress = false
            rounds += 1
            for case let .send(bytes, src, dst) in a.takeOutput() {
                if bytes.withUnsafeBytes({ b.precheck($0) }) { b.receive(bytes, from: src, to: dst, now: now) }
                progress = true
            }
            for out in b.takeOutput() {
                switch out {
                case let .send(bytes, src, dst):
                    if bytes.withUnsafeBytes({ a.precheck($0) }) { a.receive(bytes, from: src, to: dst, now: now) }
                    progress = true
                default:
                    break
                }
            }
        }
    }

    /// Input: a mode byte (bit 0: after IKE_AUTH, else right after IKE_SA_INIT), then
    /// records of: exchange type, flags (bit 0: a response, bit 1: the message ID from the
    /// next four bytes instead of the next one, bits 2-7: seconds to let pass), first
    /// payload type, then the payload chain (and the message ID, if flagged).
    static func ikev2Protected(_ data: [UInt8]) {
        guard let mode = data.first else { return }
        let a = IKEv2Engine { _ in peer }, b = IKEv2Engine { _ in us }
        b.policies = responderPolicies()
        var now = start
        a.initiate(tunnel: 1, policy: initiatorPolicy, remote: us, now: now)
        if mode & 1 == 0 {
            // IKE_SA_INIT only: deliver the request and its answer, keep a's IKE_AUTH.
            for case let .send(bytes, src, dst) in a.takeOutput() { b.receive(bytes, from: src, to: dst, now: now) }
            for case let .send(bytes, src, dst) in b.takeOutput() { a.receive(bytes, from: src, to: dst, now: now) }
            _ = a.takeOutput()
        } else {
            deliver(a, b, now: now)
        }
        for record in records(Array(data.dropFirst())) {
            guard record.count >= 3 else { continue }
            let flags = record[1]
            var chain = Array(record.dropFirst(3))
            var id: UInt32? = nil
            if flags & 2 != 0, chain.count >= 4 {
                id = UInt32(chain[0]) << 24 | UInt32(chain[1]) << 16 | UInt32(chain[2]) << 8 | UInt32(chain[3])
                chain.removeFirst(4)
            }
            now = now + .seconds(UInt64(flags >> 2))
            a.tick(now: now)
            b.tick(now: now)
            if let sealed = a.seal(tunnel: 1, exchange: ExchangeType(rawValue: record[0]), messageID: id, response: flags & 1 != 0,
                                   first: PayloadType(rawValue: record[2]), chain: chain) {
                let from = Endpoint(peer, 500), to = Endpoint(us, 500)
                if sealed.withUnsafeBytes({ b.precheck($0) }) { b.receive(sealed, from: from, to: to, now: now) }
            }
            deliver(a, b, now: now)
        }
        now = now + .seconds(7200)
        a.tick(now: now)
        b.tick(now: now)
        deliver(a, b, now: now)
    }

    static func uci(_ data: [UInt8]) {
        guard case let .success(configuration) = Configuration.load(String(decoding: data, as: UTF8.self), file: "fuzz.conf") else { return }
        // The canonical text of what loaded loads again, to the same configuration.
        let printed = configuration.print()
        guard case let .success(again) = Configuration.load(printed, file: "printed.conf") else {
            preconditionFailure("the printed configuration does not load:\n\(printed)")
        }
        precondition(again == configuration, "the printed configuration loads differently:\n\(printed)")
    }

    static func control(_ data: [UInt8]) {
        if case let .frame(_, body, _) = ControlFrame.decode(data, limit: ControlFrame.maxRequest) {
            _ = ControlRequest.decode(body: body)
            _ = ControlResponse(body: body)
        }
        _ = ControlRequest.decode(body: data)
    }

    static func dns(_ data: [UInt8]) {
        guard data.count >= 2 else { return }
        let id = UInt16(data[0]) << 8 | UInt16(data[1])
        _ = DNSMessage.parse(data, id: id, type: DNSMessage.typeA)
        _ = DNSMessage.parse(data, id: id, type: DNSMessage.typeAAAA)
        let text = String(decoding: data, as: UTF8.self)
        _ = ResolverFiles.hosts(text, name: "peer.example")
        _ = ResolverFiles.nameservers(text)
    }
}

// MARK: Seeds

extension FuzzTarget {
    /// Starting inputs: what our engines send in real exchanges (as the interop captures
    /// hold), in each target's input format.
    public var seeds: [[UInt8]] {
        switch self {
        case .broker: return Seeds.ikev2Exchange.map { [0] + $0 } + Seeds.ikev1Exchange.map { [0] + $0 } + Seeds.ikev2Exchange.prefix(1).map { [1, 0, 0, 0, 0] + $0 }
        case .ikev2Message: return Seeds.ikev2Exchange
        case .ikev1Message: return Seeds.ikev1Exchange
        case .ikev2Responder: return Seeds.ikev2Exchange.prefix(1).map { Seeds.record([0] + $0) + Seeds.record([4] + $0) }
        case .ikev1Responder: return Seeds.ikev1Exchange.prefix(3).map { Seeds.record([0] + $0) }
        case .ikev2Protected: return Seeds.protectedRecords
        case .uci: return [Array(Seeds.configuration.utf8)]
        case .control:
            return ["cmd=status", "cmd=list\nverbose", "cmd=activate\nnamelist=site\nwait=5", "cmd=remove\nnamelist=all", "cmd=reload",
                    "cmd=log\nlevel=debug"].map { ControlFrame.encode(.request, Array($0.utf8)) }
        case .xfrm: return []
        case .dns: return [DNSMessage.query(id: 0x1234, name: "peer.example", type: DNSMessage.typeA), Array("nameserver 192.0.2.53\n127.0.0.1 localhost\n".utf8)]
        case .certificate: return Seeds.certificateInputs
        }
    }
}

enum Seeds {
    /// A verify request for the fuzz credential, a chain of its leaf and root, and the PEM files.
    static var certificateInputs: [[UInt8]] {
        let leaf = Certificate.parse(Array(FuzzPKI.leaf.utf8)).first?.der ?? []
        let root = Certificate.parse(Array(FuzzPKI.root.utf8)).first?.der ?? []
        let verify = ProxyCodec.encode(ProxyRequest.verify(credential: 0, certificates: [leaf, root], identity: .fqdn("fuzz.test"),
                                                           octets: [1, 2, 3], method: 14, data: [0x0A] + Array(repeating: 0x30, count: 10) + [1, 2]))
        return [[0] + verify, [1] + record(leaf) + record(root), [2] + Array(FuzzPKI.leaf.utf8), [2] + leaf]
    }
    static func record(_ bytes: [UInt8]) -> [UInt8] { [UInt8(bytes.count >> 8), UInt8(truncatingIfNeeded: bytes.count)] + bytes }

    /// Every datagram of an IKEv2 IKE_SA_INIT, IKE_AUTH, CHILD_SA rekey and delete.
    static var ikev2Exchange: [[UInt8]] {
        let a = IKEv2Engine { _ in Fuzz.peer }, b = IKEv2Engine { _ in Fuzz.us }
        b.policies = Fuzz.responderPolicies()
        var seen: [[UInt8]] = []
        a.initiate(tunnel: 1, policy: Fuzz.initiatorPolicy, remote: Fuzz.us, now: Fuzz.start)
        func run() {
            var progress = true
            while progress {
                progress = false
                for (from, to) in [(a, b), (b, a)] {
                    for case let .send(bytes, src, dst) in from.takeOutput() {
                        seen.append(bytes)
                        to.receive(bytes, from: src, to: dst, now: Fuzz.start)
                        progress = true
                    }
                }
            }
        }
        run()
        a.rekey(tunnel: 1, phase: 2, now: Fuzz.start)
        run()
        a.delete(tunnel: 1, phase: 1, now: Fuzz.start)
        run()
        return seen
    }

    /// Every datagram of IKEv1 Main Mode and Quick Mode.
    static var ikev1Exchange: [[UInt8]] {
        let a = IKEv1Engine { _ in Fuzz.peer }, b = IKEv1Engine { _ in Fuzz.us }
        b.policies = Fuzz.responderPolicies()
        var seen: [[UInt8]] = []
        a.initiate(tunnel: 1, policy: Fuzz.initiatorPolicy, remote: Fuzz.us, now: Fuzz.start)
        var progress = true
        while progress {
            progress = false
            for (from, to) in [(a as SansIOEngine, b as SansIOEngine), (b, a)] {
                for case let .send(bytes, src, dst) in from.takeOutput() {
                    seen.append(bytes)
                    if let to = to as? IKEv1Engine { to.receive(bytes, from: src, to: dst, now: Fuzz.start) }
                    progress = true
                }
            }
        }
        return seen
    }

    /// Protected exchanges after IKE_AUTH: an empty INFORMATIONAL (a liveness check), a
    /// delete of the CHILD_SA, a notify, and a delete of the IKE SA.
    static var protectedRecords: [[UInt8]] {
        func chain(_ payloads: [IKEv2Payload]) -> [UInt8] { (try? IKEv2Message.encodeChain(payloads)) ?? [] }
        let informational = ExchangeType.informational.rawValue
        let deleteChild = chain([.delete(protocolID: SecurityProtocol.esp, spis: [[0, 0, 1, 0]])])
        let deleteIKE = chain([.delete(protocolID: SecurityProtocol.ike, spis: [])])
        let notify = chain([.notify(NotifyPayload(.initialContact))])
        return [
            [1] + record([informational, 0, 0]),
            [1] + record([informational, 0, PayloadType.delete.rawValue] + deleteChild) + record([informational, 4, 0]),
            [1] + record([informational, 0, PayloadType.notify.rawValue] + notify),
            [1] + record([informational, 0, PayloadType.delete.rawValue] + deleteIKE),
            [0] + record([ExchangeType.ikeAuth.rawValue, 0, PayloadType.notify.rawValue] + notify),
        ]
    }

    static let configuration = """
        package ike

        config ike 'global'
        \toption log_level 'information'
        \tlist listen '192.0.2.1'
        \toption half_open_max '512'

        config tunnel 'branch1'
        \toption version '2'
        \toption remote_address '198.51.100.7'
        \toption local_id '@hub.example'
        \toption remote_id 'C=DE, O=Example, CN=branch1'
        \toption psk 'secret'
        \tlist local_subnet '10.1.0.0/24'
        \tlist remote_subnet '10.2.0.0/24'
        \toption ike_proposal 'aes256gcm16-prfsha256-x25519'
        \toption start 'auto'

        config tunnel
        \toption version '1'
        \toption exchange 'aggressive'
        \toption remote_address 'any'
        \toption psk 'other'

        """
}

// MARK: Certificates

/// A root and a leaf with its key, made once with the openssl command for this target
/// only (valid to 2125); nothing else uses them.
enum FuzzPKI {
    static let root = """
-----BEGIN CERTIFICATE-----
MIIBbzCCARSgAwIBAgIUSK6AQ5iSBI+uhVGngVwm81e7/6UwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJZnV6eiByb290MCAXDTI2MTIwNTE3MTIyNFoYDzIxMjYxMTEx
MTcxMjI0WjAUMRIwEAYDVQQDDAlmdXp6IHJvb3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQEIxQQ0uSiEZYid/KacLp+nehqVKMzqY80YIpxD0jeL0Pt3dBFTFgE
3Nkgka6S/93/+UwFJUuXYlug+saCAClko0IwQDAPBgNVHRMBAf8EBTADAQH/MA4G
A1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUKT6wGdYxFdr8Sd2pdlfrcg9nCFcwCgYI
KoZIzj0EAwIDSQAwRgIhAI+avYtExwMHA67jrSja9s8pl/fI8KQx7BjbIqPHUxn2
AiEAirNqO8Ovmna6nyVMx6r54gE+6ADQcSPWoVZBwwWG5Nc=
-----END CERTIFICATE-----
"""
    static let leaf = """
-----BEGIN CERTIFICATE-----
MIIBhTCCASqgAwIBAgIUQ8yXC/bZxFN8TMFfxaSKsEozg4cwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJZnV6eiByb290MCAXDTI2MTIwNTE3MTIyNFoYDzIxMjYxMTEx
MTcxMjI0WjAUMRIwEAYDVQQDDAlmdXp6LnRlc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAScNtSECTPvvGHE/pclpiz0qrDwXBBqpFh3bG0oOzsUeFPU5A3zLayZ
v5TW47m2+xnhP8mhFlkrftwByeFJuHVNo1gwVjAUBgNVHREEDTALgglmdXp6LnRl
c3QwHQYDVR0OBBYEFIOC/mq/93ya2r1P/E+/Csf6SJrUMB8GA1UdIwQYMBaAFCk+
sBnWMRXa/EndqXZX63IPZwhXMAoGCCqGSM49BAMCA0kAMEYCIQD3EyuB7QNWGaMY
XlNF+R1686q4lvET9uUqzizxttuTZAIhAPfLqpebfl2j0U3GgqOg+f5I78/A9pTA
iOr2Pbea6JwN
-----END CERTIFICATE-----
"""
    static let key = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbUgVbEzGoqnlREYj
KZpCerb1gFbm+yx3UXFqnIuPFl2hRANCAAScNtSECTPvvGHE/pclpiz0qrDwXBBq
pFh3bG0oOzsUeFPU5A3zLayZv5TW47m2+xnhP8mhFlkrftwByeFJuHVN
-----END PRIVATE KEY-----
"""

    nonisolated(unsafe) static let store: CredentialStore = {
        let files: [String: String] = ["/fuzz/leaf.pem": leaf, "/fuzz/leaf.key": key, "/fuzz/root.pem": root]
        let store = CredentialStore(files: FileAccess(
            read: { path in files[path].map { .success(Array($0.utf8)) } ?? .failure(CredentialFileError("No such file or directory")) },
            mode: { _ in 0o600 }, list: { _ in nil }))
        _ = store.load([CredentialSpec(tunnel: "fuzz", certificate: "/fuzz/leaf.pem", privateKey: "/fuzz/leaf.key",
                                       caCertificates: ["/fuzz/root.pem"], crls: [])])
        return store
    }()
}

extension Fuzz {
    static func certificate(_ data: [UInt8]) {
        guard let mode = data.first else { return }
        let rest = Array(data.dropFirst())
        switch mode {
        case 0:
            if let answer = ProxyServer.answer(rest, store: FuzzPKI.store) { _ = ProxyCodec.decodeAnswer(answer) }
        case 1:
            var chain: [[UInt8]] = []
            var at = 0
            while at + 2 <= rest.count {
                let n = Int(rest[at]) << 8 | Int(rest[at + 1])
                guard at + 2 + n <= rest.count else { break }
                chain.append(Array(rest[(at + 2)..<(at + 2 + n)]))
                at += 2 + n
            }
            _ = FuzzPKI.store.verify(credential: 0, certificates: chain, identity: .fqdn("fuzz.test"), octets: [1], method: 9,
                                     data: [UInt8](repeating: 1, count: 64))
        default:
            for c in Certificate.parse(rest) {
                _ = (c.subject, c.issuer, c.alternativeNames, c.serial, c.notBefore, c.notAfter, c.keyType, c.publicKeyHash)
            }
            _ = CertificateRevocationLists.count(rest)
        }
    }
}
