import IKEWire

/// The ISAKMP SA's keys (RFC 2409 §5, Appendix B):
///
///     SKEYID   = prf(pre-shared-key, Ni_b | Nr_b)      with pre-shared keys
///     SKEYID   = prf(Ni_b | Nr_b, g^xy)                with signatures
///     SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
///     SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
///     SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
///
/// The encryption key is SKEYID_e's first bytes, or, when SKEYID_e is too short,
/// K1 | K2 | ... with K1 = prf(SKEYID_e, 0) and Kn = prf(SKEYID_e, Kn-1).
public struct IKEv1Keys {
    public let prf: PRF
    public private(set) var skeyid: SecretBytes
    public let d: SecretBytes
    public let a: SecretBytes
    public private(set) var e: SecretBytes
    public let encryption: SecretBytes
    /// The prf of HASH_I and HASH_R: the negotiated one, or for ECDSA signatures the
    /// curve's HMAC-SHA2 (RFC 4754: SHA-256, -384, -512 with P-256, -384, -521).
    public let authenticationPRF: PRF

    /// `psk` nil: signature authentication.
    public init(prf: PRF, psk: SecretBytes?, nonceI: [UInt8], nonceR: [UInt8], sharedSecret: SecretBytes,
                cookieI: UInt64, cookieR: UInt64, encryptionKeyLength: Int, authenticationPRF: PRF? = nil) {
        self.prf = prf
        self.authenticationPRF = authenticationPRF ?? prf
        let skeyid: SecretBytes
        if let psk {
            var nonces = nonceI + nonceR
            skeyid = prf.secret(key: psk, wiping: &nonces)
        } else {
            var gxy = keyInput([sharedSecret], then: [])
            skeyid = prf.secret(key: SecretBytes(nonceI + nonceR), wiping: &gxy)
        }
        let cookies = cookieI.bigEndianBytes + cookieR.bigEndianBytes
        // SKEYID_d, _a, _e: each prf(SKEYID, the previous one | g^xy | CKY-I | CKY-R | n).
        func next(_ previous: SecretBytes?, _ n: UInt8) -> SecretBytes {
            var data = keyInput((previous.map { [$0] } ?? []) + [sharedSecret], then: cookies + [n])
            return prf.secret(key: skeyid, wiping: &data)
        }
        let d = next(nil, 0), a = next(d, 1), e = next(a, 2)
        self.skeyid = skeyid
        self.d = d
        self.a = a
        self.e = e
        encryption = IKEv1Keys.expand(prf, e, count: encryptionKeyLength)
    }

    /// SKEYID serves HASH_I and HASH_R, SKEYID_e the encryption key: once phase 1 is
    /// done they go (the Quick Modes need SKEYID_d and SKEYID_a).
    public mutating func forgetPhase1Keys() {
        skeyid = .none
        e = .none
    }

    /// Appendix B's expansion of SKEYID_e to `count` bytes.
    static func expand(_ prf: PRF, _ e: SecretBytes, count: Int) -> SecretBytes {
        if e.count >= count { return e.withBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0..<count])) } }
        var out: [UInt8] = []
        out.reserveCapacity(count + prf.length)
        var k: [UInt8] = [0]
        while out.count < count {
            let block = prf.compute(key: e, data: k)
            wipe(&k)
            k = block
            out += k
        }
        wipe(&k)
        return SecretBytes(wiping: &out, count: count)
    }

    /// The first IV of the exchange: hash(g^xi | g^xr), cut to the block size.
    public func initialIV(gxi: [UInt8], gxr: [UInt8], blockSize: Int) -> [UInt8] {
        Array(prf.hash(gxi + gxr)[0..<blockSize])
    }

    /// The first IV of a Quick Mode or Informational exchange: hash(the last CBC block
    /// of phase 1 | M-ID), cut to the block size.
    public func exchangeIV(phase1LastBlock: [UInt8], messageID: UInt32, blockSize: Int) -> [UInt8] {
        Array(prf.hash(phase1LastBlock + messageID.bigEndianBytes)[0..<blockSize])
    }

    /// HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b), and HASH_R
    /// with the values of each pair swapped and IDir_b (§5).
    public func phase1Hash(initiator: Bool, gxi: [UInt8], gxr: [UInt8], cookieI: UInt64, cookieR: UInt64,
                           saBody: [UInt8], idBody: [UInt8]) -> [UInt8] {
        let ci = cookieI.bigEndianBytes, cr = cookieR.bigEndianBytes
        let data = initiator ? gxi + gxr + ci + cr : gxr + gxi + cr + ci
        return authenticationPRF.compute(key: skeyid, data: data + saBody + idBody)
    }

    /// prf(SKEYID_a, data): HASH(1), HASH(2), HASH(3) of Quick Mode and the HASH of
    /// Informational exchanges (§5.5, §5.7); the caller lays out `data`.
    public func authenticate(_ data: [UInt8]) -> [UInt8] { prf.compute(key: a, data: data) }

    /// KEYMAT for one direction's SA (§5.5): prf(SKEYID_d, [g(qm)^xy |] protocol | SPI |
    /// Ni_b | Nr_b), expanded as K1 | K2 | ... with Kn = prf(SKEYID_d, Kn-1 | that seed).
    /// `spi` is the SPI the receiving side chose.
    public func keyMaterial(sharedSecret: SecretBytes?, protocolID: UInt8, spi: UInt32, nonceI: [UInt8], nonceR: [UInt8],
                            count: Int) -> SecretBytes {
        var seed = keyInput(sharedSecret.map { [$0] } ?? [], then: [protocolID] + spi.bigEndianBytes + nonceI + nonceR)
        var out: [UInt8] = []
        out.reserveCapacity(count + prf.length)
        var k: [UInt8] = []
        var input: [UInt8] = []
        input.reserveCapacity(prf.length + seed.count)
        while out.count < count {
            input += k
            input += seed
            wipe(&k)
            k = prf.compute(key: d, data: input)
            wipe(&input)
            input.removeAll(keepingCapacity: true)
            out += k
        }
        wipe(&k)
        wipe(&seed)
        return SecretBytes(wiping: &out, count: count)
    }

}
