import IKECrypto
import IKEWire
import Testing

@Suite struct MessageCipherTests {
    /// The GCM specification's test case 4 (McGrew and Viega, as in NIST's GCM validation
    /// examples), laid out as RFC 5282 does: key | 4-octet salt, 8-octet IV.
    @Test func aesGCM128KnownAnswer() throws {
        let key = SecretBytes(hex("feffe9928665731c6d6a8f9467308308") + hex("cafebabe"))
        let c = try MessageCipher(cipher: Cipher(.aesGCM16, keyBits: 128), integrity: nil, encryptionKey: key, integrityKey: nil)
        let plaintext = hex("""
            d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525
            b16aedf5aa0de657ba637b39
            """)
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        let sealed = try c.seal(plaintext, associated: aad, iv: hex("facedbaddecaf888"))
        #expect(sealed == hex("facedbaddecaf888") + hex("""
            42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa05
            1ba30b396a0aac973d58e091
            """) + hex("5bc94fbc3221a5db94fae95ae7121a47"))
        #expect(try c.open(sealed, associated: aad) == plaintext)
        var tampered = sealed
        tampered[20] ^= 0x80
        #expect(throws: CryptoError.authenticationFailed) { _ = try c.open(tampered, associated: aad) }
        #expect(throws: CryptoError.authenticationFailed) { _ = try c.open(sealed, associated: aad + [0]) }
    }

    /// RFC 8439 §2.8.2, laid out as RFC 7634 does: the nonce's first 4 octets are the salt.
    @Test func chacha20Poly1305KnownAnswer() throws {
        let key = SecretBytes(hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f") + hex("07000000"))
        let c = try MessageCipher(cipher: Cipher(.chacha20Poly1305, keyBits: 0), integrity: nil, encryptionKey: key, integrityKey: nil)
        let plaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let aad = hex("50515253c0c1c2c3c4c5c6c7")
        let sealed = try c.seal(plaintext, associated: aad, iv: hex("4041424344454647"))
        #expect(sealed == hex("4041424344454647") + hex("""
            d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b
            1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
            3ff4def08e4b7a9de576d26586cec64b6116
            """) + hex("1ae10b594f09e26a7e902ecbd0600691"))
        #expect(try c.open(sealed, associated: aad) == plaintext)
    }

    /// RFC 3602 §4 case #2 (AES-128-CBC, two blocks), plus the HMAC ICV over
    /// associated data, IV and ciphertext (RFC 7296 §3.14).
    @Test func aesCBCKnownAnswerAndICV() throws {
        let key = SecretBytes(hex("c286696d887c9aa0611bbb3e2025a45a"))
        let c = try MessageCipher(cipher: Cipher(.aesCBC, keyBits: 128), integrity: .hmacSHA2_256_128, encryptionKey: key,
                                  integrityKey: SecretBytes([UInt8](repeating: 7, count: 32)))
        let iv = hex("562e17996d093d28ddb3ba695a2e6f58")
        let plaintext = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        let sealed = try c.seal(plaintext, associated: [1, 2, 3], iv: iv)
        #expect(Array(sealed[16..<48]) == hex("d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"))
        #expect(sealed.count == 16 + 32 + 16)
        #expect(try c.open(sealed, associated: [1, 2, 3]) == plaintext)
        #expect(throws: CryptoError.authenticationFailed) { _ = try c.open(sealed, associated: [1, 2, 4]) }
    }

    @Test func secretBytesAreRedactedAndCompareByValue() {
        let a = SecretBytes([1, 2, 3]), b = SecretBytes([1, 2, 3]), c = SecretBytes([1, 2, 4])
        #expect(a == b && a != c && a != SecretBytes([1, 2]))
        #expect("\(a)" == "<redacted>")
    }
}

@Suite struct SelfTestTests {
    /// `ike selftest`'s checks against the libcrypto `swift test` links; the shipped
    /// binary runs the same list against its trimmed one (ikeTests, scripts/test-cross).
    @Test func everyAlgorithmPassesItsKnownAnswer() {
        let outcomes = SelfTest.run()
        #expect(outcomes.count == 18)
        for outcome in outcomes { #expect(outcome.failure == nil, "\(outcome.name): \(outcome.failure ?? "")") }
    }
}
