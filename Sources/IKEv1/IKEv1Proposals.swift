import IKECore
import IKECrypto
import IKEWire

/// What phase 1 settled on: the algorithms, the authentication method and the lifetime.
struct Phase1Choice: Equatable {
    var algorithms: ChosenAlgorithms
    /// Pre-shared key (1), RSA (3) or ECDSA (9-11) signatures.
    var authentication: UInt16
    var lifetimeSeconds: UInt32
    var hash: PRF { PRF(algorithms.prf!)! }
}

/// What a Quick Mode settled on for the IPsec SAs.
struct Phase2Choice: Equatable {
    var algorithms: ChosenAlgorithms
    var lifetimeSeconds: UInt32
    var mode: UInt16
}

/// IKEv1 SA payloads (RFC 2409 Appendix A, RFC 2407 §4.5): every combination of a
/// proposal's algorithms is one transform, with its attributes, and a responder picks
/// one transform and returns it unchanged.
enum IKEv1Proposals {
    // MARK: Numbers

    static func hashNumber(_ prf: PseudorandomFunction) -> UInt16? {
        switch prf {
        case .hmacSHA1: return IKEv1Number.hashSHA1
        case .hmacSHA2_256: return IKEv1Number.hashSHA2_256
        case .hmacSHA2_384: return IKEv1Number.hashSHA2_384
        case .hmacSHA2_512: return IKEv1Number.hashSHA2_512
        default: return nil
        }
    }

    static func prf(hashNumber: UInt16) -> PseudorandomFunction? {
        for p in [PseudorandomFunction.hmacSHA1, .hmacSHA2_256, .hmacSHA2_384, .hmacSHA2_512] where IKEv1Proposals.hashNumber(p) == hashNumber { return p }
        return nil
    }

    static func authNumber(_ i: IntegrityAlgorithm) -> UInt16? {
        switch i {
        case .hmacSHA1_96: return IKEv1Number.authHMACSHA1
        case .hmacSHA2_256_128: return IKEv1Number.authHMACSHA2_256
        case .hmacSHA2_384_192: return IKEv1Number.authHMACSHA2_384
        case .hmacSHA2_512_256: return IKEv1Number.authHMACSHA2_512
        default: return nil
        }
    }

    static func integrity(authNumber: UInt16) -> IntegrityAlgorithm? {
        for i in [IntegrityAlgorithm.hmacSHA1_96, .hmacSHA2_256_128, .hmacSHA2_384_192, .hmacSHA2_512_256] where IKEv1Proposals.authNumber(i) == authNumber { return i }
        return nil
    }

    static func espTransformID(_ c: Cipher) -> UInt8? {
        switch c.algorithm {
        case .aesCBC: return IKEv1Number.espAESCBC
        case .aesGCM16: return IKEv1Number.espAESGCM16
        default: return nil
        }
    }

    /// Phase 1 takes AES-CBC only (IKEv1 has no AEAD for its own messages).
    static func phase1Usable(_ c: Cipher) -> Bool { c.algorithm == .aesCBC && (c.keyBits == 128 || c.keyBits == 256) }

    // MARK: Phase 1

    /// Our phase 1 offer: one proposal (ISAKMP, KEY_IKE transforms) with our
    /// authentication method in every transform.
    static func phase1(_ sets: [AlgorithmSet], authentication: UInt16, lifetime: UInt32) -> ISAKMPSecurityAssociation {
        var transforms: [ISAKMPTransform] = []
        for set in sets {
            for c in set.ciphers where phase1Usable(c) {
                for p in set.prfs {
                    guard let hash = hashNumber(p) else { continue }
                    for g in set.groups where KeyExchange.isSupported(g) {
                        guard transforms.count < ISAKMPProposal.maxTransforms else { break }
                        transforms.append(ISAKMPTransform(number: UInt8(transforms.count + 1), id: IKEv1Number.keyIKE, attributes: [
                            .basic(IKEv1Number.Phase1.encryption, IKEv1Number.encryptionAESCBC),
                            .basic(IKEv1Number.Phase1.keyLength, c.keyBits),
                            .basic(IKEv1Number.Phase1.hash, hash),
                            .basic(IKEv1Number.Phase1.authentication, authentication),
                            .basic(IKEv1Number.Phase1.group, g.rawValue),
                            .basic(IKEv1Number.Phase1.lifeType, IKEv1Number.lifeSeconds),
                            .number(IKEv1Number.Phase1.lifeDuration, lifetime),
                        ]))
                    }
                }
            }
        }
        return ISAKMPSecurityAssociation(proposals: [ISAKMPProposal(number: 1, protocolID: IKEv1Number.protocolISAKMP, spi: [], transforms: transforms)])
    }

    /// What a phase 1 transform says, nil when it is not one we could use at all.
    static func phase1Choice(_ t: ISAKMPTransform) -> Phase1Choice? {
        guard t.id == IKEv1Number.keyIKE,
              t.attribute(IKEv1Number.Phase1.encryption)?.integer == UInt64(IKEv1Number.encryptionAESCBC),
              let authentication = t.attribute(IKEv1Number.Phase1.authentication)?.integer, authentication <= 0xffff,
              let keyBits = t.attribute(IKEv1Number.Phase1.keyLength)?.integer, keyBits == 128 || keyBits == 256,
              let hash = t.attribute(IKEv1Number.Phase1.hash)?.integer, let prf = prf(hashNumber: UInt16(truncatingIfNeeded: hash)),
              let group = t.attribute(IKEv1Number.Phase1.group)?.integer, group <= 0xffff else { return nil }
        let lifetime = seconds(t, type: IKEv1Number.Phase1.lifeType, duration: IKEv1Number.Phase1.lifeDuration)
        let algorithms = ChosenAlgorithms(cipher: Cipher(.aesCBC, keyBits: UInt16(keyBits)), integrity: nil, prf: prf,
                                          group: DHGroup(rawValue: UInt16(group)))
        return Phase1Choice(algorithms: algorithms, authentication: UInt16(authentication), lifetimeSeconds: lifetime)
    }

    /// The responder's pick: the first of the peer's transforms with our authentication
    /// method that one of our sets allows, and the transform to return.
    static func selectPhase1(_ offered: ISAKMPSecurityAssociation, ours: [AlgorithmSet], authentication: UInt16) -> (ISAKMPTransform, Phase1Choice)? {
        for proposal in offered.proposals where proposal.protocolID == IKEv1Number.protocolISAKMP {
            for t in proposal.transforms {
                guard let choice = phase1Choice(t), choice.authentication == authentication, let group = choice.algorithms.group,
                      KeyExchange.isSupported(group) else { continue }
                let a = choice.algorithms
                if ours.contains(where: { $0.ciphers.contains(a.cipher) && $0.prfs.contains(a.prf!) && $0.groups.contains(group) }) {
                    return (t, choice)
                }
            }
        }
        return nil
    }

    // MARK: Phase 2

    /// Our Quick Mode offer: one ESP proposal with our inbound SPI. `group` (PFS) goes into
    /// every transform; `mode` is the encapsulation mode (UDP-encapsulated behind a NAT).
    static func phase2(_ sets: [AlgorithmSet], spi: UInt32, group: DHGroup?, mode: UInt16, lifetime: UInt32) -> ISAKMPSecurityAssociation {
        var transforms: [ISAKMPTransform] = []
        for set in sets {
            for c in set.ciphers {
                guard let id = espTransformID(c) else { continue }
                let integrities: [IntegrityAlgorithm?] = c.algorithm.isAEAD ? [nil] : set.integrity.map { $0 }
                for i in integrities {
                    for esn in set.esnIDs {
                        var attributes: [ISAKMPAttribute] = [
                            .basic(IKEv1Number.Phase2.lifeType, IKEv1Number.lifeSeconds),
                            .number(IKEv1Number.Phase2.lifeDuration, lifetime),
                            .basic(IKEv1Number.Phase2.encapsulationMode, mode),
                        ]
                        if let i, let n = authNumber(i) { attributes.append(.basic(IKEv1Number.Phase2.authentication, n)) }
                        attributes.append(.basic(IKEv1Number.Phase2.keyLength, c.keyBits))
                        if let group { attributes.append(.basic(IKEv1Number.Phase2.group, group.rawValue)) }
                        if esn == 1 { attributes.append(.basic(IKEv1Number.Phase2.extendedSequenceNumbers, 1)) }
                        guard transforms.count < ISAKMPProposal.maxTransforms else { break }
                        transforms.append(ISAKMPTransform(number: UInt8(transforms.count + 1), id: id, attributes: attributes))
                    }
                }
            }
        }
        return ISAKMPSecurityAssociation(proposals: [ISAKMPProposal(number: 1, protocolID: IKEv1Number.protocolESP,
                                                                    spi: spi.bigEndianBytes, transforms: transforms)])
    }

    static func phase2Choice(_ t: ISAKMPTransform) -> Phase2Choice? {
        let cipher: Cipher
        let keyBits = t.attribute(IKEv1Number.Phase2.keyLength)?.integer ?? 0
        guard keyBits == 128 || keyBits == 256 else { return nil }
        switch t.id {
        case IKEv1Number.espAESCBC: cipher = Cipher(.aesCBC, keyBits: UInt16(keyBits))
        case IKEv1Number.espAESGCM16: cipher = Cipher(.aesGCM16, keyBits: UInt16(keyBits))
        default: return nil
        }
        var integrity: IntegrityAlgorithm? = nil
        if let n = t.attribute(IKEv1Number.Phase2.authentication)?.integer {
            guard let i = IKEv1Proposals.integrity(authNumber: UInt16(truncatingIfNeeded: n)) else { return nil }
            integrity = i
        }
        guard cipher.algorithm.isAEAD == (integrity == nil) else { return nil }
        let group = t.attribute(IKEv1Number.Phase2.group)?.integer.map { DHGroup(rawValue: UInt16(truncatingIfNeeded: $0)) }
        let mode = UInt16(truncatingIfNeeded: t.attribute(IKEv1Number.Phase2.encapsulationMode)?.integer ?? UInt64(IKEv1Number.modeTunnel))
        let lifetime = seconds(t, type: IKEv1Number.Phase2.lifeType, duration: IKEv1Number.Phase2.lifeDuration)
        let esn = t.attribute(IKEv1Number.Phase2.extendedSequenceNumbers)?.integer == 1
        return Phase2Choice(algorithms: ChosenAlgorithms(cipher: cipher, integrity: integrity, prf: nil, group: group, extendedSequenceNumbers: esn),
                            lifetimeSeconds: lifetime, mode: mode)
    }

    /// The responder's pick among ESP proposals: the transform to return with the peer's
    /// SPI. `modes` are the encapsulation modes we accept; `pfs` whether the peer sent KE.
    static func selectPhase2(_ offered: ISAKMPSecurityAssociation, ours: [AlgorithmSet], modes: [UInt16])
        -> (proposal: ISAKMPProposal, transform: ISAKMPTransform, choice: Phase2Choice)? {
        for proposal in offered.proposals where proposal.protocolID == IKEv1Number.protocolESP && proposal.spi.count == 4 {
            for t in proposal.transforms {
                guard let choice = phase2Choice(t), modes.contains(choice.mode) else { continue }
                let a = choice.algorithms
                let esn: UInt16 = a.extendedSequenceNumbers ? 1 : 0
                let fits = ours.contains { set in
                    guard set.ciphers.contains(a.cipher), set.esnIDs.contains(esn) else { return false }
                    if let i = a.integrity, !set.integrity.contains(i) { return false }
                    if let g = a.group { return set.groups.contains(g) && KeyExchange.isSupported(g) }
                    return set.groups.isEmpty
                }
                if fits { return (proposal, t, choice) }
            }
        }
        return nil
    }

    /// The lifetime in seconds a transform gives, 0 when none: each life type attribute
    /// applies to the duration after it (RFC 2409 Appendix A, RFC 2407 §4.5), so seconds
    /// and kilobytes may both be there; kilobyte lifetimes are accepted and not enforced.
    static func seconds(_ t: ISAKMPTransform, type: UInt16, duration: UInt16) -> UInt32 {
        var inSeconds = true
        var result: UInt32 = 0
        for a in t.attributes {
            if a.type == type { inSeconds = a.integer == UInt64(IKEv1Number.lifeSeconds) }
            if a.type == duration, inSeconds, let d = a.integer { result = UInt32(truncatingIfNeeded: min(d, UInt64(UInt32.max))) }
        }
        return result
    }

}
