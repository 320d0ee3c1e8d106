import IKEWire

/// Known-answer tests of every algorithm ike.conf(5) offers, run by `ike selftest` in the
/// binary as it was built and linked (a trimmed libcrypto, another architecture), and by
/// the unit tests. Vectors are the standards' own; the key exchanges without a published
/// vector for IKE's encoding (MODP, P-384, P-521) are checked pairwise instead: two fresh
/// key pairs agree, the secret has the group's length, and an invalid public value is
/// refused.
public enum SelfTest {
    public struct Outcome {
        public let name: String
        /// nil when the answer was right; otherwise what went wrong.
        public let failure: String?

        public init(name: String, failure: String?) {
            self.name = name
            self.failure = failure
        }
    }

    public static func run() -> [Outcome] {
        var outcomes: [Outcome] = []
        func check(_ name: String, _ body: () throws(CryptoError) -> String?) {
            do throws(CryptoError) {
                outcomes.append(Outcome(name: name, failure: try body()))
            } catch {
                outcomes.append(Outcome(name: name, failure: "\(error)"))
            }
        }
        func expect(_ got: [UInt8], _ want: String) -> String? {
            got == hex(want) ? nil : "got \(Hex.encode(got))"
        }

        // Ciphers: NIST SP 800-38A F.2.1 and F.2.5 (CBC), the GCM specification's test
        // cases 4 and 16 in RFC 5282's key | salt layout, RFC 8439 §2.8.2.
        check("aes128 (AES-CBC-128)") { () throws(CryptoError) in
            try cbc(key: "2b7e151628aed2a6abf7158809cf4f3c", want: "7649abac8119b246cee98e9b12e9197d")
        }
        check("aes256 (AES-CBC-256)") { () throws(CryptoError) in
            try cbc(key: "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", want: "f58c4c04d6e5f1ba779eabfb5f7bfbd6")
        }
        check("aes128gcm16 (AES-GCM-128, 16-octet ICV)") { () throws(CryptoError) in
            try gcm(keyBits: 128, key: "feffe9928665731c6d6a8f9467308308", want: """
                42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa05\
                1ba30b396a0aac973d58e091
                """, tag: "5bc94fbc3221a5db94fae95ae7121a47")
        }
        check("aes256gcm16 (AES-GCM-256, 16-octet ICV)") { () throws(CryptoError) in
            try gcm(keyBits: 256, key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", want: """
                522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838\
                c5f61e6393ba7a0abcc9f662
                """, tag: "76fc6ece0f4e1768cddf8853bb2d551b")
        }
        check("chacha20poly1305 (RFC 8439)") { () throws(CryptoError) in
            let key = SecretBytes(hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f07000000"))
            let c = try MessageCipher(cipher: Cipher(.chacha20Poly1305, keyBits: 0), integrity: nil, encryptionKey: key, integrityKey: nil)
            let text = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
            let aad = hex("50515253c0c1c2c3c4c5c6c7")
            let sealed = try c.seal(text, associated: aad, iv: hex("4041424344454647"))
            let want = """
                4041424344454647d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca96712\
                82fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad67594\
                5585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b61161ae10b594f09e26a7e902ecbd0600691
                """
            if let wrong = expect(sealed, want) { return wrong }
            return try c.open(sealed, associated: aad) == text ? nil : "did not open its own output"
        }

        // HMAC as PRF and as truncated integrity: RFC 2202 and RFC 4231 test case 2.
        let hmacs: [(String, PseudorandomFunction, IntegrityAlgorithm, String)] = [
            ("sha1 (HMAC-SHA1, -96)", .hmacSHA1, .hmacSHA1_96, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
            ("sha256 (HMAC-SHA2-256, -128)", .hmacSHA2_256, .hmacSHA2_256_128,
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ("sha384 (HMAC-SHA2-384, -192)", .hmacSHA2_384, .hmacSHA2_384_192,
             "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"),
            ("sha512 (HMAC-SHA2-512, -256)", .hmacSHA2_512, .hmacSHA2_512_256,
             "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
        ]
        for (name, prf, integrity, want) in hmacs {
            check(name) { () throws(CryptoError) in
                guard let p = PRF(prf), let i = Integrity(integrity) else { throw .unsupported(name) }
                let key = SecretBytes(Array("Jefe".utf8))
                let data = Array("what do ya want for nothing?".utf8)
                if let wrong = expect(p.compute(key: key, data: data), want) { return wrong }
                let icv = data.withUnsafeBytes { i.icv(key: key, data: $0) }
                return icv == Array(hex(want)[0..<i.icvLength]) ? nil : "truncated ICV \(Hex.encode(icv))"
            }
        }

        // Key exchange: RFC 7748 §6.1 and §6.2, RFC 5903 §8.1; the others pairwise.
        check("x25519 (RFC 7748)") { () throws(CryptoError) in
            try montgomery(.curve25519, privateKey: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
                           publicValue: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
                           peer: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
                           shared: "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        }
        check("x448 (RFC 7748)") { () throws(CryptoError) in
            try montgomery(.curve448, privateKey: """
                9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b
                """, publicValue: """
                9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0
                """, peer: """
                3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609
                """, shared: """
                07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d
                """)
        }
        check("ecp256 (RFC 5903)") { () throws(CryptoError) in
            let gi = "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
                + "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3"
            let i = try KeyExchange(group: .ecp256, privateKey: hex("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433"),
                                    publicPoint: hex(gi))
            let gr = "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
                + "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB"
            let shared = try i.sharedSecret(peerPublicValue: hex(gr))
            return expect(shared.withBytes { Array($0) }, "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE")
        }
        let pairwise: [(String, DHGroup, Int)] = [
            ("modp2048 (pairwise)", .modp2048, 256), ("modp3072 (pairwise)", .modp3072, 384),
            ("modp4096 (pairwise)", .modp4096, 512), ("ecp384 (pairwise)", .ecp384, 48), ("ecp521 (pairwise)", .ecp521, 66),
        ]
        for (name, group, length) in pairwise {
            check(name) { () throws(CryptoError) in
                let a = try KeyExchange(group: group), b = try KeyExchange(group: group)
                let ab = try a.sharedSecret(peerPublicValue: b.publicValue)
                let ba = try b.sharedSecret(peerPublicValue: a.publicValue)
                guard ab == ba else { return "the two sides disagree" }
                guard ab.count == length else { return "a \(ab.count)-octet secret" }
                var bad = b.publicValue
                bad[bad.count - 1] ^= 1
                if case .modp = KeyExchange.kind(group) { bad = [UInt8](repeating: 0xff, count: length) }
                do throws(CryptoError) {
                    _ = try a.sharedSecret(peerPublicValue: bad)
                    return "an invalid public value was accepted"
                } catch { return nil }
            }
        }
        check("random (DRBG)") { () throws(CryptoError) in
            let a = Random.bytes(32), b = Random.bytes(32)
            return a != b && a != [UInt8](repeating: 0, count: 32) ? nil : "the DRBG repeated itself"
        }
        return outcomes
    }

    private static func hex(_ text: String) -> [UInt8] {
        Hex.decode(String(text.filter { $0 != "\n" && $0 != " " })) ?? []
    }

    /// NIST SP 800-38A's first CBC block, IV 000102...0f, then decrypted back.
    private static func cbc(key: String, want: String) throws(CryptoError) -> String? {
        let k = hex(key)
        let plaintext = hex("6bc1bee22e409f96e93d7e117393172a")
        let c = try CBCCipher(keyBits: UInt16(k.count * 8), key: SecretBytes(k))
        let out = try c.encrypt(iv: hex("000102030405060708090a0b0c0d0e0f"), plaintext)
        guard out == hex(want) else { return "got \(Hex.encode(out))" }
        let back = try c.decrypt(iv: hex("000102030405060708090a0b0c0d0e0f"), out)
        return back == plaintext ? nil : "did not decrypt its own output"
    }

    private static func gcm(keyBits: UInt16, key: String, want: String, tag: String) throws(CryptoError) -> String? {
        let c = try MessageCipher(cipher: Cipher(.aesGCM16, keyBits: keyBits), integrity: nil,
                                  encryptionKey: SecretBytes(hex(key) + hex("cafebabe")), integrityKey: nil)
        let plaintext = hex("""
            d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525\
            b16aedf5aa0de657ba637b39
            """)
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        let sealed = try c.seal(plaintext, associated: aad, iv: hex("facedbaddecaf888"))
        guard sealed == hex("facedbaddecaf888") + hex(want) + hex(tag) else { return "got \(Hex.encode(sealed))" }
        var tampered = sealed
        tampered[20] ^= 0x80
        do throws(CryptoError) {
            _ = try c.open(tampered, associated: aad)
            return "a tampered message was accepted"
        } catch {}
        return try c.open(sealed, associated: aad) == plaintext ? nil : "did not open its own output"
    }

    private static func montgomery(_ group: DHGroup, privateKey: String, publicValue: String, peer: String,
                                   shared: String) throws(CryptoError) -> String? {
        let k = try KeyExchange(group: group, privateKey: hex(privateKey))
        guard k.publicValue == hex(publicValue) else { return "public value \(Hex.encode(k.publicValue))" }
        let s = try k.sharedSecret(peerPublicValue: hex(peer))
        let got = s.withBytes { Array($0) }
        return got == hex(shared) ? nil : "shared secret \(Hex.encode(got))"
    }
}
