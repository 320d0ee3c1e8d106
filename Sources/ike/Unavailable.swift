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
}

/// `option kernel 'xfrm'` before the Netlink module programs XFRM: every insertion fails
/// with ENOSYS and says why, nothing is pretended.
final class UnavailableXFRM: IPsecKernel {
    let name = "xfrm"

    private func refuse(_ operation: String) -> KernelError {
        KernelError(operation: operation, errno: 38, message: "netlink XFRM is not in this build yet")
    }

    func addSA(_ sa: SecurityAssociation) throws(KernelError) { throw refuse("addSA") }
    func deleteSA(_ id: SAIdentifier) throws(KernelError) { throw refuse("deleteSA") }
    func addPolicy(_ policy: Policy) throws(KernelError) { throw refuse("addPolicy") }
    func deletePolicy(_ id: PolicyIdentifier) throws(KernelError) { throw refuse("deletePolicy") }
    func counters(_ id: SAIdentifier) -> SACounters? { nil }
}
