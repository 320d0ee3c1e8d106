import COpenSSL
import IKEWire

/// The protection of an Encrypted (SK) payload (RFC 7296 §3.14) with one direction's
/// keys: AES-CBC with an HMAC ICV, or an AEAD cipher, AES-GCM with a 16-octet ICV
/// (RFC 5282) or ChaCha20-Poly1305 (RFC 7634), whose 4-octet salt ends the key.
public struct MessageCipher {
    public let cipher: Cipher
    /// CBC's integrity algorithm (nil for AEAD); the HMAC and the OpenSSL cipher are
    /// looked up from the algorithms when used rather than stored.
    private let integrityAlgorithm: IntegrityAlgorithm?
    /// The key bytes, where they are (an IKE SA's keys are one allocation, `IKEKeys`):
    /// the encryption key (with the salt for AEAD ciphers), then, at its own offset, the
    /// integrity key (count 0 for AEAD).
    private let keys: SecretBytes
    private let encryptionOffset: UInt8, integrityOffset: UInt8, integrityCount: UInt8

    /// Key bytes for `cipher` (with the salt for AEAD ciphers): SK_ei / SK_er length.
    public static func keyLength(_ cipher: Cipher) -> Int? {
        switch cipher.algorithm {
        case .aesCBC: return cipher.keyBits == 128 || cipher.keyBits == 256 ? Int(cipher.keyBits) / 8 : nil
        case .aesGCM16: return cipher.keyBits == 128 || cipher.keyBits == 256 ? Int(cipher.keyBits) / 8 + 4 : nil
        case .chacha20Poly1305: return 36
        default: return nil
        }
    }

    public init(cipher: Cipher, integrity: IntegrityAlgorithm?, encryptionKey: SecretBytes, integrityKey: SecretBytes?) throws(CryptoError) {
        // Both keys in one allocation; the bytes copied on the way are wiped.
        var joined: [UInt8] = []
        joined.reserveCapacity(encryptionKey.count + (integrityKey?.count ?? 0))
        encryptionKey.withBytes { joined.append(contentsOf: $0) }
        integrityKey?.withBytes { joined.append(contentsOf: $0) }
        let both = SecretBytes(joined)
        wipe(&joined)
        try self.init(cipher: cipher, integrity: integrity, keys: both, encryption: 0..<encryptionKey.count,
                      integrity: encryptionKey.count..<both.count)
    }

    /// The keys at `encryption` and `integrity` (empty for AEAD) in `keys`, checked.
    init(cipher: Cipher, integrity: IntegrityAlgorithm?, keys: SecretBytes, encryption: Range<Int>, integrity integrityRange: Range<Int>) throws(CryptoError) {
        guard let length = MessageCipher.keyLength(cipher), encryption.count == length else {
            throw .unsupported("cipher \(cipher) with a \(encryption.count)-byte key")
        }
        if cipher.algorithm.isAEAD {
            self.init(unchecked: cipher, nil, keys, encryption, integrityRange.lowerBound..<integrityRange.lowerBound)
        } else {
            guard let integrity, let i = Integrity(integrity), integrityRange.count == i.keyLength else {
                throw .unsupported("AES-CBC needs an integrity algorithm and key")
            }
            self.init(unchecked: cipher, integrity, keys, encryption, integrityRange)
        }
    }

    /// Keys `IKEKeys` checked when it made them.
    init(unchecked cipher: Cipher, _ integrity: IntegrityAlgorithm?, _ keys: SecretBytes, _ encryption: Range<Int>, _ integrityRange: Range<Int>) {
        self.cipher = cipher
        self.integrityAlgorithm = cipher.algorithm.isAEAD ? nil : integrity
        self.keys = keys
        encryptionOffset = UInt8(encryption.lowerBound)
        integrityOffset = UInt8(integrityRange.lowerBound)
        integrityCount = UInt8(integrityRange.count)
    }

    private var encryptionRange: Range<Int> {
        Int(encryptionOffset)..<(Int(encryptionOffset) + MessageCipher.keyLength(cipher)!)
    }
    private var integrityRange: Range<Int> { Int(integrityOffset)..<(Int(integrityOffset) + Int(integrityCount)) }

    /// The keys as keys of their own (tests, and the IKE SA's `ei`, `ai`...).
    public var encryptionKey: SecretBytes { keys.copy(encryptionRange) }
    public var integrityKey: SecretBytes? { integrityAlgorithm == nil ? nil : keys.copy(integrityRange) }

    /// OpenSSL's cipher (fetched once, at start).
    private var evp: OpaquePointer {
        switch (cipher.algorithm, cipher.keyBits) {
        case (.aesCBC, 128): return Algorithms.aes128CBC
        case (.aesCBC, _): return Algorithms.aes256CBC
        case (.aesGCM16, 128): return Algorithms.aes128GCM
        case (.aesGCM16, _): return Algorithms.aes256GCM
        case (.chacha20Poly1305, _): return Algorithms.chacha20Poly1305
        default: preconditionFailure("cipher \(cipher) passed init's keyLength check")  // a wire value init refuses
        }
    }

    /// CBC's HMAC; checked in `init`.
    private var integrity: Integrity? { integrityAlgorithm.flatMap { Integrity($0) } }

    public var isAEAD: Bool { cipher.algorithm.isAEAD }
    public var ivLength: Int { isAEAD ? 8 : 16 }
    public var icvLength: Int { isAEAD ? 16 : integrity!.icvLength }
    /// Plaintext is padded to a multiple of this (RFC 7296 §3.14).
    public var blockSize: Int { cipher.algorithm == .aesCBC ? 16 : 1 }

    /// IV, ciphertext and ICV for `plaintext` (which already ends with its Pad Length
    /// octet); `associated` is the message from the IKE header through the SK payload
    /// header, authenticated with it.
    public func seal(_ plaintext: [UInt8], associated: [UInt8], iv: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        precondition(plaintext.count % blockSize == 0, "SK plaintext not padded to the block size")
        let iv = iv.isEmpty ? Random.bytes(ivLength) : iv
        if isAEAD {
            let (ciphertext, tag) = try aead(encrypt: true, iv: iv, associated: associated, input: plaintext, tag: nil)
            return iv + ciphertext + tag
        }
        let ciphertext = try cbc(encrypt: true, iv: iv, input: plaintext)
        let signed = associated + iv + ciphertext
        return iv + ciphertext + signed.withUnsafeBytes { data in keys.withBytes(integrityRange) { integrity!.icv(key: $0, data: data) } }
    }

    /// The plaintext (Pad Length octet included) of IV | ciphertext | ICV, after the
    /// integrity check; `.authenticationFailed` when it does not verify.
    public func open(_ sealed: [UInt8], associated: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count >= ivLength + icvLength + blockSize else { throw .authenticationFailed }
        let iv = Array(sealed[0..<ivLength])
        let body = Array(sealed[ivLength..<(sealed.count - icvLength)])
        let icv = Array(sealed[(sealed.count - icvLength)...])
        if isAEAD {
            return try aead(encrypt: false, iv: iv, associated: associated, input: body, tag: icv).0
        }
        guard body.count % blockSize == 0 else { throw .authenticationFailed }
        let signed = associated + iv + body
        let expected = signed.withUnsafeBytes { data in keys.withBytes(integrityRange) { integrity!.icv(key: $0, data: data) } }
        guard SecretBytes(expected) == SecretBytes(icv) else { throw .authenticationFailed }
        return try cbc(encrypt: false, iv: iv, input: body)
    }

    private func context() throws(CryptoError) -> OpaquePointer {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .last("EVP_CIPHER_CTX_new") }
        return ctx
    }

    private func cbc(encrypt: Bool, iv: [UInt8], input: [UInt8]) throws(CryptoError) -> [UInt8] {
        let result: Result<[UInt8], CryptoError> = keys.withBytes(encryptionRange) { key in
            do throws(CryptoError) { return .success(try aesCBC(evp, key: key, encrypt: encrypt, iv: iv, input: input)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private func aead(encrypt: Bool, iv: [UInt8], associated: [UInt8], input: [UInt8], tag: [UInt8]?) throws(CryptoError) -> ([UInt8], [UInt8]) {
        let ctx = try context()
        defer { EVP_CIPHER_CTX_free(ctx) }
        let range = encryptionRange
        let keyLength = range.count - 4
        var nonce: [UInt8] = keys.withBytes(range) { Array($0[keyLength...]) } + iv
        defer { wipe(&nonce) }
        guard EVP_CipherInit_ex(ctx, evp, nil, nil, nil, encrypt ? 1 : 0) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, ike_evp_ctrl_gcm_set_ivlen(), 12, nil) == 1 else { throw .last("EVP_CipherInit_ex") }
        let ok = keys.withBytes(range) { key in
            EVP_CipherInit_ex(ctx, nil, nil, key.baseAddress?.assumingMemoryBound(to: UInt8.self), nonce, encrypt ? 1 : 0)
        }
        guard ok == 1 else { throw .last("EVP_CipherInit_ex") }
        var n: Int32 = 0
        if !associated.isEmpty {
            guard EVP_CipherUpdate(ctx, nil, &n, associated, Int32(associated.count)) == 1 else { throw .last("EVP_CipherUpdate") }
        }
        var out = [UInt8](repeating: 0, count: input.count + 16)
        var produced: Int32 = 0
        if !input.isEmpty {
            guard EVP_CipherUpdate(ctx, &out, &produced, input, Int32(input.count)) == 1 else { throw .last("EVP_CipherUpdate") }
        }
        if var expected = tag {
            guard EVP_CIPHER_CTX_ctrl(ctx, ike_evp_ctrl_gcm_set_tag(), 16, &expected) == 1 else { throw .last("set tag") }
        }
        var m: Int32 = 0
        let finalOK = out.withUnsafeMutableBufferPointer { EVP_CipherFinal_ex(ctx, $0.baseAddress! + Int(produced), &m) }
        guard finalOK == 1 else {
            ERR_clear_error()
            throw .authenticationFailed
        }
        var computed = [UInt8](repeating: 0, count: 16)
        if encrypt {
            guard EVP_CIPHER_CTX_ctrl(ctx, ike_evp_ctrl_gcm_get_tag(), 16, &computed) == 1 else { throw .last("get tag") }
        }
        return (Array(out[0..<Int(produced + m)]), computed)
    }
}
