import IKECrypto
import IKEWire
import IKEv2
import Kernel
import UCI

/// The IKEv2 engine as the Tunnel Manager's `KeyingEngine`: turns tunnel configurations
/// into engine policies and the engine's results into `EngineReport`s.
public final class IKEv2Keying: KeyingEngine {
    public let engine: IKEv2Engine
    private let now: () -> Instant
    /// CHILD_SAs negotiated with IKE_AUTH for tunnels that asked for phase 1 only; they
    /// are reported when phase 2 is requested.
    private var heldChildren: [TunnelNumber: ChildSA] = [:]
    private var wantsPhase2: [TunnelNumber: Bool] = [:]

    public init(engine: IKEv2Engine, now: @escaping () -> Instant) {
        self.engine = engine
        self.now = now
    }

    public func configure(_ configuration: Configuration) {
        engine.policies = configuration.tunnels.filter { $0.enabled && $0.version == .v2 }.map { IKEv2Keying.policy($0) }
    }

    public func requestPhase1(_ request: PhaseRequest) -> [EngineReport] {
        wantsPhase2[request.tunnel] = false
        engine.initiate(tunnel: request.tunnel, policy: IKEv2Keying.policy(request.config), remote: request.remote, now: now())
        return []
    }

    public func requestPhase2(_ request: PhaseRequest) -> [EngineReport] {
        if let child = heldChildren.removeValue(forKey: request.tunnel) {
            return [.phase2Created(request.tunnel, child)]
        }
        wantsPhase2[request.tunnel] = true
        return []
    }

    public func rekey(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport] {
        engine.rekey(tunnel: tunnel, phase: phase.rawValue, now: now())
        return []
    }

    public func delete(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport] {
        heldChildren.removeValue(forKey: tunnel)
        if phase == .one { wantsPhase2.removeValue(forKey: tunnel) }
        engine.delete(tunnel: tunnel, phase: phase.rawValue, now: now())
        return []
    }

    /// The engine's output: datagrams and log lines for the driver, reports for the
    /// Tunnel Manager (a responder's new tunnel is numbered by `manager` at once).
    public func drain(into manager: TunnelManager, send: ([UInt8], Endpoint, Endpoint) -> Void, log: (LogLevel, String) -> Void) {
        while true {
            let outputs = engine.takeOutput()
            if outputs.isEmpty { return }
            for output in outputs {
                switch output {
                case let .send(bytes, from, to):
                    send(bytes, from, to)
                case let .keepalive(from, to):
                    send([0xff], from, to)
                case let .peerDead(tunnel):
                    heldChildren.removeValue(forKey: tunnel)
                    manager.handle(.peerDead(tunnel))
                case let .log(level, text):
                    log(level, text)
                case let .ikeEstablished(tunnel, sa):
                    manager.handle(.phase1Created(tunnel, IKEv2Keying.phase1(sa)))
                case let .childEstablished(tunnel, child):
                    if wantsPhase2[tunnel] == false {
                        heldChildren[tunnel] = IKEv2Keying.childSA(child)
                    } else {
                        manager.handle(.phase2Created(tunnel, IKEv2Keying.childSA(child)))
                    }
                case let .failed(tunnel, phase, reason):
                    manager.handle(phase == 1 ? .phase1Failed(tunnel, reason: reason) : .phase2Failed(tunnel, reason: reason))
                case let .responderEstablished(spi, name, sa, child):
                    if let number = manager.handle(.negotiated(tunnelName: name, IKEv2Keying.phase1(sa), IKEv2Keying.childSA(child))) {
                        engine.assign(tunnel: number, toSA: spi)
                    }
                case let .childRekeyed(tunnel, child):
                    if heldChildren[tunnel] != nil {
                        heldChildren[tunnel] = IKEv2Keying.childSA(child)
                    } else {
                        manager.handle(.phase2Rekeyed(tunnel, IKEv2Keying.childSA(child)))
                    }
                case let .ikeRekeyed(tunnel, sa):
                    manager.handle(.phase1Rekeyed(tunnel, IKEv2Keying.phase1(sa)))
                case let .deleted(tunnel, phase):
                    heldChildren.removeValue(forKey: tunnel)
                    manager.handle(.deleted(tunnel, phase == 1 ? .one : .two))
                }
            }
        }
    }

    static func policy(_ c: TunnelConfig) -> IKEv2Policy {
        var remote: IPAddress? = nil
        if case let .address(a) = c.remoteAddress { remote = a }
        var p = IKEv2Policy(
            name: c.name, localAddress: c.localAddress, remoteAddress: remote, localID: c.localID, remoteID: c.remoteID,
            psk: SecretBytes(Array((c.psk?.value ?? "").utf8)),
            ikeProposals: c.ikeProposals.map { algorithms($0) }, espProposals: c.espProposals.map { algorithms($0) },
            localSelectors: c.localSubnets.map { TrafficSelector($0) }, remoteSelectors: c.remoteSubnets.map { TrafficSelector($0) },
            transportMode: c.mode == .transport, ikeLifetimeSeconds: c.ikeLifetime, childLifetimeSeconds: c.lifetime)
        p.dpdDelaySeconds = c.dpdDelay
        return p
    }

    static func algorithms(_ p: Proposal) -> AlgorithmSet {
        AlgorithmSet(ciphers: p.ciphers, integrity: p.integrity, prfs: p.prfs, groups: p.groups)
    }

    static func phase1(_ sa: EstablishedIKESA) -> Phase1SA {
        Phase1SA(localAddress: sa.local.address, remoteAddress: sa.remote.address, localID: sa.localID, remoteID: sa.remoteID,
                 initiatorSPI: sa.initiatorSPI, responderSPI: sa.responderSPI, algorithms: sa.algorithms.description,
                 natTraversal: sa.natDetected, lifetimeSeconds: sa.lifetimeSeconds)
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
                mode: c.transportMode ? .transport : .tunnel, encapsulation: nil, lifetimeSeconds: c.lifetimeSeconds)
    }
}
