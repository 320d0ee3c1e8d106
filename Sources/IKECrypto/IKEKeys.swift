import IKEWire

/// The keys of an IKE SA (RFC 7296 §2.14):
///
///     SKEYSEED = prf(Ni | Nr, g^ir)
///     {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
///         = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
public struct IKEKeys {
    public let prf: PRF
    public let d: SecretBytes
    public let ai: SecretBytes?
    public let ar: SecretBytes?
    public let ei: SecretBytes
    public let er: SecretBytes
    public private(set) var pi: SecretBytes
    public private(set) var pr: SecretBytes

    /// SK_pi and SK_pr only serve IKE_AUTH: once it is done they go.
    public mutating func forgetAuthenticationKeys() {
        pi = .none
        pr = .none
    }

    public init(prf: PRF, cipher: Cipher, integrity: IntegrityAlgorithm?, sharedSecret: SecretBytes,
                nonceI: [UInt8], nonceR: [UInt8], spiI: UInt64, spiR: UInt64) throws(CryptoError) {
        let skeyseed = IKEKeys.skeyseed(prf: prf, sharedSecret: sharedSecret, nonceI: nonceI, nonceR: nonceR)
        try self.init(prf: prf, skeyseed: skeyseed, cipher: cipher, integrity: integrity, nonceI: nonceI, nonceR: nonceR,
                      spiI: spiI, spiR: spiR)
    }

    /// From SKEYSEED, for the initial exchange and, with the rekey's SKEYSEED, an IKE SA rekey.
    public init(prf: PRF, skeyseed: SecretBytes, cipher: Cipher, integrity: IntegrityAlgorithm?,
                nonceI: [UInt8], nonceR: [UInt8], spiI: UInt64, spiR: UInt64) throws(CryptoError) {
        guard let encryptionLength = MessageCipher.keyLength(cipher) else { throw .unsupported("cipher \(cipher)") }
        var integrityLength = 0
        if !cipher.algorithm.isAEAD {
            guard let integrity, let i = Integrity(integrity) else { throw .unsupported("AES-CBC without integrity") }
            integrityLength = i.keyLength
        }
        let seed = nonceI + nonceR + spiI.bigEndianBytes + spiR.bigEndianBytes
        let total = 3 * prf.length + 2 * integrityLength + 2 * encryptionLength
        let stream = prf.plus(key: skeyseed, seed: seed, count: total)
        var offset = 0
        func take(_ n: Int) -> SecretBytes {
            defer { offset += n }
            return stream.withBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
        }
        self.prf = prf
        d = take(prf.length)
        ai = integrityLength > 0 ? take(integrityLength) : nil
        ar = integrityLength > 0 ? take(integrityLength) : nil
        ei = take(encryptionLength)
        er = take(encryptionLength)
        pi = take(prf.length)
        pr = take(prf.length)
    }

    /// SKEYSEED for the initial exchange: prf(Ni | Nr, g^ir).
    public static func skeyseed(prf: PRF, sharedSecret: SecretBytes, nonceI: [UInt8], nonceR: [UInt8]) -> SecretBytes {
        let key = SecretBytes(nonceI + nonceR)
        return SecretBytes(sharedSecret.withBytes { s in key.withBytes { prf.compute(key: $0, data: s) } })
    }

    /// KEYMAT for a CHILD_SA (RFC 7296 §2.17): prf+(SK_d, [g^ir (new) |] Ni | Nr).
    public func childKeyMaterial(sharedSecret: SecretBytes?, nonceI: [UInt8], nonceR: [UInt8], count: Int) -> SecretBytes {
        var seed: [UInt8] = sharedSecret?.withBytes { Array($0) } ?? []
        seed += nonceI + nonceR
        defer { wipe(&seed) }
        return prf.plus(key: d, seed: seed, count: count)
    }
}
