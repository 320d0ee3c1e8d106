import IKECrypto
import IKEWire
import Testing

/// The IKEv1 PSK key derivation (RFC 2409 §5) against libreswan 4.10's ACVP tool
/// (`cavp -v1psk`, NSS), run on these inputs:
///
///     cavp -v1psk -hashAlg SHA-256|SHA-1 -tcId 1 -gxy 4a5d..1742
///          -nInit 0001..0e0f -nResp 1011..1e1f -ckyInit 1122334455667788
///          -ckyResp 99aabbccddeeff00 -preSharedKey 7365637265742d6b6579
///
/// The parts cavp does not cover (the Appendix B key expansion, IVs and KEYMAT) are
/// checked against values computed from the RFC's formulas with Python's hmac and
/// hashlib; the interop tests with strongSwan and Libreswan check them end to end.
@Suite struct IKEv1KeysTests {
    let gxy = SecretBytes(hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"))
    let ni = hex("000102030405060708090a0b0c0d0e0f")
    let nr = hex("101112131415161718191a1b1c1d1e1f")
    let psk = SecretBytes(Array("secret-key".utf8))

    func bytes(_ s: SecretBytes) -> [UInt8] { s.withBytes { Array($0) } }

    func keys(_ prf: PseudorandomFunction, keyLength: Int) throws -> IKEv1Keys {
        IKEv1Keys(prf: try #require(PRF(prf)), psk: psk, nonceI: ni, nonceR: nr, sharedSecret: gxy,
                  cookieI: 0x1122_3344_5566_7788, cookieR: 0x99aa_bbcc_ddee_ff00, encryptionKeyLength: keyLength)
    }

    @Test func skeyidsWithSHA256() throws {
        let k = try keys(.hmacSHA2_256, keyLength: 32)
        #expect(bytes(k.skeyid) == hex("388ef275221fa239f4b4b55b2383bee7a46048314c95e1cbd2f94b574f599df5"))
        #expect(bytes(k.d) == hex("0f14bb8994470dfd9cdc67bd0c9404bc56f4fd64b9d1d5153940229596ba720b"))
        #expect(bytes(k.a) == hex("37f4ef97783be21a1f572afdbf5b4531eb04aa58608a9fc762b04f160b2708ec"))
        #expect(bytes(k.e) == hex("2c9bac34ecb7697bce3c21101b5cefd1e2c150d2d796555697d86c3342ddb26f"))
        // Long enough for AES-256: the key is SKEYID_e itself.
        #expect(k.encryption == k.e)
    }

    @Test func skeyidsWithSHA1AndTheExpandedAES256Key() throws {
        let k = try keys(.hmacSHA1, keyLength: 32)
        #expect(bytes(k.skeyid) == hex("11b1d23d6082368ce2253b1bb08dea17ac60f437"))
        #expect(bytes(k.d) == hex("2a107903b5b33f6f92611a4ae6ca05b88848c405"))
        #expect(bytes(k.a) == hex("2d1c318c755dfc3032a3abe9bcdbfb7b84c2da4f"))
        #expect(bytes(k.e) == hex("6d2a33038356adec97a86aeb7eb52a5f50bd0e5a"))
        // SKEYID_e has 20 bytes: Ka = K1 | K2, K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e, K1).
        #expect(bytes(k.encryption) == hex("d4fea11f757d3f95f534146ed14b179a901cf786bb145b5799675587d2d72769"))
        // AES-128 takes SKEYID_e's first 16 bytes.
        #expect(bytes(try keys(.hmacSHA1, keyLength: 16).encryption) == hex("6d2a33038356adec97a86aeb7eb52a5f"))
    }

    @Test func ivsAndKeyMaterial() throws {
        let k = try keys(.hmacSHA2_256, keyLength: 32)
        #expect(k.initialIV(gxi: Array(0..<32), gxr: Array(32..<64), blockSize: 16) == hex("fdeab9acf3710362bd2658cdc9a29e8f"))
        #expect(k.exchangeIV(phase1LastBlock: Array(0..<16), messageID: 0x0102_0304, blockSize: 16) == hex("76e6a0745829ba68200a947256cd8438"))
        let keymat = k.keyMaterial(sharedSecret: nil, protocolID: 3, spi: 0xc1c2_c3c4, nonceI: ni, nonceR: nr, count: 64)
        #expect(bytes(keymat) == hex("""
            c253fcd45fb47917c498e2ce89ea351af2ce761c79767384acd0ea9f6f56a2aabfcc219dc1e723e0ad392ecd9a472e84\
            35f5de3ca24e2b9124737b2a9fa7ae30
            """))
        let pfs = k.keyMaterial(sharedSecret: SecretBytes(Array(1...32)), protocolID: 3, spi: 0xc1c2_c3c4, nonceI: ni, nonceR: nr, count: 32)
        #expect(bytes(pfs) == hex("b47b0bc6632622fe7f81473476c2367b02cc7d9490b1211d4374b1eda394647a"))
    }
}
