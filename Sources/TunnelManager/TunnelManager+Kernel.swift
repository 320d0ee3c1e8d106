import IKECore
import IKEWire
import Kernel
import UCI

/// Steps 6 and 7: SAs into the kernel, then the policies ("filter rules"); and their
/// removal. A failure part-way removes what the attempt installed, so the kernel never
/// holds half a tunnel.
extension TunnelManager {
    func install(_ number: TunnelNumber, _ p1: Phase1SA, _ child: ChildSA) {
        guard var t = table[number] else { return }
        let sas = securityAssociations(t, local: p1.localAddress, remote: p1.remoteAddress, child)
        var installed: [SAIdentifier] = []
        for sa in sas {
            do throws(KernelError) {
                try kernel.addSA(sa)
                installed.append(sa.id)
            } catch {
                for id in installed { try? kernel.deleteSA(id) }
                abandonPhase2(number, p1, step: 6, "kernel SA insertion failed: \(error)")
                return
            }
        }
        log.event(.tmd, "\(label(t)): SAs inserted into the kernel (\(kernel.name): spi in \(Hex.prefixed(child.inboundSPI)) out \(Hex.prefixed(child.outboundSPI)))")
        var inserted: [PolicyIdentifier] = []
        let installing = InstalledSAs(local: p1.localAddress, remote: p1.remoteAddress, child)
        for policy in policies(t, installing) {
            do throws(KernelError) {
                try kernel.addPolicy(policy)
                inserted.append(policy.id)
            } catch {
                for id in inserted { try? kernel.deletePolicy(id) }
                for id in installed { try? kernel.deleteSA(id) }
                abandonPhase2(number, p1, step: 7, "filter rule insertion failed: \(error)")
                return
            }
        }
        // The kernel holds the ESP keys now; the tunnel table keeps the SPIs, not them,
        // and what else the SAs are the engine holds.
        t.state = .established(installing)
        t.establishedAt = clock()
        table[number] = t
        log.event(.tmd, "\(label(t)): filter rules inserted (\(selectorText(installing)))")
    }

    /// A phase 2 that cannot be installed is deleted at the peer too.
    func abandonPhase2(_ number: TunnelNumber, _ p1: Phase1SA, step: Int, _ reason: String) {
        fail(number, step: step, phase1: p1, reason)
        guard let t = table[number] else { return }
        process(engine(for: t.config).delete(number, phase: .two))
    }

    func selectorText(_ sas: InstalledSAs) -> String {
        let local = sas.localSubnets.map { $0.description }.joined(separator: ",")
        let remote = sas.remoteSubnets.map { $0.description }.joined(separator: ",")
        return "\(local) <-> \(remote)"
    }

    /// The tunnel's reqid; a trap tunnel keeps its trap's, so that its SA also replaces
    /// the larval SA the kernel made for the packet that started it.
    func reqid(_ t: Tunnel) -> UInt32 {
        if waitsForTraffic(t.config), let trap = trapPolicy(t.config) { return trap.reqid }
        return TunnelManager.reqidBase + t.number
    }

    /// The tunnel whose SAs carry `reqid` and that `matches`: the tunnel numbered by it,
    /// or the one of the trap tunnel it names (by its place in the configuration).
    func tunnel(reqid: UInt32, where matches: (Tunnel) -> Bool) -> Tunnel? {
        guard TunnelManager.reqidRange.contains(reqid) else { return nil }
        if let t = table[reqid - TunnelManager.reqidBase], self.reqid(t) == reqid, matches(t) { return t }
        guard reqid >= TunnelManager.trapReqidBase else { return nil }
        let place = Int(reqid - TunnelManager.trapReqidBase)
        guard place < configuration.tunnels.count else { return nil }
        return table.first(named: configuration.tunnels[place].name, where: { self.reqid($0) == reqid && matches($0) })
    }

    func ipsecMode(_ t: Tunnel) -> IPsecMode {
        switch t.config.mode {
        case .tunnel: return .tunnel
        case .transport: return .transport
        }
    }

    /// The inbound SA first (so the peer's first packet finds it), then the outbound one.
    func securityAssociations(_ t: Tunnel, local: IPAddress, remote: IPAddress, _ child: ChildSA) -> [SecurityAssociation] {
        let hard = child.lifetimeSeconds
        let soft = hard - hard / 10
        // ESP in UDP: from the peer's port to ours inbound, from ours to the peer's outbound.
        let inward = child.encapsulation.map { (source: $0.remote, destination: $0.local) }
        let outward = child.encapsulation.map { (source: $0.local, destination: $0.remote) }
        var inbound = SecurityAssociation(
            id: SAIdentifier(destination: local, spi: child.inboundSPI), source: remote,
            reqid: reqid(t), mode: ipsecMode(t), cipher: child.cipher, integrity: child.integrity,
            encryptionKey: child.inbound.encryption, integrityKey: child.inbound.integrity,
            encapsulation: inward, softLifetimeSeconds: soft, hardLifetimeSeconds: hard)
        var outbound = SecurityAssociation(
            id: SAIdentifier(destination: remote, spi: child.outboundSPI), source: local,
            reqid: reqid(t), mode: ipsecMode(t), cipher: child.cipher, integrity: child.integrity,
            encryptionKey: child.outbound.encryption, integrityKey: child.outbound.integrity,
            encapsulation: outward, softLifetimeSeconds: soft, hardLifetimeSeconds: hard)
        inbound.extendedSequenceNumbers = child.extendedSequenceNumbers
        outbound.extendedSequenceNumbers = child.extendedSequenceNumbers
        return [inbound, outbound]
    }

    /// The identifiers of the SA pair `sas` names: inbound, then outbound.
    func saIdentifiers(_ sas: InstalledSAs) -> [SAIdentifier] {
        [SAIdentifier(destination: sas.localAddress, spi: sas.inboundSPI),
         SAIdentifier(destination: sas.remoteAddress, spi: sas.outboundSPI)]
    }

    /// For each local/remote selector pair: out (local to remote), in and fwd (remote to
    /// local), with the tunnel's endpoints as the template.
    func policies(_ t: Tunnel, _ sas: InstalledSAs) -> [Policy] {
        var out: [Policy] = []
        let remotes = sas.remoteSubnets
        for local in sas.localSubnets {
            for remote in remotes where local.address.isV4 == remote.address.isV4 {
                var outbound = Policy(id: PolicyIdentifier(source: local, destination: remote, direction: .outbound),
                                      templateSource: sas.localAddress, templateDestination: sas.remoteAddress,
                                      reqid: reqid(t), mode: ipsecMode(t), priority: 1000)
                outbound.replacesTrap = waitsForTraffic(t.config) && trapPolicy(t.config)?.id == outbound.id
                out.append(outbound)
                for direction in [PolicyDirection.inbound, .forward] {
                    if direction == .forward && t.config.mode == .transport { continue }
                    out.append(Policy(id: PolicyIdentifier(source: remote, destination: local, direction: direction),
                                      templateSource: sas.remoteAddress, templateDestination: sas.localAddress,
                                      reqid: reqid(t), mode: ipsecMode(t), priority: 1000))
                }
            }
        }
        return out
    }

    /// Removes a tunnel's policies, then its SAs; errors are logged, the rest goes on.
    func uninstall(_ t: Tunnel) {
        guard let sas = t.installed else { return }
        for policy in policies(t, sas) {
            do throws(KernelError) { try kernel.deletePolicy(policy.id) } catch {
                log.error(.tmd, "\(label(t)): removing filter rule \(policy.id): \(error)")
            }
        }
        for id in saIdentifiers(sas) {
            do throws(KernelError) { try kernel.deleteSA(id) } catch {
                log.error(.tmd, "\(label(t)): removing SA \(id): \(error)")
            }
        }
        log.event(.tmd, "\(label(t)): filter rules and SAs removed from the kernel")
    }
}
