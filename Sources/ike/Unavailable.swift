import IKEWire
import Kernel
import TunnelManager
import UCI

/// Stands in for an IKE engine that this build does not have yet: every request fails
/// at once with a reason that says so, so a tunnel shows Failed rather than waiting.
final class UnavailableEngine: KeyingEngine {
    let name: String

    init(name: String) { self.name = name }

    func requestPhase1(_ request: PhaseRequest) -> [EngineReport] {
        [.phase1Failed(request.tunnel, reason: "the \(name) engine is not in this build yet")]
    }

    func requestPhase2(_ request: PhaseRequest) -> [EngineReport] {
        [.phase2Failed(request.tunnel, reason: "the \(name) engine is not in this build yet")]
    }

    func configure(_ configuration: Configuration) {}
    func rekey(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport] { [] }

    func delete(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport] { [] }
    func migrate(_ tunnel: TunnelNumber, local: IPAddress, remote: IPAddress) -> [EngineReport] { [] }
}
