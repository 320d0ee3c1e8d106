import COpenSSL
import IKEWire

/// AES-CBC over whole blocks with a caller-kept IV: IKEv1 encrypts its messages this way
/// and chains the IV from one message to the next (RFC 2409 §5.3, Appendix B).
public struct CBCCipher {
    /// The key alone is stored (an ISAKMP SA holds this for its life); its length says
    /// which AES.
    private let key: SecretBytes
    public var blockSize: Int { 16 }

    /// AES-128 or AES-256 with a key of that length.
    public init(keyBits: UInt16, key: SecretBytes) throws(CryptoError) {
        guard keyBits == 128 || keyBits == 256 else { throw .unsupported("AES-CBC with \(keyBits)-bit keys") }
        guard key.count == Int(keyBits) / 8 else { throw .unsupported("AES-CBC-\(keyBits) with a \(key.count)-byte key") }
        self.key = key
    }

    private var evp: OpaquePointer { key.count == 16 ? Algorithms.aes128CBC : Algorithms.aes256CBC }

    /// `plaintext` must be whole blocks; the IV for the next message is the last block out.
    public func encrypt(iv: [UInt8], _ plaintext: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard plaintext.count % blockSize == 0, iv.count == blockSize else { throw .unsupported("AES-CBC input of \(plaintext.count) bytes") }
        return try aesCBC(evp, key: key, encrypt: true, iv: iv, input: plaintext)
    }

    public func decrypt(iv: [UInt8], _ ciphertext: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard ciphertext.count % blockSize == 0, !ciphertext.isEmpty, iv.count == blockSize else {
            throw .unsupported("AES-CBC ciphertext of \(ciphertext.count) bytes")
        }
        return try aesCBC(evp, key: key, encrypt: false, iv: iv, input: ciphertext)
    }
}

/// One AES-CBC pass without padding.
func aesCBC(_ evp: OpaquePointer, key: SecretBytes, encrypt: Bool, iv: [UInt8], input: [UInt8]) throws(CryptoError) -> [UInt8] {
    let result: Result<[UInt8], CryptoError> = key.withBytes { k in
        do throws(CryptoError) { return .success(try aesCBC(evp, key: k, encrypt: encrypt, iv: iv, input: input)) } catch { return .failure(error) }
    }
    return try result.get()
}

func aesCBC(_ evp: OpaquePointer, key: UnsafeRawBufferPointer, encrypt: Bool, iv: [UInt8], input: [UInt8]) throws(CryptoError) -> [UInt8] {
    guard let ctx = EVP_CIPHER_CTX_new() else { throw .last("EVP_CIPHER_CTX_new") }
    defer { EVP_CIPHER_CTX_free(ctx) }
    let ok = EVP_CipherInit_ex(ctx, evp, nil, key.baseAddress?.assumingMemoryBound(to: UInt8.self), iv, encrypt ? 1 : 0)
    guard ok == 1, EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 else { throw .last("EVP_CipherInit_ex") }
    var out = [UInt8](repeating: 0, count: input.count + 16)
    var n: Int32 = 0, m: Int32 = 0
    guard EVP_CipherUpdate(ctx, &out, &n, input, Int32(input.count)) == 1 else { throw .last("EVP_CipherUpdate") }
    let finalOK = out.withUnsafeMutableBufferPointer { EVP_CipherFinal_ex(ctx, $0.baseAddress! + Int(n), &m) }
    guard finalOK == 1 else { throw .last("EVP_CipherFinal_ex") }
    return Array(out[0..<Int(n + m)])
}
