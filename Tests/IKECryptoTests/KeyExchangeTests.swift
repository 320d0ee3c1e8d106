import IKECrypto
import IKEWire
import Testing

@Suite struct KeyExchangeTests {
    func bytes(_ s: SecretBytes) -> [UInt8] { s.withBytes { Array($0) } }

    /// RFC 7748 §6.1.
    @Test func x25519KnownAnswer() throws {
        let alice = try KeyExchange(group: .curve25519, privateKey: hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        #expect(alice.publicValue == hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))
        let shared = try alice.sharedSecret(peerPublicValue: hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"))
        #expect(bytes(shared) == hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"))
    }

    /// RFC 5903 §8.1 (256-bit random ECP group).
    @Test func ecp256KnownAnswer() throws {
        let gi = hex("""
            DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180
            5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3
            """)
        let i = try KeyExchange(group: .ecp256, privateKey: hex("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433"),
                                publicPoint: gi)
        #expect(i.publicValue == gi)
        let gr = hex("""
            D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63
            56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB
            """)
        #expect(bytes(try i.sharedSecret(peerPublicValue: gr)) == hex("D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"))
    }

    @Test(arguments: [DHGroup.modp2048, .modp3072, .modp4096, .ecp256, .ecp384, .ecp521, .curve25519, .curve448])
    func bothSidesAgree(group: DHGroup) throws {
        let a = try KeyExchange(group: group)
        let b = try KeyExchange(group: group)
        #expect(a.publicValue.count == KeyExchange.publicValueLength(group))
        let ab = try a.sharedSecret(peerPublicValue: b.publicValue)
        let ba = try b.sharedSecret(peerPublicValue: a.publicValue)
        #expect(ab == ba)
        let expectedLength: [DHGroup: Int] = [.modp2048: 256, .modp3072: 384, .modp4096: 512, .ecp256: 32, .ecp384: 48,
                                              .ecp521: 66, .curve25519: 32, .curve448: 56]
        #expect(ab.count == expectedLength[group])
    }

    /// A group gets a spare pair once a negotiation has used it; the pair is taken once,
    /// agrees with a peer as a fresh one does, and the next is a different pair.
    @Test(arguments: [DHGroup.curve25519, .ecp256, .modp2048])
    func sparePairsAreMadeAheadAndUsedOnce(group: DHGroup) throws {
        let spares = KeyPairSpares()
        spares.prepare()
        #expect(spares.count == 0, "no group used yet")
        let first = try KeyExchange(group: group, spares: spares)
        spares.prepare()
        #expect(spares.count == 1)
        let spare = try KeyExchange(group: group, spares: spares)
        #expect(spares.count == 0)
        let made = try KeyExchange(group: group, spares: spares)
        spares.prepare()
        let next = try KeyExchange(group: group, spares: spares)
        let values = [first.publicValue, spare.publicValue, made.publicValue, next.publicValue]
        #expect(Set(values.map { $0.description }).count == 4, "every pair is new")
        #expect(try spare.sharedSecret(peerPublicValue: made.publicValue) == made.sharedSecret(peerPublicValue: spare.publicValue))
        #expect(try KeyExchange(group: .curve448, spares: spares).publicValue.count == 56, "another group is made on the spot")
        spares.prepare()
        #expect(spares.count == 2)
    }

    /// RFC 6989 §2.1: 1 < y < p-1 for MODP groups; §2.3: an ECP point must be on the curve;
    /// RFC 8031 §3.1: an all-zero X25519 result is refused.
    @Test func badPublicValuesAreRefused() throws {
        let modp = try KeyExchange(group: .modp2048)
        let one = [UInt8](repeating: 0, count: 255) + [1]
        let zero = [UInt8](repeating: 0, count: 256)
        let pMinusOne = hex("""
            FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD
            EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED
            EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F
            83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B
            E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510
            15728E5A8AACAA68FFFFFFFFFFFFFFFE
            """)
        var p = pMinusOne
        p[255] = 0xff
        for bad in [one, zero, pMinusOne, p, [UInt8](repeating: 0xff, count: 256), [1, 2, 3]] {
            #expect(throws: CryptoError.self) { _ = try modp.sharedSecret(peerPublicValue: bad) }
        }
        let ecp = try KeyExchange(group: .ecp256)
        var offCurve = ecp.publicValue
        offCurve[63] ^= 1
        #expect(throws: CryptoError.self) { _ = try ecp.sharedSecret(peerPublicValue: offCurve) }
        let x = try KeyExchange(group: .curve25519)
        #expect(throws: CryptoError.self) { _ = try x.sharedSecret(peerPublicValue: [UInt8](repeating: 0, count: 32)) }
        #expect(throws: CryptoError.unsupported("DH group DH(2)")) { _ = try KeyExchange(group: DHGroup(rawValue: 2)) }
    }
}
