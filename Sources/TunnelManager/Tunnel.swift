import IKECore
import IKEWire
import Kernel
import UCI

/// The status words of `ike cmd=list`.
public enum PhaseStatus: String, Sendable {
    case negotiating = "Negotiating"
    case active = "Active"
    case rekeying = "Rekeying"
    case deleting = "Deleting"
    case failed = "Failed"
}

/// A tunnel's configuration by reference: 272 bytes a row would otherwise hold, for each
/// of a hub's thousands of responder instances of one template.
final class SharedConfig {
    let value: TunnelConfig
    init(_ value: TunnelConfig) { self.value = value }
}

/// One row of the tunnel table: a configured tunnel (or a responder instance of a
/// template) on its way through the seed's seven steps.
public struct Tunnel {
    /// Where a tunnel is in the seven steps. Each case carries what is valid there,
    /// boxed (indirect): the table holds a row inline in each of its buckets, about 1.6
    /// per tunnel, so the SAs' 230 B are stored once rather than bucket by bucket.
    indirect enum State {
        /// Step 2 done: waiting for step 3.
        case phase1Negotiating
        /// Step 3 done; phase 2 not requested (activate phase=1).
        case phase1Active(Phase1SA)
        /// Step 4 done: waiting for step 5.
        case phase2Negotiating(Phase1SA)
        /// Steps 5 to 7 done.
        case established(Phase1SA, ChildSA)
        /// A step failed; phase 1 may still be up.
        case failed(Phase1SA?, step: Int, reason: String)
    }

    // The stored properties are ordered for packing (a row is held inline in each of
    // the table's buckets): words, each nine-byte optional instant followed by what fits
    // in its padding; the rare ones are held apart.
    private let shared: SharedConfig
    var state: State
    /// When this attempt began (an initiator's phase 1 request) and when its SAs went
    /// into the kernel: two attempts at one tunnel crossed when each began before the
    /// other was up.
    var startedAt: Instant?
    public let role: Role
    /// Whether phase 2 was asked for (a phase 2 row is listed from then on).
    var wantsPhase2: Bool
    /// Retried until it is up: a `start 'auto'` tunnel, or one restarted after its peer
    /// died (`dpd_action 'restart'`).
    var persistent = false
    public let number: TunnelNumber
    var establishedAt: Instant?
    /// Which negotiation attempt this is, from 1; retries keep the tunnel's number.
    public internal(set) var attempt: UInt32 = 1
    /// When a failed tunnel is tried again; nil: it is not (manual, or given up).
    @HeldApart public internal(set) var nextAttempt: Instant? = nil
    /// The address a `remote_address` DNS name gave for this attempt.
    @HeldApart public internal(set) var resolvedAddress: IPAddress? = nil

    /// What the tunnel was started from (a template's responder instances share one copy).
    public var config: TunnelConfig { shared.value }

    public var name: String { shared.value.name }

    init(number: TunnelNumber, config: SharedConfig, role: Role, wantsPhase2: Bool, state: State) {
        self.number = number
        shared = config
        self.role = role
        self.wantsPhase2 = wantsPhase2
        self.state = state
    }

    init(number: TunnelNumber, config: TunnelConfig, role: Role, wantsPhase2: Bool, state: State) {
        self.init(number: number, config: SharedConfig(config), role: role, wantsPhase2: wantsPhase2, state: state)
    }

    /// The phase 1 status; every tunnel in the table has a phase 1 row.
    public var phase1Status: PhaseStatus {
        switch state {
        case .phase1Negotiating: return .negotiating
        case .phase1Active, .phase2Negotiating, .established: return .active
        case let .failed(p1, _, _): return p1 == nil ? .failed : .active
        }
    }

    /// The phase 2 status, nil when phase 2 was not requested.
    public var phase2Status: PhaseStatus? {
        guard wantsPhase2 else { return nil }
        switch state {
        case .phase1Negotiating, .phase1Active, .phase2Negotiating: return .negotiating
        case .established: return .active
        case .failed: return .failed
        }
    }

    public var phase1SA: Phase1SA? {
        switch state {
        case .phase1Negotiating: return nil
        case let .phase1Active(p1), let .phase2Negotiating(p1), let .established(p1, _): return p1
        case let .failed(p1, _, _): return p1
        }
    }

    public var childSA: ChildSA? {
        if case let .established(_, child) = state { return child }
        return nil
    }

    /// Why the tunnel failed, with the step.
    public var failure: String? {
        if case let .failed(_, step, reason) = state { return "step \(step): \(reason)" }
        return nil
    }

    public var isFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    /// After a kernel migrate: the phase 1 SA's outer addresses (which the phase 2 SAs share).
    mutating func moveEndpoints(local: IPAddress, remote: IPAddress) {
        func moved(_ p1: Phase1SA) -> Phase1SA {
            var p = p1
            p.localAddress = local
            p.remoteAddress = remote
            return p
        }
        switch state {
        case .phase1Negotiating: return
        case let .phase1Active(p1): state = .phase1Active(moved(p1))
        case let .phase2Negotiating(p1): state = .phase2Negotiating(moved(p1))
        case let .established(p1, child): state = .established(moved(p1), child)
        case let .failed(p1, step, reason): state = .failed(p1.map(moved), step: step, reason: reason)
        }
    }

    /// The peer's address: configured, or learnt by a responder.
    public var remoteAddress: IPAddress? {
        if let p1 = phase1SA { return p1.remoteAddress }
        if case let .address(a) = config.remoteAddress { return a }
        return resolvedAddress
    }
}

extension ChildSA {
    /// Tunnel or transport mode, as the kernel and `list` name it.
    public var mode: IPsecMode { transportMode ? .transport : .tunnel }
}
