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
    /// Where a tunnel is in the seven steps. Each case carries what is valid there: the
    /// state of a tunnel that is up inline (the table holds its rows densely), the rest,
    /// large and passing, boxed (indirect).
    enum State {
        /// Step 2 done: waiting for step 3.
        case phase1Negotiating
        /// Step 3 done; phase 2 not requested (activate phase=1).
        indirect case phase1Active(Phase1SA)
        /// Step 4 done: waiting for step 5.
        indirect case phase2Negotiating(Phase1SA)
        /// Steps 5 to 7 done: what the kernel holds. The SAs themselves (identities,
        /// algorithms, lifetimes) the engine holds, and the manager asks it for them
        /// (`TunnelManager.sas(of:)`), so that a hub's tunnels are not held twice.
        case established(InstalledSAs)
        /// A step failed; phase 1 may still be up.
        indirect case failed(Phase1SA?, step: Int, reason: String)
    }

    // The stored properties are ordered for packing (the table holds the rows in one
    // array): words, the state, the nine-byte optional instant followed by what fits in
    // its padding; the rare ones are held apart, together.
    private let shared: SharedConfig
    var state: State
    /// When this attempt began until the tunnel is established, then when its SAs went
    /// into the kernel (`startedAt`, `establishedAt`).
    private var since: Instant?
    public let role: Role
    /// Whether phase 2 was asked for (a phase 2 row is listed from then on).
    var wantsPhase2: Bool
    /// Retried until it is up: a `start 'auto'` tunnel, or one restarted after its peer
    /// died (`dpd_action 'restart'`).
    var persistent = false
    public let number: TunnelNumber
    /// Which negotiation attempt this is, from 1; retries keep the tunnel's number.
    public internal(set) var attempt: UInt32 = 1
    /// What few rows hold: a failed tunnel's next attempt, a DNS name's address.
    @HeldApart private var rare: (nextAttempt: Instant?, resolvedAddress: IPAddress?)? = nil

    /// When this attempt began (an initiator's phase 1 request, the peer's first message
    /// to a responder), until the tunnel is established: two attempts at one tunnel
    /// crossed when each began before the other was up.
    var startedAt: Instant? {
        get { isEstablished ? nil : since }
        set { since = newValue }
    }

    /// When the tunnel's SAs went into the kernel; nil until it is established.
    var establishedAt: Instant? {
        get { isEstablished ? since : nil }
        set { since = newValue }
    }

    /// When a failed tunnel is tried again; nil: it is not (manual, or given up).
    public internal(set) var nextAttempt: Instant? {
        get { rare?.nextAttempt }
        set { setRare(newValue, rare?.resolvedAddress) }
    }

    /// The address a `remote_address` DNS name gave for this attempt.
    public internal(set) var resolvedAddress: IPAddress? {
        get { rare?.resolvedAddress }
        set { setRare(rare?.nextAttempt, newValue) }
    }

    private mutating func setRare(_ nextAttempt: Instant?, _ resolvedAddress: IPAddress?) {
        rare = nextAttempt == nil && resolvedAddress == nil ? nil : (nextAttempt, resolvedAddress)
    }

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

    /// The phase 1 SA as the row holds it: until the tunnel is established, and while a
    /// failed one's phase 1 stays up. An established tunnel's is the engine's
    /// (`TunnelManager.sas(of:)`).
    var heldPhase1: Phase1SA? {
        switch state {
        case .phase1Negotiating, .established: return nil
        case let .phase1Active(p1), let .phase2Negotiating(p1): return p1
        case let .failed(p1, _, _): return p1
        }
    }

    /// Whether the tunnel's phase 1 SA is up.
    public var hasPhase1: Bool {
        if case .established = state { return true }
        return heldPhase1 != nil
    }

    /// What the kernel holds for the tunnel: nil until it is established.
    public var installed: InstalledSAs? {
        if case let .established(sas) = state { return sas }
        return nil
    }

    public var isEstablished: Bool { installed != nil }

    /// The outer addresses of its phase 1 SA (which its phase 2 SAs share), once it is up.
    public var endpoints: (local: IPAddress, remote: IPAddress)? {
        if let sas = installed { return (sas.localAddress, sas.remoteAddress) }
        return heldPhase1.map { ($0.localAddress, $0.remoteAddress) }
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
        case var .established(sas):
            sas.localAddress = local
            sas.remoteAddress = remote
            state = .established(sas)
        case let .failed(p1, step, reason): state = .failed(p1.map(moved), step: step, reason: reason)
        }
    }

    /// The peer's address: configured, or learnt by a responder.
    public var remoteAddress: IPAddress? {
        if let e = endpoints { return e.remote }
        if case let .address(a) = config.remoteAddress { return a }
        return resolvedAddress
    }
}

/// What an established tunnel put into the kernel, kept to take it out again: the outer
/// addresses, the SPIs and the selectors (their arrays shared with the engine's SA). 64 B
/// rather than the two SAs' 210.
public struct InstalledSAs {
    public var localAddress: IPAddress
    public var inboundSPI: UInt32
    public var remoteAddress: IPAddress
    public var outboundSPI: UInt32
    public var localSelectors: [TrafficSelector]
    public var remoteSelectors: [TrafficSelector]

    init(local: IPAddress, remote: IPAddress, _ child: ChildSA) {
        localAddress = local
        remoteAddress = remote
        inboundSPI = child.inboundSPI
        outboundSPI = child.outboundSPI
        localSelectors = child.localSelectors
        remoteSelectors = child.remoteSelectors
    }

    public var localSubnets: [Subnet] { ChildSA.subnets(localSelectors) }
    public var remoteSubnets: [Subnet] { ChildSA.subnets(remoteSelectors) }
}

extension ChildSA {
    /// Tunnel or transport mode, as the kernel and `list` name it.
    public var mode: IPsecMode { transportMode ? .transport : .tunnel }
}
