import IKEWire

/// The keys of an IKE SA (RFC 7296 §2.14):
///
///     SKEYSEED = prf(Ni | Nr, g^ir)
///     {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
///         = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
public struct IKEKeys {
    public let prf: PRF
    /// SK_d | SK_ai | SK_ar | SK_ei | SK_er, one allocation for the SA's life (three, of
    /// 64 bytes each with AES-GCM, when each key was its own); the message ciphers are
    /// views of it.
    private let material: SecretBytes
    private let cipher: Cipher
    private let integrity: IntegrityAlgorithm?
    private let integrityLength: UInt8
    /// SK_pi and SK_pr, held apart: an established SA holds a nil pointer for them
    /// rather than two.
    @HeldApart private var authentication: (pi: SecretBytes, pr: SecretBytes)?

    public var pi: SecretBytes { authentication?.pi ?? .none }
    public var pr: SecretBytes { authentication?.pr ?? .none }

    private var dLength: Int { prf.length }
    private var encryptionLength: Int { MessageCipher.keyLength(cipher)! }
    private func integrityRange(initiator: Bool) -> Range<Int> {
        let start = dLength + (initiator ? 0 : Int(integrityLength))
        return start..<(start + Int(integrityLength))
    }
    private func encryptionRange(initiator: Bool) -> Range<Int> {
        let start = dLength + 2 * Int(integrityLength) + (initiator ? 0 : encryptionLength)
        return start..<(start + encryptionLength)
    }

    /// SK_ei and SK_ai, and SK_er and SK_ar, as the ciphers that use them.
    public var initiatorCipher: MessageCipher {
        MessageCipher(unchecked: cipher, integrity, material, encryptionRange(initiator: true), integrityRange(initiator: true))
    }
    public var responderCipher: MessageCipher {
        MessageCipher(unchecked: cipher, integrity, material, encryptionRange(initiator: false), integrityRange(initiator: false))
    }

    /// Each key as keys of its own (SK_d for a rekey's SKEYSEED; tests).
    public var d: SecretBytes { material.copy(0..<dLength) }
    public var ai: SecretBytes? { integrityLength == 0 ? nil : material.copy(integrityRange(initiator: true)) }
    public var ar: SecretBytes? { integrityLength == 0 ? nil : material.copy(integrityRange(initiator: false)) }
    public var ei: SecretBytes { material.copy(encryptionRange(initiator: true)) }
    public var er: SecretBytes { material.copy(encryptionRange(initiator: false)) }

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
        let kept = prf.length + 2 * integrityLength + 2 * encryptionLength
        let stream = prf.plus(key: skeyseed, seed: seed, count: kept + 2 * prf.length)
        self.prf = prf
        self.cipher = cipher
        self.integrity = cipher.algorithm.isAEAD ? nil : integrity
        self.integrityLength = UInt8(integrityLength)
        material = stream.copy(0..<kept)
        authentication = (stream.copy(kept..<(kept + prf.length)), stream.copy((kept + prf.length)..<(kept + 2 * prf.length)))
        // Both ciphers checked once, here; the views made later are not.
        _ = try MessageCipher(cipher: cipher, integrity: integrity, keys: material, encryption: encryptionRange(initiator: true),
                              integrity: integrityRange(initiator: true))
    }

    /// SKEYSEED for the initial exchange: prf(Ni | Nr, g^ir).
    public static func skeyseed(prf: PRF, sharedSecret: SecretBytes, nonceI: [UInt8], nonceR: [UInt8]) -> SecretBytes {
        let key = SecretBytes(nonceI + nonceR)
        var out = sharedSecret.withBytes { s in key.withBytes { prf.compute(key: $0, data: s) } }
        return SecretBytes(wiping: &out)
    }

    /// KEYMAT for a CHILD_SA (RFC 7296 §2.17): prf+(SK_d, [g^ir (new) |] Ni | Nr).
    public func childKeyMaterial(sharedSecret: SecretBytes?, nonceI: [UInt8], nonceR: [UInt8], count: Int) -> SecretBytes {
        var seed = keyInput(sharedSecret.map { [$0] } ?? [], then: nonceI + nonceR)
        defer { wipe(&seed) }
        return prf.plus(key: d, seed: seed, count: count)
    }
}
