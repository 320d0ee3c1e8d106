import IKECore
import IKECrypto
import IKEWire
import IKEv2
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

    /// The engine's output: datagrams and log lines for the driver, reports for the
    /// Tunnel Manager (a responder's new tunnel is numbered by `manager` at once).
    /// `keepalive` sends RFC 3948's one 0xFF octet, which carries no non-ESP marker.
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
                case let .peerDead(tunnel):
                    manager.handle(.peerDead(tunnel))
                case let .log(level, text):
                    log(level, text)
                case let .ikeEstablished(tunnel, sa):
                    manager.handle(.phase1Created(tunnel, EngineKeying.phase1(sa)))
                case let .childEstablished(tunnel, child):
                    manager.handle(.phase2Created(tunnel, EngineKeying.childSA(child)))
                case let .failed(tunnel, phase, reason):
                    manager.handle(phase == 1 ? .phase1Failed(tunnel, reason: reason) : .phase2Failed(tunnel, reason: reason))
                case let .responderEstablished(spi, name, sa, child):
                    if let number = manager.handle(.negotiated(tunnelName: name, EngineKeying.phase1(sa), EngineKeying.childSA(child))) {
                        engine.assign(tunnel: number, toSA: spi)
                    }
                case let .childRekeyed(tunnel, child):
                    manager.handle(.phase2Rekeyed(tunnel, EngineKeying.childSA(child)))
                case let .ikeRekeyed(tunnel, sa):
                    manager.handle(.phase1Rekeyed(tunnel, EngineKeying.phase1(sa)))
                case let .deleted(tunnel, phase):
                    manager.handle(.deleted(tunnel, phase == 1 ? .one : .two))
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

    static func phase1(_ sa: EstablishedIKESA) -> Phase1SA {
        Phase1SA(localAddress: sa.local.address, remoteAddress: sa.remote.address, localID: sa.localID, remoteID: sa.remoteID,
                 initiatorSPI: sa.initiatorSPI, responderSPI: sa.responderSPI, algorithms: sa.algorithms,
                 natTraversal: sa.natDetected, lifetimeSeconds: sa.lifetimeSeconds, startedAt: sa.startedAt)
    }

    static func subnets(_ selectors: [TrafficSelector]) -> [Subnet] {
        selectors.compactMap { ts in ts.subnet ?? Subnet(address: ts.start, prefixLength: ts.start.isV4 ? 32 : 128) }
    }

    static func childSA(_ c: EstablishedChildSA) -> ChildSA {
        ChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, cipher: c.algorithms.cipher, integrity: c.algorithms.integrity,
                group: c.algorithms.group,
                inbound: DirectionKeys(encryption: c.inboundEncryptionKey, integrity: c.inboundIntegrityKey),
                outbound: DirectionKeys(encryption: c.outboundEncryptionKey, integrity: c.outboundIntegrityKey),
                localSelectors: subnets(c.localSelectors), remoteSelectors: subnets(c.remoteSelectors),
                mode: c.transportMode ? .transport : .tunnel, encapsulation: c.encapsulation.map { (source: $0.local, destination: $0.remote) },
                lifetimeSeconds: c.lifetimeSeconds,
                extendedSequenceNumbers: c.algorithms.extendedSequenceNumbers)
    }
}
