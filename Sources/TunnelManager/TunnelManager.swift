import IKECore
import IKEWire
import Kernel
import UCI

/// The Tunnel Manager (tmd of the AIX flow): owns the tunnel table and its numbers and
/// drives every tunnel through the seed's seven steps. It reaches the engines and the
/// kernel only through `KeyingEngine` and `IPsecKernel`, and it is the only component
/// that touches the kernel.
public final class TunnelManager {
    public internal(set) var configuration: Configuration
    let v1: any KeyingEngine
    let v2: any KeyingEngine
    let kernel: any IPsecKernel
    let log: Logger
    /// The table, by number and by name; numbers only grow.
    var table = TunnelTable()
    /// Tunnels whose peer died with `dpd_action 'hold'`, by name, with the number they
    /// had: a trap policy holds their traffic, and the next packet starts them again
    /// under that number, as for `start 'trap'`.
    var holding: [String: TunnelNumber] = [:]
    /// The held tunnels (`dpd_action 'hold'`), by name, with their numbers: `list
    /// configured` shows those not in the table as held, and `remove` ends a hold (a
    /// name stays while the tunnel its traffic started again is up, until it is removed).
    public var heldTunnels: [String: TunnelNumber] { holding }
    /// Tunnel numbers: the engines number the tunnels peers start from the same sequence.
    public let numbers = TunnelNumbers()
    /// The configuration each template's responder instances share (cleared on reload).
    var sharedConfigs: [String: SharedConfig] = [:]
    /// Initiator tunnels waiting for a free slot toward their peer (pacing), in order, by
    /// peer (`remote_address` as written).
    var queued: [String: [TunnelNumber]] = [:]
    /// The earliest `nextAttempt` of a failed tunnel: `tick` has nothing to do before it.
    var earliestRetry: Instant? = nil
    /// Initiator tunnels whose phase 1 request went to an engine, by peer, until they
    /// leave `phase1Negotiating` (pruned lazily).
    var requested: [String: Set<TunnelNumber>] = [:]
    /// Finds the address of a `remote_address` DNS name; calls back once, later, with
    /// the address or why there is none. nil: names cannot be resolved.
    public var resolve: ((_ name: String, _ v4: Bool?, _ done: @escaping (IPAddress?, String) -> Void) -> Void)?
    /// The daemon's clock: when failed tunnels are tried again.
    let clock: () -> Instant

    /// Marks what this daemon installs in the kernel: reqid = base + tunnel number.
    public static let reqidBase: UInt32 = 0x494b_0000
    /// Every reqid this daemon may use: its SAs and policies, and only those, are its own.
    public static let reqidRange: ClosedRange<UInt32> = reqidBase...(reqidBase + 0xffff)
    /// The upper half of the range, for the kernel's larval SAs that hold allocated SPIs
    /// (tunnel numbers use the lower half).
    public static let larvalReqids: ClosedRange<UInt32> = (reqidBase + 0x8000)...(reqidBase + 0xffff)

    public init(configuration: Configuration, ikev1: any KeyingEngine, ikev2: any KeyingEngine,
                kernel: any IPsecKernel, log: Logger, clock: @escaping () -> Instant = { .zero }) {
        self.configuration = configuration
        self.clock = clock
        self.v1 = ikev1
        self.v2 = ikev2
        self.kernel = kernel
        self.log = log
        ikev1.share(numbers)
        ikev2.share(numbers)
        ikev1.configure(configuration)
        ikev2.configure(configuration)
    }

    /// The table in tunnel-number order.
    public var tunnels: [Tunnel] { table.values.sorted { $0.number < $1.number } }

    public func tunnel(_ number: TunnelNumber) -> Tunnel? { table[number] }

    /// A tunnel's SAs: as its row holds them until it is established, then as its engine
    /// does (the row keeps only what the kernel holds). Without keys.
    public func sas(of t: Tunnel) -> (phase1: Phase1SA?, child: ChildSA?) {
        guard t.isEstablished else { return (t.heldPhase1, nil) }
        guard let held = engine(for: t.config).sas(of: t.number) else { return (nil, nil) }
        return (held.phase1, held.child)
    }

    func phase1SA(of t: Tunnel) -> Phase1SA? { sas(of: t).phase1 }

    /// How many tunnels the table holds, and how many in each phase 1 status (`cmd=status`),
    /// as the table keeps them.
    public var tunnelCount: Int { table.count }
    public var phase1StatusCounts: [PhaseStatus: Int] { table.phase1Counts }

    func engine(for config: TunnelConfig) -> any KeyingEngine {
        switch config.version {
        case .v1: return v1
        case .v2: return v2
        }
    }

    func engineName(_ config: TunnelConfig) -> String {
        switch config.version {
        case .v1: return "isakmpd"
        case .v2: return "ikev2d"
        }
    }

    func label(_ t: Tunnel) -> String { "tunnel \(t.number) '\(t.name)'" }

    // MARK: Activation (initiator, steps 1 to 4)

    /// Starts the selected tunnels (`ike cmd=activate`). `phase` 1 stops after phase 1;
    /// nil or 2 runs both. Returns the tunnel numbers, or the first reason to refuse,
    /// having started nothing.
    public func activate(_ selection: Selection, phase: Phase? = nil) -> Result<[TunnelNumber], TunnelError> {
        let targets: [Target]
        switch resolve(selection) {
        case let .success(t): targets = t
        case let .failure(e): return .failure(e)
        }
        var numbers: [TunnelNumber] = []
        for target in targets {
            switch target {
            case let .config(config):
                numbers.append(start(config, wantsPhase2: phase != .one))
            case let .existing(number):
                startPhase2(number)
                numbers.append(number)
            }
        }
        return .success(numbers)
    }

    /// What an activation applies to: a configured tunnel to start, or a tunnel whose
    /// phase 1 is up and that now gets phase 2.
    enum Target {
        case config(TunnelConfig)
        case existing(TunnelNumber)
    }

    func resolve(_ selection: Selection) -> Result<[Target], TunnelError> {
        var targets: [Target] = []
        for number in selection.numbers {
            guard let t = table[number] else {
                return .failure(TunnelError("no tunnel number \(number); see ike cmd=list"))
            }
            if t.isFailed {
                targets.append(.config(t.config))
            } else if case .phase1Active = t.state {
                targets.append(.existing(number))
            } else {
                return .failure(TunnelError("tunnel \(number) '\(t.name)' is already \(t.phase2Status?.rawValue.asciiLowercased ?? "active"); remove it first to restart it"))
            }
        }
        var configs: [TunnelConfig] = []
        for name in selection.names {
            guard let config = configuration.tunnel(named: name) else {
                return .failure(TunnelError("no tunnel named '\(name)' in the configuration; see ike check"))
            }
            configs.append(config)
        }
        if selection.remoteID != nil || selection.addresses != nil {
            for config in configuration.tunnels {
                if let id = selection.remoteID, config.remoteID == id { configs.append(config) }
                if let pair = selection.addresses, config.localAddress == pair.local, config.remoteAddress == .address(pair.remote) {
                    configs.append(config)
                }
            }
        }
        if selection.isEmpty || selection.autostart {
            configs += configuration.tunnels.filter { $0.enabled && $0.start == .auto }
        }
        if targets.isEmpty && configs.isEmpty {
            if selection.isEmpty || selection.autostart {
                return .failure(TunnelError("no enabled tunnel has start 'auto'; name tunnels with namelist=NAME"))
            }
            return .failure(TunnelError("no configured tunnel matches; see ike check"))
        }
        var seen: Set<String> = []
        for config in configs where seen.insert(config.name).inserted {
            if let problem = refusal(config) { return .failure(problem) }
            targets.append(.config(config))
        }
        return .success(targets)
    }

    /// Why a configured tunnel cannot be started now, if it cannot.
    func refusal(_ config: TunnelConfig) -> TunnelError? {
        if !config.enabled {
            return TunnelError("tunnel '\(config.name)' is disabled (option enabled '0')")
        }
        if config.remoteAddress == .any {
            return TunnelError("tunnel '\(config.name)' only responds (remote_address 'any'); start it from the peer")
        }
        if let running = table.first(named: config.name, where: { $0.role == .initiator && !$0.isFailed }) {
            return TunnelError("tunnel '\(config.name)' is already up as tunnel \(running.number); remove it first to restart it")
        }
        return nil
    }

    /// Steps 1 and 2 for a configured tunnel; a failed earlier attempt leaves the table.
    /// A retry (`again`) keeps the failed tunnel's number and counts its attempt; a tunnel
    /// restarted after its peer died keeps its number (`keeping`) with a fresh count.
    func start(_ config: TunnelConfig, wantsPhase2: Bool, persistent: Bool? = nil, again: Tunnel? = nil,
               keeping kept: TunnelNumber? = nil) -> TunnelNumber {
        let number = again?.number ?? kept ?? numbers.take()
        for old in table.named(config.name) where old.isFailed && old.role == .initiator && old.number != number {
            table.removeValue(forKey: old.number)
        }
        var tunnel = Tunnel(number: number, config: config, role: .initiator, wantsPhase2: wantsPhase2,
                            state: .phase1Negotiating)
        tunnel.attempt = (again?.attempt ?? 0) + 1
        tunnel.persistent = persistent ?? again?.persistent ?? (config.start == .auto)
        tunnel.startedAt = clock()
        table[number] = tunnel
        log.event(.tmd, again == nil ? "\(label(tunnel)): activation requested" : "\(label(tunnel)): attempt \(tunnel.attempt)")
        if case .any = config.remoteAddress {
            preconditionFailure("\(label(tunnel)): a responder-only tunnel reached start()")
        }
        // Paced: the request goes out at once when the peer has a free slot.
        queued[config.remoteAddress.description, default: []].append(number)
        dequeue(config.remoteAddress.description)
        return number
    }

    /// Step 2: the phase 1 connection request; a peer named by DNS is resolved first, at
    /// each attempt, so that a changed address is followed.
    func requestPhase1(_ tunnel: Tunnel) {
        requested[tunnel.config.remoteAddress.description, default: []].insert(tunnel.number)
        if case let .name(name) = tunnel.config.remoteAddress, tunnel.resolvedAddress == nil {
            resolveThenRequest(tunnel, name)
            return
        }
        guard let remote = tunnel.remoteAddress else { return }
        log.event(.tmd, "\(label(tunnel)): phase 1 connection request to \(engineName(tunnel.config)) for \(remote)")
        process(engine(for: tunnel.config).requestPhase1(PhaseRequest(tunnel: tunnel.number, config: tunnel.config, remote: remote,
                                                                      wantsPhase2: tunnel.wantsPhase2)))
    }

    /// Step 4.
    func startPhase2(_ number: TunnelNumber) {
        guard var t = table[number], let p1 = phase1SA(of: t) else { return }
        t.wantsPhase2 = true
        t.state = .phase2Negotiating(p1)
        table[number] = t
        log.event(.tmd, "\(label(t)): phase 2 connection request to \(engineName(t.config))")
        process(engine(for: t.config).requestPhase2(PhaseRequest(tunnel: number, config: t.config, remote: p1.remoteAddress)))
    }

    /// Starts every enabled `start 'auto'` tunnel (daemon start, and `autostart`).
    @discardableResult
    public func startAutoTunnels() -> [TunnelNumber] {
        var numbers: [TunnelNumber] = []
        for config in configuration.tunnels where config.enabled && config.start == .auto {
            if refusal(config) == nil { numbers.append(start(config, wantsPhase2: true)) }
        }
        return numbers
    }

    // MARK: Engine reports (steps 3, 5; the responder's path)

    func process(_ reports: [EngineReport]) {
        for report in reports { _ = handle(report) }
    }

    /// Takes an engine's report. False: a peer's tunnel (`negotiated`) refused, which the
    /// engine then deletes.
    @discardableResult
    public func handle(_ report: EngineReport) -> Bool {
        defer { dequeue() }
        switch report {
        case let .phase1Created(number, sa):
            phase1Created(number, sa)
        case let .phase1Failed(number, reason):
            fail(number, step: 3, phase1: nil, "phase 1 failed: \(reason)")
        case let .phase2Created(number, child):
            phase2Created(number, child)
        case let .phase2Failed(number, reason):
            fail(number, step: 5, phase1: table[number].flatMap { phase1SA(of: $0) }, "phase 2 failed: \(reason)")
        case let .negotiated(number, name, p1, child):
            return negotiated(number, name, p1, child)
        case let .deleted(number, phase):
            peerDeleted(number, phase)
        case let .peerDead(number):
            peerDead(number)
        case let .phase1Rekeyed(number, sa):
            phase1Rekeyed(number, sa)
        case let .phase2Rekeyed(number, child):
            phase2Rekeyed(number, child)
        }
        return true
    }

    func phase1Created(_ number: TunnelNumber, _ sa: Phase1SA) {
        guard var t = table[number], case .phase1Negotiating = t.state else {
            log.debug(.tmd, "tunnel \(number): phase 1 report for a tunnel not waiting for one; ignored")
            return
        }
        t.state = .phase1Active(sa)
        table[number] = t
        log.event(.tmd, "\(label(t)): phase 1 SA created with \(sa.remoteAddress) (\(sa.algorithms))")
        if t.wantsPhase2 { startPhase2(number) }
    }

    func phase2Created(_ number: TunnelNumber, _ child: ChildSA) {
        if adoptPhase2(number, child) { return }
        guard let t = table[number], case let .phase2Negotiating(p1) = t.state else {
            log.debug(.tmd, "tunnel \(number): phase 2 report for a tunnel not waiting for one; ignored")
            return
        }
        log.event(.tmd, "\(label(t)): phase 2 SA created (\(child.cipher), spi in \(Hex.prefixed(child.inboundSPI)) out \(Hex.prefixed(child.outboundSPI)))")
        // The peer's attempt at this tunnel came up while ours ran: one of the two goes,
        // the same one on both sides.
        if t.role == .initiator, let started = t.startedAt, let theirs = table.first(named: t.name, where: { r in
            r.number != number && r.role == .responder && r.remoteAddress == t.remoteAddress
                && r.isEstablished && (r.establishedAt.map { $0 >= started } ?? false)
        }) {
            if TunnelManager.ourAttemptWins(p1) {
                log.event(.tmd, "\(label(t)): the peer's attempt (\(label(theirs))) crossed ours; ours, from the lower address, stays")
                removeTunnel(theirs.number)
            } else {
                log.event(.tmd, "\(label(t)): crossed the peer's attempt (\(label(theirs))), which stays: it came from the lower address")
                removeTunnel(number)
                return
            }
        }
        install(number, p1, child)
    }

    /// When both sides start a tunnel at once (both saw the peer die, under loss), the
    /// attempt the lower address initiated stays on both sides: a rule both apply alike.
    static func ourAttemptWins(_ p1: Phase1SA) -> Bool {
        p1.localAddress.bytes.lexicographicallyPrecedes(p1.remoteAddress.bytes)
    }

    /// Whether our attempt `f` crossed the peer's negotiation `p1`: it still negotiates,
    /// or it came up after the peer began (so the peer could not have known of it).
    func crossed(_ f: Tunnel, _ p1: Phase1SA) -> Bool {
        guard f.role == .initiator, !f.isFailed else { return false }
        guard f.isEstablished else { return true }
        guard let up = f.establishedAt, let began = p1.startedAt else { return false }
        return up >= began
    }

    /// The responder's path: a new tunnel (the engine numbered it), then steps 6 and 7.
    /// False: refused, and the engine deletes its SAs.
    func negotiated(_ number: TunnelNumber, _ name: String, _ p1: Phase1SA, _ child: ChildSA) -> Bool {
        guard let config = configuration.tunnel(named: name), config.enabled else {
            log.error(.tmd, "a peer at \(p1.remoteAddress) negotiated tunnel '\(name)', which is not configured or disabled; refused (its SAs are deleted)")
            return false
        }
        // An established tunnel the peer set up again (it restarted, or its liveness check
        // gave up on the old IKE SA before ours did) is replaced: both hold the same
        // selectors, which the kernel takes once. Our own attempt that crossed the peer's
        // (both sides restarted the tunnel at once) is settled by `ourAttemptWins`; one
        // that still negotiates and wins goes on, and `phase2Created` settles it.
        let earlier = config.remoteAddress == .any ? [] : table.named(name).filter { $0.remoteAddress == p1.remoteAddress }
        for f in earlier where crossed(f, p1) {
            if !TunnelManager.ourAttemptWins(p1) {
                log.event(.tmd, "\(label(f)): crossed the peer's attempt, which stays: it came from the lower address")
                removeTunnel(f.number)
            } else if f.isEstablished {
                log.event(.tmd, "\(label(f)): the peer's attempt at '\(name)' crossed ours; ours, from the lower address, stays")
                return false
            }
        }
        for f in earlier where table[f.number] != nil && !crossed(f, p1) {
            if f.isFailed {
                table.removeValue(forKey: f.number)
                log.event(.tmd, "\(label(f)): the peer brought the tunnel up; no further attempt from here")
            } else if f.isEstablished {
                log.event(.tmd, "\(label(f)): the peer set the tunnel up again with a new IKE SA; the old one goes")
                removeTunnel(f.number)
            }
        }
        let shared: SharedConfig
        if let known = sharedConfigs[name], known.value == config {
            shared = known
        } else {
            shared = SharedConfig(config)
            sharedConfigs[name] = shared
        }
        var tunnel = Tunnel(number: number, config: shared, role: .responder, wantsPhase2: true,
                            state: .phase2Negotiating(p1))
        tunnel.startedAt = p1.startedAt
        table[number] = tunnel
        log.event(.tmd, "\(label(tunnel)): phase 1 SA created as responder with \(p1.remoteAddress) (\(p1.algorithms))")
        log.event(.tmd, "\(label(tunnel)): phase 2 SA created as responder (\(child.cipher), spi in \(Hex.prefixed(child.inboundSPI)) out \(Hex.prefixed(child.outboundSPI)))")
        install(number, p1, child)
        return true
    }

    func fail(_ number: TunnelNumber, step: Int, phase1: Phase1SA?, _ reason: String) {
        guard var t = table[number] else { return }
        // A second report for a tunnel that failed already changes neither its error nor
        // the time of its next attempt.
        guard !t.isFailed else {
            log.debug(.tmd, "\(label(t)): already failed; also: \(reason)")
            return
        }
        // A tunnel that was up (the peer refused it afterwards) leaves nothing behind.
        uninstall(t)
        t.state = .failed(phase1, step: step, reason: reason)
        log.error(.tmd, "\(label(t)): \(reason)")
        scheduleRetry(&t)
        table[number] = t
    }

    /// Liveness checks went unanswered: `dpd_action` clear removes the tunnel, restart
    /// removes its SAs and starts it again under its number (whichever side initiated it,
    /// when the tunnel names its peer; a template's instances are cleared), hold removes its SAs and leaves a
    /// trap policy that drops its traffic until the next packet starts it again, under its number.
    func peerDead(_ number: TunnelNumber) {
        guard let t = table[number] else { return }
        log.error(.tmd, "\(label(t)): the peer does not answer liveness checks; dpd_action '\(t.config.dpdAction.rawValue)'")
        uninstall(t)
        table.removeValue(forKey: number)
        // (A template's instances share its name by the thousand; they are not restarted.)
        let replaced = t.config.remoteAddress == .any ? nil
            : table.first(named: t.name, where: { !$0.isFailed && $0.remoteAddress == t.remoteAddress })
        if t.config.dpdAction == .restart, let other = replaced {
            // The peer (or we) brought the tunnel up again while this SA waited for its
            // verdict: a restart would make a second one.
            log.event(.tmd, "\(label(t)): removed; \(label(other)) already runs with \(other.remoteAddress.map { $0.description } ?? "the peer")")
        } else if t.config.dpdAction == .restart, t.config.remoteAddress != .any, refusal(t.config) == nil {
            if t.role == .responder {
                // The peer started this tunnel and, seeing the same silence, most likely
                // restarts it: starting it from here at the same moment makes two. Wait
                // one retry delay first; a tunnel the peer brings up meanwhile cancels it.
                startLater(t.config, "the peer does not answer liveness checks; restarting unless it does", keeping: number)
            } else {
                _ = start(t.config, wantsPhase2: true, persistent: true, keeping: number)
            }
        } else if t.config.dpdAction == .hold && t.role == .initiator && configuration.tunnel(named: t.name) == t.config {
            holding[t.name] = number
            if trapPolicy(t.config) == nil {
                holding.removeValue(forKey: t.name)
                log.event(.tmd, "\(label(t)): removed (dpd_action 'hold' needs local_address, a local_subnet and a remote_subnet to trap traffic)")
                return
            }
            log.event(.tmd, "\(label(t)): removed; its traffic is held until it starts the tunnel again")
            installTrap(t.config)
        } else {
            log.event(.tmd, "\(label(t)): removed")
        }
    }

    /// A tunnel we start ourselves after `retry_delay`, listed as failed until then: a
    /// tunnel the peer brings up meanwhile cancels it (`negotiated`).
    func startLater(_ config: TunnelConfig, _ reason: String, keeping kept: TunnelNumber? = nil) {
        let number = kept ?? numbers.take()
        var w = Tunnel(number: number, config: config, role: .initiator, wantsPhase2: true,
                       state: .failed(nil, step: 1, reason: reason))
        w.persistent = true
        scheduleRetry(&w)
        table[number] = w
    }

    /// Whether traffic starts the tunnel: `start 'trap'`, or held after its peer died.
    func waitsForTraffic(_ config: TunnelConfig) -> Bool {
        config.start == .trap || holding[config.name] != nil
    }

    func peerDeleted(_ number: TunnelNumber, _ deleted: Phase) {
        guard let t = table[number] else { return }
        log.event(.tmd, "\(label(t)): phase \(deleted) deleted by the peer or expired")
        // Phase 2 alone leaves the tunnel at phase 1, as its engine holds it; an engine
        // that holds no phase 1 for it any more lost both.
        let p1 = deleted == .two ? phase1SA(of: t) : nil
        let phase = p1 == nil ? Phase.one : deleted
        uninstall(t)
        if phase == .one, case let .failed(_, step, reason) = t.state {
            // A failed tunnel stays listed with its error; only its phase 1 is gone.
            var updated = t
            updated.state = .failed(nil, step: step, reason: reason)
            table[number] = updated
        } else if phase == .one, t.role == .initiator, t.persistent, configuration.tunnel(named: t.name) == t.config {
            // A tunnel we keep up (`start 'auto'`, or restarted after its peer died) comes
            // back: the peer deleted it going down (a reboot) or gave up on a negotiation
            // we took as done (its last Quick Mode message lost).
            var updated = t
            updated.state = .failed(nil, step: 3, reason: "phase 1 deleted by the peer")
            updated.attempt = 1
            scheduleRetry(&updated)
            table[number] = updated
        } else if phase == .one {
            table.removeValue(forKey: number)
            log.event(.tmd, "\(label(t)): removed")
            // A `start 'auto'` tunnel the peer had set up (again) and now deleted: we keep
            // it up, as when we had started it.
            if t.role == .responder, t.config.start == .auto, t.config.remoteAddress != .any,
               configuration.tunnel(named: t.name) == t.config, refusal(t.config) == nil,
               !table.contains(named: t.name) {
                startLater(t.config, "phase 1 deleted by the peer; start 'auto' brings it back", keeping: number)
            }
        } else if let p1 {
            var updated = t
            updated.wantsPhase2 = false
            updated.state = .phase1Active(p1)
            table[number] = updated
        }
    }
}
