import IKECrypto
import IKEWire
import Testing

@Suite struct PRFTests {
    /// RFC 4231 §4.2 (test case 1), the vectors RFC 4868 §2.7.1 uses for PRF_HMAC_SHA2_*;
    /// RFC 2202 §3 test case 1 for HMAC-SHA1.
    @Test(arguments: [
        (PseudorandomFunction.hmacSHA1, "b617318655057264e28bc0b6fb378c8ef146be00"),
        (.hmacSHA2_256, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (.hmacSHA2_384, "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"),
        (.hmacSHA2_512, "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
    ])
    func hmacTestCase1(prf: PseudorandomFunction, expected: String) throws {
        let p = try #require(PRF(prf))
        let out = p.compute(key: SecretBytes([UInt8](repeating: 0x0b, count: 20)), data: Array("Hi There".utf8))
        #expect(out == hex(expected))
    }

    /// RFC 4231 §4.3 (test case 2: a key shorter than the block).
    @Test func hmacSHA256TestCase2() throws {
        let p = try #require(PRF(.hmacSHA2_256))
        let out = p.compute(key: SecretBytes(Array("Jefe".utf8)), data: Array("what do ya want for nothing?".utf8))
        #expect(out == hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
    }

    /// RFC 4868 §2.7.2.2 via RFC 4231 test case 2, truncated: AUTH_HMAC_SHA2_256_128.
    @Test func integrityTruncates() throws {
        let i = try #require(Integrity(.hmacSHA2_256_128))
        let icv = Array("what do ya want for nothing?".utf8).withUnsafeBytes { i.icv(key: SecretBytes(Array("Jefe".utf8)), data: $0) }
        #expect(icv == hex("5bdcc146bf60754e6a042426089575c7"))
        #expect(Integrity(.hmacSHA1_96)?.icvLength == 12)
        #expect(Integrity(.hmacSHA2_384_192)?.icvLength == 24)
        #expect(Integrity(.hmacSHA2_512_256)?.icvLength == 32)
    }
}

/// The IKEv2 key derivation (RFC 7296 §2.13, §2.14, §2.17, §2.18) against libreswan
/// 4.10's ACVP tool (`cavp -v2`, NSS), run on these inputs with SHA-256:
///
///     cavp -v2 -hashAlg SHA-256 -derivedKeyingMaterialLength 1056 -tcId 1
///          -gir 4a5d..1742 -girNew 0102..1f20 -nInit 0001..0e0f -nResp 1011..1e1f
///          -spiInit 1122334455667788 -spiResp 99aabbccddeeff00
@Suite struct KeyDerivationTests {
    let gir = SecretBytes(hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"))
    let girNew = SecretBytes(hex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"))
    let ni = hex("000102030405060708090a0b0c0d0e0f")
    let nr = hex("101112131415161718191a1b1c1d1e1f")
    let dkm = hex("""
        49876a9056991195e7059c7db5010ccb9717522341156c4f88b8dfb3f64e867675a07ddd8bbade07478363f6c76df7eb
        049c1539b7d1c1e2371daa7fc4ec83fabddda3dac54fe7678ee4a51ee98114e5eb1d15f8060c32279f4cb2941035c7c1
        f7cb3d3cc52602978655a8b99ea6d26c7790126dd67e65e609018159b18ca7a601f470e7
        """)

    func bytes(_ s: SecretBytes) -> [UInt8] { s.withBytes { Array($0) } }

    @Test func skeyseedAndTheKeyStream() throws {
        let prf = try #require(PRF(.hmacSHA2_256))
        let skeyseed = IKEKeys.skeyseed(prf: prf, sharedSecret: gir, nonceI: ni, nonceR: nr)
        #expect(bytes(skeyseed) == hex("b0ef915c48b15e3292a474783a59ffbd7a8f06b05e1a6efe90e23b46ffeaef91"))
        var seed = ni + nr
        seed += hex("1122334455667788") + hex("99aabbccddeeff00")
        #expect(bytes(prf.plus(key: skeyseed, seed: seed, count: 132)) == dkm)
    }

    @Test func theKeysAreCutFromTheStreamInOrder() throws {
        let prf = try #require(PRF(.hmacSHA2_256))
        // AES-CBC-128 + HMAC-SHA2-256: SK_d 32, SK_a 2x32, SK_e 2x16, SK_p 2x32 = 224 bytes; the
        // first 132 are the vector's.
        let keys = try IKEKeys(prf: prf, cipher: Cipher(.aesCBC, keyBits: 128), integrity: .hmacSHA2_256_128,
                               sharedSecret: gir, nonceI: ni, nonceR: nr, spiI: 0x1122_3344_5566_7788, spiR: 0x99aa_bbcc_ddee_ff00)
        #expect(bytes(keys.d) == Array(dkm[0..<32]))
        #expect(bytes(keys.ai!) == Array(dkm[32..<64]))
        #expect(bytes(keys.ar!) == Array(dkm[64..<96]))
        #expect(bytes(keys.ei) == Array(dkm[96..<112]))
        #expect(bytes(keys.er) == Array(dkm[112..<128]))
        #expect(Array(bytes(keys.pi)[0..<4]) == Array(dkm[128..<132]))
    }

    @Test func childKeyMaterialWithAndWithoutPFS() throws {
        let prf = try #require(PRF(.hmacSHA2_256))
        let keys = try IKEKeys(prf: prf, cipher: Cipher(.aesGCM16, keyBits: 256), integrity: nil, sharedSecret: gir,
                               nonceI: ni, nonceR: nr, spiI: 0x1122_3344_5566_7788, spiR: 0x99aa_bbcc_ddee_ff00)
        #expect(bytes(keys.childKeyMaterial(sharedSecret: nil, nonceI: ni, nonceR: nr, count: 132)) == hex("""
            6cb3d80f6f664934dc1286b090ea1bc2b78fad80f9c4305f1b36ea40424f9b331ed408b9f6a5ad8b7e7600ddc889116c
            54b8b493915a0234b81698362f4e5ba10c07e34c422c2fa34e62aea9bb916e8359d9bd4126ffaf3f87d1c943106d42d4
            c8ced2cce1725d04e010f292eb28a6a866c3b5128bd8ac5397a1d35ecd780a8efdb8aa2c
            """))
        #expect(bytes(keys.childKeyMaterial(sharedSecret: girNew, nonceI: ni, nonceR: nr, count: 132)) == hex("""
            84730855eea8bde1c6d589b1cdeccf7350b6c497c00cba70a3d0b0d10129ed0922ec3c64ccc2eedbc8ca40d73251620b
            3d2626bc6e843af8336eb3298fe9ab4dbfe90cfebd37239cd307ba5d952d6f23927d5df1d56e3630f61b1f3e20aa59dc
            11f829bd14ab71b1421b57885b510b66201c731fc713ea3d1bec6f7b4a22f5b88b0afa97
            """))
        // SKEYSEED for an IKE SA rekey: prf(SK_d (old), g^ir (new) | Ni | Nr).
        let rekey = prf.compute(key: keys.d, data: bytes(girNew) + ni + nr)
        #expect(rekey == hex("119aba43d57e9823d33a5c408fe42dc9e94eba68ba47a4e0dcd35cf82066337d"))
    }
}
