import IKECore
import IKECrypto
import IKEWire
import Kernel
import TunnelManager
import UCI

/// An engine that records requests and answers what the test tells it to.
final class FakeEngine: KeyingEngine {
    var requests: [String] = []
    /// Returned by the next request, then cleared.
    var immediate: [EngineReport] = []

    private func take() -> [EngineReport] {
        defer { immediate = [] }
        return immediate
    }

    func requestPhase1(_ request: PhaseRequest) -> [EngineReport] {
        requests.append("phase1 \(request.tunnel) \(request.config.name) \(request.remote)")
        return take()
    }

    func requestPhase2(_ request: PhaseRequest) -> [EngineReport] {
        requests.append("phase2 \(request.tunnel)")
        return take()
    }

    func configure(_ configuration: Configuration) {}

    func share(_ numbers: TunnelNumbers) {}

    func rekey(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport] {
        requests.append("rekey \(tunnel) phase \(phase)")
        return take()
    }

    func delete(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport] {
        requests.append("delete \(tunnel) phase \(phase)")
        return take()
    }

    func migrate(_ tunnel: TunnelNumber, local: IPAddress, remote: IPAddress) -> [EngineReport] {
        requests.append("migrate \(tunnel) \(local) \(remote)")
        return take()
    }

    /// What the engine holds for each tunnel, as the test sets it.
    var held: [TunnelNumber: (phase1: Phase1SA, child: ChildSA?)] = [:]

    func sas(of tunnel: TunnelNumber) -> (phase1: Phase1SA, child: ChildSA?)? { held[tunnel] }
}

final class MemorySink: LogSink {
    var lines: [String] = []
    func write(_ level: LogLevel, _ line: String) { lines.append("\(level) \(line)") }
}

let local = IPAddress("192.0.2.1")!
let remote = IPAddress("198.51.100.7")!

func phase1(_ peer: IPAddress = remote) -> Phase1SA {
    Phase1SA(localAddress: local, remoteAddress: peer, localID: .address(local), remoteID: .address(peer),
             initiatorSPI: 0x1111, responderSPI: 0x2222, algorithms: ChosenAlgorithms(cipher: Cipher(.aesGCM16, keyBits: 256), integrity: nil, prf: .hmacSHA2_256, group: .curve25519),
             natTraversal: false, lifetimeSeconds: 28800)
}

func child(in spiIn: UInt32 = 0xc000_0001, out spiOut: UInt32 = 0xc000_0002, remoteNet: String = "10.2.0.0/24") -> ChildSA {
    ChildSA(inboundSPI: spiIn, outboundSPI: spiOut,
            algorithms: ChosenAlgorithms(cipher: Cipher(.aesGCM16, keyBits: 256), integrity: nil, prf: nil, group: nil),
            inbound: DirectionKeys(encryption: SecretBytes([UInt8](repeating: 1, count: 36)), integrity: nil),
            outbound: DirectionKeys(encryption: SecretBytes([UInt8](repeating: 2, count: 36)), integrity: nil),
            localSelectors: [TrafficSelector(Subnet.parse("10.1.0.0/24").get())], remoteSelectors: [TrafficSelector(Subnet.parse(remoteNet).get())],
            transportMode: false, lifetimeSeconds: 3600)
}

extension TunnelManager {
    /// A peer's tunnel, as an engine reports it: numbered from the shared sequence, and
    /// nil when the manager refuses it.
    func negotiatedByEngine(tunnelName: String, _ p1: Phase1SA, _ c: ChildSA) -> TunnelNumber? {
        let number = numbers.take()
        return handle(.negotiated(number, tunnelName: tunnelName, p1, c)) ? number : nil
    }
}

extension Result {
    func get() -> Success {
        switch self {
        case let .success(s): return s
        case let .failure(e): preconditionFailure("unexpected failure: \(e)")
        }
    }
}

let twoTunnels = """
    config tunnel 'site_b'
    \toption remote_address '198.51.100.7'
    \toption local_address '192.0.2.1'
    \toption psk 'k'
    \tlist local_subnet '10.1.0.0/24'
    \tlist remote_subnet '10.2.0.0/24'
    \toption start 'auto'

    config tunnel 'site_c'
    \toption remote_address '203.0.113.9'
    \toption psk 'k'
    \toption version '1'

    config tunnel 'dialin'
    \toption remote_address 'any'
    \toption psk 'k'

    config tunnel 'off'
    \toption remote_address '203.0.113.10'
    \toption psk 'k'
    \toption enabled '0'
    """

/// A manager over fakes, with its log.
struct Fixture {
    let v1 = FakeEngine()
    let v2 = FakeEngine()
    let kernel = MemoryKernel()
    let sink = MemorySink()
    let manager: TunnelManager

    init(_ text: String = twoTunnels) {
        let configuration = Configuration.load(text, file: "ike.conf").get()
        manager = TunnelManager(configuration: configuration, ikev1: v1, ikev2: v2, kernel: kernel,
                                log: Logger(level: .debug, sinks: [sink]))
    }

    func named(_ names: String...) -> Selection {
        var s = Selection()
        s.names = names
        return s
    }

    func numbered(_ numbers: TunnelNumber...) -> Selection {
        var s = Selection()
        s.numbers = numbers
        return s
    }

    /// The event and error lines, without the debug ones.
    var events: [String] { sink.lines.filter { !$0.hasPrefix("debug") } }

    func status(_ n: TunnelNumber) -> String {
        guard let t = manager.tunnel(n) else { return "gone" }
        return "\(t.phase1Status.rawValue)/\(t.phase2Status?.rawValue ?? "-")"
    }
}
