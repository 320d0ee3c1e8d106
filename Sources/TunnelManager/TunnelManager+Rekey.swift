import IKECore
import IKEWire
import Kernel

/// Rekeys: the engine negotiates new SAs, the kernel gets the new pair before the old
/// pair goes, and the policies (tied to the reqid) stay.
extension TunnelManager {
    /// `ike cmd=rekey`: asks the engines to rekey the selected tunnels' phase (default 2).
    public func rekey(_ selection: Selection, phase: Phase?) -> Result<[TunnelNumber], TunnelError> {
        var numbers: [TunnelNumber] = []
        for number in selection.numbers {
            guard table[number] != nil else { return .failure(TunnelError("no tunnel number \(number); see ike cmd=list")) }
            numbers.append(number)
        }
        for name in selection.names {
            let matching = tunnels.filter { $0.name == name }.map { $0.number }
            guard !matching.isEmpty else { return .failure(TunnelError("no tunnel named '\(name)' is in the table; see ike cmd=list")) }
            numbers += matching
        }
        guard !numbers.isEmpty else { return .failure(TunnelError("say which tunnels: numlist= or namelist=")) }
        for number in numbers {
            guard let t = table[number] else { continue }
            let p = phase ?? .two
            guard p == .one ? t.hasPhase1 : t.isEstablished else {
                return .failure(TunnelError("tunnel \(number) '\(t.name)' has no active phase \(p) to rekey"))
            }
        }
        for number in numbers {
            guard let t = table[number] else { continue }
            log.event(.tmd, "\(label(t)): phase \(phase ?? .two) rekey requested")
            process(engine(for: t.config).rekey(number, phase: phase ?? .two))
        }
        return .success(numbers)
    }

    func phase1Rekeyed(_ number: TunnelNumber, _ sa: Phase1SA) {
        guard var t = table[number] else { return }
        switch t.state {
        case .phase1Active: t.state = .phase1Active(sa)
        case .phase2Negotiating: t.state = .phase2Negotiating(sa)
        case .established: break  // the engine holds its phase 1 SA
        case let .failed(old, step, reason): t.state = .failed(old == nil ? nil : sa, step: step, reason: reason)
        case .phase1Negotiating: return
        }
        table[number] = t
        log.event(.tmd, "\(label(t)): phase 1 rekeyed (spi i \(Hex.prefixed(sa.initiatorSPI)) r \(Hex.prefixed(sa.responderSPI)))")
    }

    func phase2Rekeyed(_ number: TunnelNumber, _ child: ChildSA) {
        if adoptPhase2(number, child) { return }
        guard var t = table[number], case let .established(old) = t.state else { return }
        var installed: [SAIdentifier] = []
        for sa in securityAssociations(t, local: old.localAddress, remote: old.remoteAddress, child) {
            do throws(KernelError) {
                try kernel.addSA(sa)
                installed.append(sa.id)
            } catch {
                for id in installed { try? kernel.deleteSA(id) }
                log.error(.tmd, "\(label(t)): phase 2 rekey: kernel SA insertion failed: \(error); the old SAs stay")
                return
            }
        }
        for id in saIdentifiers(old) {
            do throws(KernelError) { try kernel.deleteSA(id) } catch {
                log.error(.tmd, "\(label(t)): removing the rekeyed SA \(id): \(error)")
            }
        }
        t.state = .established(InstalledSAs(local: old.localAddress, remote: old.remoteAddress, child))
        table[number] = t
        log.event(.tmd, "\(label(t)): phase 2 rekeyed, SAs replaced in the kernel (spi in \(Hex.prefixed(child.inboundSPI)) out \(Hex.prefixed(child.outboundSPI)))")
    }

    /// The peer deleted the tunnel's phase 2 (its rekey crossed ours, say) and then set up
    /// a new one on the same phase 1: that is the tunnel's phase 2 again. So is one the
    /// engine made after the tunnel failed with its phase 1 still up (a Quick Mode on an
    /// ISAKMP SA the peer did not have, then one of the peer's on the SA it has): the
    /// tunnel is up again where the peer's is, not Failed here and Active there.
    /// False: the tunnel is not waiting for one (it negotiates, or is up).
    func adoptPhase2(_ number: TunnelNumber, _ child: ChildSA) -> Bool {
        guard var t = table[number] else { return false }
        let p1: Phase1SA, how: String
        switch t.state {
        case let .phase1Active(sa): (p1, how) = (sa, "created by the peer")
        case .failed:
            guard let sa = engine(for: t.config).sas(of: number)?.phase1 else { return false }
            (p1, how) = (sa, "created after the failure; the tunnel is up again")
            t.nextAttempt = nil
        case .phase1Negotiating, .phase2Negotiating, .established: return false
        }
        t.wantsPhase2 = true
        table[number] = t
        log.event(.tmd, "\(label(t)): phase 2 SA \(how) (\(child.cipher), spi in \(Hex.prefixed(child.inboundSPI)) out \(Hex.prefixed(child.outboundSPI)))")
        install(number, p1, child)
        return true
    }
}
