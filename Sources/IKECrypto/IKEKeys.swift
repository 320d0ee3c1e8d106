import IKEWire

/// The keys of an IKE SA (RFC 7296 §2.14):
///
///     SKEYSEED = prf(Ni | Nr, g^ir)
///     {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
///         = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
public struct IKEKeys {
    public let prf: PRF
    public let d: SecretBytes
    /// SK_ei and SK_ai, and SK_er and SK_ar, each pair held by the cipher that uses it.
    public let initiatorCipher: MessageCipher
    public let responderCipher: MessageCipher
    /// SK_pi and SK_pr, held apart: an established SA holds a nil pointer for them
    /// rather than two.
    @HeldApart private var authentication: (pi: SecretBytes, pr: SecretBytes)?

    public var pi: SecretBytes { authentication?.pi ?? .none }
    public var pr: SecretBytes { authentication?.pr ?? .none }

    public var ai: SecretBytes? { initiatorCipher.integrityKey }
    public var ar: SecretBytes? { responderCipher.integrityKey }
    public var ei: SecretBytes { initiatorCipher.encryptionKey }
    public var er: SecretBytes { responderCipher.encryptionKey }

    /// SK_pi and SK_pr only serve IKE_AUTH: once it is done they go.
    public mutating func forgetAuthenticationKeys() {
        authentication = nil
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
        let ai = integrityLength > 0 ? take(integrityLength) : nil
        let ar = integrityLength > 0 ? take(integrityLength) : nil
        let ei = take(encryptionLength)
        let er = take(encryptionLength)
        let pi = take(prf.length)
        authentication = (pi, take(prf.length))
        initiatorCipher = try MessageCipher(cipher: cipher, integrity: integrity, encryptionKey: ei, integrityKey: ai)
        responderCipher = try MessageCipher(cipher: cipher, integrity: integrity, encryptionKey: er, integrityKey: ar)
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
