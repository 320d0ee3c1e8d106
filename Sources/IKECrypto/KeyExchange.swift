import COpenSSL
import IKEWire

/// One side of a Diffie-Hellman exchange (RFC 7296 §2.7) in one of the groups IKE uses:
/// MODP 2048/3072/4096 (RFC 3526), ECP 256/384/521 (RFC 5903), Curve25519 and Curve448
/// (RFC 8031). Public values are in IKE's encoding; the peer's is checked before use.
public final class KeyExchange {
    public let group: DHGroup
    private let key: OpaquePointer
    /// Our public value as the KE payload carries it.
    public let publicValue: [UInt8]

    enum Kind {
        case modp(name: String, bytes: Int)
        case ecp(name: String, coordinate: Int)
        case montgomery(id: Int32, bytes: Int)
    }

    static func kind(_ group: DHGroup) -> Kind? {
        switch group {
        case .modp2048: return .modp(name: "modp_2048", bytes: 256)
        case .modp3072: return .modp(name: "modp_3072", bytes: 384)
        case .modp4096: return .modp(name: "modp_4096", bytes: 512)
        case .ecp256: return .ecp(name: "P-256", coordinate: 32)
        case .ecp384: return .ecp(name: "P-384", coordinate: 48)
        case .ecp521: return .ecp(name: "P-521", coordinate: 66)
        case .curve25519: return .montgomery(id: EVP_PKEY_X25519, bytes: 32)
        case .curve448: return .montgomery(id: EVP_PKEY_X448, bytes: 56)
        default: return nil
        }
    }

    public static func isSupported(_ group: DHGroup) -> Bool { kind(group) != nil }

    /// The length of a public value of `group` (the KE payload's data).
    public static func publicValueLength(_ group: DHGroup) -> Int? {
        switch kind(group) {
        case let .modp(_, bytes): return bytes
        case let .ecp(_, coordinate): return 2 * coordinate
        case let .montgomery(_, bytes): return bytes
        case nil: return nil
        }
    }

    /// A fresh key pair: one `spares` made ahead when it holds one of the group (each is
    /// used once), otherwise one generated now.
    public init(group: DHGroup, spares: KeyPairSpares? = nil) throws(CryptoError) {
        guard let kind = KeyExchange.kind(group) else { throw .unsupported("DH group \(group)") }
        self.group = group
        if let spare = spares?.take(group) {
            (key, publicValue) = spare
        } else {
            (key, publicValue) = try KeyExchange.generatePair(kind)
        }
    }

    /// A new key pair of `kind` and its public value.
    static func generatePair(_ kind: Kind) throws(CryptoError) -> (OpaquePointer, [UInt8]) {
        let key = try generate(kind)
        do throws(CryptoError) {
            return (key, try encodePublic(key, kind))
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
    }

    /// A key pair given by its private value (and, for ECP, its public value too):
    /// for the known-answer tests of RFC 7748 and RFC 5903, never for a live exchange.
    public init(group: DHGroup, privateKey: [UInt8], publicPoint: [UInt8] = []) throws(CryptoError) {
        guard let kind = KeyExchange.kind(group) else { throw .unsupported("DH group \(group)") }
        self.group = group
        switch kind {
        case let .montgomery(id, _):
            guard let k = EVP_PKEY_new_raw_private_key(id, nil, privateKey, privateKey.count) else {
                throw .last("EVP_PKEY_new_raw_private_key")
            }
            key = k
        case let .ecp(name, _):
            guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw .last("EVP_PKEY_CTX_new_from_name") }
            defer { EVP_PKEY_CTX_free(ctx) }
            guard EVP_PKEY_fromdata_init(ctx) == 1, let bn = BN_bin2bn(privateKey, Int32(privateKey.count), nil) else {
                throw .last("EVP_PKEY_fromdata_init")
            }
            defer { BN_free(bn) }
            var native = [UInt8](repeating: 0, count: privateKey.count)
            _ = BN_bn2nativepad(bn, &native, Int32(native.count))
            var pub = [UInt8(4)] + publicPoint
            var groupName = Array(name.utf8CString)
            var k: OpaquePointer? = nil
            let ok = native.withUnsafeMutableBytes { priv in
                pub.withUnsafeMutableBytes { p in
                    groupName.withUnsafeMutableBufferPointer { g in
                        var list = [OSSL_PARAM_construct_utf8_string(ike_ossl_group_name(), g.baseAddress, 0),
                                    OSSL_PARAM_construct_BN(ike_ossl_priv_key(), priv.baseAddress?.assumingMemoryBound(to: UInt8.self), priv.count),
                                    OSSL_PARAM_construct_octet_string(ike_ossl_pub_key(), p.baseAddress, p.count),
                                    OSSL_PARAM_construct_end()]
                        return EVP_PKEY_fromdata(ctx, &k, ike_evp_pkey_keypair(), &list)
                    }
                }
            }
            guard ok == 1, let k else { throw .last("EVP_PKEY_fromdata") }
            key = k
        case .modp:
            throw .unsupported("fixed MODP private keys")
        }
        do throws(CryptoError) {
            self.publicValue = try KeyExchange.encodePublic(key, kind)
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
    }

    deinit { EVP_PKEY_free(key) }

    private static func generate(_ kind: Kind) throws(CryptoError) -> OpaquePointer {
        let ctx: OpaquePointer?
        switch kind {
        case .modp: ctx = EVP_PKEY_CTX_new_from_name(nil, "DH", nil)
        case .ecp: ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil)
        case let .montgomery(id, _): ctx = EVP_PKEY_CTX_new_id(id, nil)
        }
        guard let ctx else { throw .last("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw .last("EVP_PKEY_keygen_init") }
        switch kind {
        case let .modp(name, _), let .ecp(name, _):
            var groupName = Array(name.utf8CString)
            let ok = groupName.withUnsafeMutableBufferPointer { g in
                var params = [OSSL_PARAM_construct_utf8_string(ike_ossl_group_name(), g.baseAddress, 0),
                              OSSL_PARAM_construct_end()]
                return EVP_PKEY_CTX_set_params(ctx, &params)
            }
            guard ok == 1 else { throw .last("EVP_PKEY_CTX_set_params") }
        case .montgomery:
            break
        }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen(ctx, &key) == 1, let key else { throw .last("EVP_PKEY_keygen") }
        return key
    }

    private static func encodePublic(_ key: OpaquePointer, _ kind: Kind) throws(CryptoError) -> [UInt8] {
        switch kind {
        case let .modp(_, bytes):
            var bn: OpaquePointer? = nil
            guard EVP_PKEY_get_bn_param(key, ike_ossl_pub_key(), &bn) == 1, let bn else { throw .last("EVP_PKEY_get_bn_param") }
            defer { BN_free(bn) }
            var out = [UInt8](repeating: 0, count: bytes)
            guard BN_bn2binpad(bn, &out, Int32(bytes)) == Int32(bytes) else { throw .last("BN_bn2binpad") }
            return out
        case let .ecp(_, coordinate):
            var out = [UInt8](repeating: 0, count: 1 + 2 * coordinate)
            var length = 0
            guard EVP_PKEY_get_octet_string_param(key, ike_ossl_encoded_pub_key(), &out, out.count, &length) == 1,
                  length == out.count, out[0] == 4 else { throw .last("EVP_PKEY_get_octet_string_param") }
            return Array(out[1...])
        case let .montgomery(_, bytes):
            var out = [UInt8](repeating: 0, count: bytes)
            var length = bytes
            guard EVP_PKEY_get_raw_public_key(key, &out, &length) == 1, length == bytes else {
                throw .last("EVP_PKEY_get_raw_public_key")
            }
            return out
        }
    }

    /// The peer's public value as a key; the checks of RFC 6989 (MODP: 1 < y < p-1, which
    /// for safe primes is all of §2.2; ECP: the point is on the curve) run here, once.
    private func peerKey(_ value: [UInt8]) throws(CryptoError) -> OpaquePointer {
        guard let kind = KeyExchange.kind(group), value.count == KeyExchange.publicValueLength(group) else {
            throw .invalidPublicValue("\(value.count) bytes for \(group)")
        }
        switch kind {
        case let .montgomery(id, _):
            guard let peer = EVP_PKEY_new_raw_public_key(id, nil, value, value.count) else { throw .last("EVP_PKEY_new_raw_public_key") }
            return peer
        case let .modp(name, _):
            guard let bn = BN_bin2bn(value, Int32(value.count), nil) else { throw .last("BN_bin2bn") }
            defer { BN_free(bn) }
            var native = [UInt8](repeating: 0, count: value.count)
            guard BN_bn2nativepad(bn, &native, Int32(native.count)) == Int32(native.count) else { throw .last("BN_bn2nativepad") }
            return try fromData(type: "DH", group: name, publicKey: native, isBignum: true)
        case let .ecp(name, _):
            return try fromData(type: "EC", group: name, publicKey: [4] + value, isBignum: false)
        }
    }

    /// A public key from its group name and public value (native-endian for a BIGNUM,
    /// an encoded point otherwise), then OpenSSL's public-key check.
    private func fromData(type: String, group name: String, publicKey: [UInt8], isBignum: Bool) throws(CryptoError) -> OpaquePointer {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { throw .last("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_fromdata_init(ctx) == 1 else { throw .last("EVP_PKEY_fromdata_init") }
        var peer: OpaquePointer? = nil
        var pub = publicKey
        var groupName = Array(name.utf8CString)
        let ok = pub.withUnsafeMutableBytes { pubBytes in
            groupName.withUnsafeMutableBufferPointer { g in
                var list = [
                    OSSL_PARAM_construct_utf8_string(ike_ossl_group_name(), g.baseAddress, 0),
                    isBignum ? OSSL_PARAM_construct_BN(ike_ossl_pub_key(), pubBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), pubBytes.count)
                             : OSSL_PARAM_construct_octet_string(ike_ossl_pub_key(), pubBytes.baseAddress, pubBytes.count),
                    OSSL_PARAM_construct_end(),
                ]
                return EVP_PKEY_fromdata(ctx, &peer, ike_evp_pkey_public_key(), &list)
            }
        }
        guard ok == 1, let peer else {
            ERR_clear_error()
            throw .invalidPublicValue("not a valid \(group) public value")
        }
        guard let check = EVP_PKEY_CTX_new_from_pkey(nil, peer, nil) else {
            EVP_PKEY_free(peer)
            throw .last("EVP_PKEY_CTX_new_from_pkey")
        }
        defer { EVP_PKEY_CTX_free(check) }
        // RFC 6989 §2.2: the MODP groups' primes are safe (p = 2q+1), so their only small
        // subgroups are {1} and {1, p-1} and the range check is the whole check; the
        // subgroup exponentiation (y^q, a full-size modexp) would double what a
        // Diffie-Hellman costs an unauthenticated sender. ECP: the point is on the curve.
        guard EVP_PKEY_public_check_quick(check) == 1 else {
            EVP_PKEY_free(peer)
            ERR_clear_error()
            throw .invalidPublicValue("\(group) public value fails the RFC 6989 checks")
        }
        return peer
    }

    /// g^ir: the shared secret, MODP results left-padded to the modulus length
    /// (RFC 7296 §2.14), ECP the x coordinate (RFC 5903 §7), Curve25519/448 the raw
    /// output, refused when all zero (RFC 8031 §3.1).
    public func sharedSecret(peerPublicValue value: [UInt8]) throws(CryptoError) -> SecretBytes {
        let peer = try peerKey(value)
        defer { EVP_PKEY_free(peer) }
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else { throw .last("EVP_PKEY_CTX_new_from_pkey") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_derive_init(ctx) == 1 else { throw .last("EVP_PKEY_derive_init") }
        if case .modp = KeyExchange.kind(group) {
            guard EVP_PKEY_CTX_set_dh_pad(ctx, 1) == 1 else { throw .last("EVP_PKEY_CTX_set_dh_pad") }
        }
        // Checked in peerKey already: no second check.
        guard EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 else {
            ERR_clear_error()
            throw .invalidPublicValue("\(group) public value rejected")
        }
        var length = 0
        guard EVP_PKEY_derive(ctx, nil, &length) == 1 else { throw .last("EVP_PKEY_derive") }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_derive(ctx, &out, &length) == 1 else { throw .last("EVP_PKEY_derive") }
        if case .montgomery = KeyExchange.kind(group), out.allSatisfy({ $0 == 0 }) {
            wipe(&out)
            throw .invalidPublicValue("\(group) shared secret is all zero")
        }
        return SecretBytes(wiping: &out, count: length)
    }
}

/// Overwrites a temporary copy of key material.
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
}
