import IKECore
import IKECrypto
import IKEWire

/// Our proposals on the wire, and the choice among a peer's (RFC 7296 §2.7, §3.3).
enum Proposals {
    /// SA payload proposals for `sets`, numbered from 1. `spi` is empty for an initial
    /// IKE SA, 8 bytes for an IKE rekey, 4 for ESP. ESP proposals carry the set's ESN choices; DH
    /// groups are left out when `withGroups` is false (a CHILD_SA inside IKE_AUTH).
    static func encode(_ sets: [AlgorithmSet], protocolID: UInt8, spi: [UInt8], withGroups: Bool = true) -> [ProposalPayload] {
        var out: [ProposalPayload] = []
        for (i, set) in sets.enumerated() {
            var t: [TransformPayload] = []
            for c in set.ciphers {
                t.append(TransformPayload(type: TransformType.encryption, id: c.algorithm.rawValue, keyLength: c.keyBits == 0 ? nil : c.keyBits))
            }
            if protocolID == SecurityProtocol.ike {
                for p in set.prfs { t.append(TransformPayload(type: TransformType.prf, id: p.rawValue)) }
            }
            for a in set.integrity { t.append(TransformPayload(type: TransformType.integrity, id: a.rawValue)) }
            if withGroups {
                for g in set.groups { t.append(TransformPayload(type: TransformType.dh, id: g.rawValue)) }
            }
            if protocolID == SecurityProtocol.esp {
                for e in set.esnIDs { t.append(TransformPayload(type: TransformType.esn, id: e)) }
            }
            out.append(ProposalPayload(number: UInt8(i + 1), protocolID: protocolID, spi: spi, transforms: t))
        }
        return out
    }

    /// The first of the peer's proposals (in its order of preference) that one of ours
    /// accepts, with one algorithm of each type. `requireGroup` for IKE SAs and PFS.
    static func select(from offered: [ProposalPayload], ours: [AlgorithmSet], protocolID: UInt8,
                       withGroups: Bool) -> (ProposalPayload, ChosenAlgorithms)? {
        for proposal in offered where proposal.protocolID == protocolID {
            for set in ours {
                if let chosen = match(proposal, set, protocolID: protocolID, withGroups: withGroups) {
                    return (proposal, chosen)
                }
            }
        }
        return nil
    }

    private static func match(_ p: ProposalPayload, _ set: AlgorithmSet, protocolID: UInt8, withGroups: Bool) -> ChosenAlgorithms? {
        var cipher: Cipher? = nil
        for t in p.transforms(ofType: TransformType.encryption) {
            let c = Cipher(EncryptionAlgorithm(rawValue: t.id), keyBits: t.keyLength ?? 0)
            if set.ciphers.contains(c) { cipher = c; break }
        }
        guard let cipher else { return nil }
        var integrity: IntegrityAlgorithm? = nil
        if !cipher.algorithm.isAEAD {
            for t in p.transforms(ofType: TransformType.integrity) where set.integrity.contains(IntegrityAlgorithm(rawValue: t.id)) {
                integrity = IntegrityAlgorithm(rawValue: t.id)
                break
            }
            guard integrity != nil else { return nil }
        }
        var prf: PseudorandomFunction? = nil
        if protocolID == SecurityProtocol.ike {
            for t in p.transforms(ofType: TransformType.prf) where set.prfs.contains(PseudorandomFunction(rawValue: t.id)) {
                prf = PseudorandomFunction(rawValue: t.id)
                break
            }
            guard prf != nil else { return nil }
        }
        var group: DHGroup? = nil
        let offeredGroups = p.transforms(ofType: TransformType.dh).map { DHGroup(rawValue: $0.id) }.filter { $0.rawValue != 0 }
        if withGroups && !set.groups.isEmpty {
            for g in offeredGroups where set.groups.contains(g) && KeyExchange.isSupported(g) {
                group = g
                break
            }
            guard group != nil else { return nil }
        } else if withGroups && !offeredGroups.isEmpty && protocolID == SecurityProtocol.esp {
            return nil  // the peer insists on PFS we are not configured for
        }
        var extended = false
        if protocolID == SecurityProtocol.esp {
            // No ESN transform at all means 32-bit sequence numbers.
            let offered = p.transforms(ofType: TransformType.esn).map { $0.id }
            guard let e = (offered.isEmpty ? [0] : offered).first(where: { set.esnIDs.contains($0) }) else { return nil }
            extended = e == 1
        }
        return ChosenAlgorithms(cipher: cipher, integrity: integrity, prf: prf, group: group, extendedSequenceNumbers: extended)
    }

    /// The groups our proposals accept, first preferred.
    static func groups(_ sets: [AlgorithmSet]) -> [DHGroup] {
        var out: [DHGroup] = []
        for s in sets { for g in s.groups where !out.contains(g) { out.append(g) } }
        return out
    }

    /// The responder's reply: the chosen proposal with one transform of each type.
    static func reply(_ proposal: ProposalPayload, _ chosen: ChosenAlgorithms, spi: [UInt8]) -> ProposalPayload {
        var t = [TransformPayload(type: TransformType.encryption, id: chosen.cipher.algorithm.rawValue,
                                  keyLength: chosen.cipher.keyBits == 0 ? nil : chosen.cipher.keyBits)]
        if let prf = chosen.prf { t.append(TransformPayload(type: TransformType.prf, id: prf.rawValue)) }
        if let i = chosen.integrity { t.append(TransformPayload(type: TransformType.integrity, id: i.rawValue)) }
        if let g = chosen.group { t.append(TransformPayload(type: TransformType.dh, id: g.rawValue)) }
        if proposal.protocolID == SecurityProtocol.esp {
            t.append(TransformPayload(type: TransformType.esn, id: chosen.extendedSequenceNumbers ? 1 : 0))
        }
        return ProposalPayload(number: proposal.number, protocolID: proposal.protocolID, spi: spi, transforms: t)
    }
}
