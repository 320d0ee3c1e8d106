import IKECore
import IKECrypto
import IKEWire
import Kernel
import UCI

/// A sans-I/O engine (IKEv1's or IKEv2's) as the Tunnel Manager's `KeyingEngine`: turns
/// tunnel configurations into engine policies and the engine's results into
/// `EngineReport`s. It keeps no state of its own: phase requests go to the engine.
public final class EngineKeying<Engine: SansIOEngine>: KeyingEngine {
    public let engine: Engine
    /// The tunnels this engine serves: `version '1'` or `'2'`.
    public let version: IKEVersion
    private let now: () -> Instant

    /// The `auth 'pubkey'` tunnels' credentials that cpsd loaded, by tunnel name; set
    /// before `configure`. A pubkey tunnel without one never negotiates.
    public var credentials: [String: PublicKeyCredential] = [:]

    public init(engine: Engine, version: IKEVersion, now: @escaping () -> Instant) {
        self.engine = engine
        self.version = version
        self.now = now
    }

    public func share(_ numbers: TunnelNumbers) { engine.tunnelNumbers = numbers }

    public func configure(_ configuration: Configuration) {
        engine.policies = configuration.tunnels.filter { $0.enabled && $0.version == version }.compactMap { policy($0) }
        let g = configuration.global
        engine.limits.halfOpenTotal = Int(g.halfOpenMax)
        engine.limits.halfOpenPerSource = Int(g.halfOpenPerSource)
        engine.limits.cookieThreshold = Int(g.cookieThreshold)
        engine.limits.aggressivePerSecond = Int(g.aggressiveRate)
    }

    public func requestPhase1(_ request: PhaseRequest) -> [EngineReport] {
        guard let policy = policy(request.config) else {
            return [.phase1Failed(request.tunnel, reason: "tunnel '\(request.config.name)' has no credential: it needs a psk, or a certificate cpsd has loaded (auth 'pubkey')")]
        }
        engine.initiate(tunnel: request.tunnel, policy: policy, remote: request.remote, phase2: request.wantsPhase2, now: now())
        return []
    }

    public func requestPhase2(_ request: PhaseRequest) -> [EngineReport] {
        engine.requestPhase2(tunnel: request.tunnel, now: now())
        return []
    }

    public func rekey(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport] {
        engine.rekey(tunnel: tunnel, phase: phase.rawValue, now: now())
        return []
    }

    public func delete(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport] {
        engine.delete(tunnel: tunnel, phase: phase.rawValue, now: now())
        return []
    }

    public func migrate(_ tunnel: TunnelNumber, local: IPAddress, remote: IPAddress) -> [EngineReport] {
        engine.move(tunnel: tunnel, local: local, remote: remote)
        return []
    }

    public func sas(of tunnel: TunnelNumber) -> (phase1: Phase1SA, child: ChildSA?)? {
        engine.sas(tunnel: tunnel)
    }

    /// The engine's output: datagrams and log lines for the driver, reports for the
    /// Tunnel Manager. A peer's tunnel the manager refuses is deleted (the engine numbered
    /// it). `keepalive` sends RFC 3948's one 0xFF octet, which carries no non-ESP marker.
    public func drain(into manager: TunnelManager, send: ([UInt8], Endpoint, Endpoint) -> Void, keepalive: (Endpoint, Endpoint) -> Void,
                      log: (LogLevel, String) -> Void) {
        while true {
            let outputs = engine.takeOutput()
            if outputs.isEmpty { return }
            for output in outputs {
                switch output {
                case let .send(bytes, from, to):
                    send(bytes, from, to)
                case let .keepalive(from, to):
                    keepalive(from, to)
                case let .log(level, text):
                    log(level, text)
                case let .report(report):
                    if !manager.handle(report), case let .negotiated(tunnel, _, _, _) = report {
                        engine.delete(tunnel: tunnel, phase: 1, now: now())
                    }
                }
            }
        }
    }

    /// The engine's view of a tunnel; nil when it has no credential (no PSK, or an auth
    /// method this build cannot serve): such a tunnel never negotiates.
    func policy(_ c: TunnelConfig) -> EnginePolicy? {
        var psk = SecretBytes.none
        var certificate: PublicKeyCredential? = nil
        switch c.auth {
        case .psk:
            guard let key = c.psk, !key.value.isEmpty else { return nil }
            psk = SecretBytes(Array(key.value.utf8))
        case .pubkey:
            guard var credential = credentials[c.name] else { return nil }
            switch c.sendCert {
            case .always: credential.send = .always
            case .ifasked: credential.send = .ifAsked
            case .never: credential.send = .never
            }
            certificate = credential
        }
        var remote: IPAddress? = nil
        if case let .address(a) = c.remoteAddress { remote = a }
        var p = EnginePolicy(
            name: c.name, localAddress: c.localAddress, remoteAddress: remote, localID: c.localID, remoteID: c.remoteID,
            psk: psk,
            ikeProposals: c.ikeProposals.map { EngineKeying.algorithms($0) }, espProposals: c.espProposals.map { EngineKeying.algorithms($0) },
            localSelectors: c.localSubnets.map { TrafficSelector($0) }, remoteSelectors: c.remoteSubnets.map { TrafficSelector($0) },
            transportMode: c.mode == .transport, ikeLifetimeSeconds: c.ikeLifetime, childLifetimeSeconds: c.lifetime)
        p.certificate = certificate
        p.dpdDelaySeconds = c.dpdDelay
        p.aggressive = c.exchange == .aggressive
        return p
    }

    static func algorithms(_ p: Proposal) -> AlgorithmSet {
        AlgorithmSet(ciphers: p.ciphers, integrity: p.integrity, prfs: p.prfs, groups: p.groups, esn: p.esn)
    }
}
