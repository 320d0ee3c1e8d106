import COpenSSL
import IKEWire

/// The hash algorithms of RFC 7427 §7 (SIGNATURE_HASH_ALGORITHMS), with RFC 8420's
/// "Identity" for EdDSA, which hashes nothing itself.
public enum SignatureHash: UInt16, CaseIterable, Sendable {
    case sha1 = 1, sha256 = 2, sha384 = 3, sha512 = 4, identity = 5

    var digestName: String? {
        switch self {
        case .sha1: return "SHA1"
        case .sha256: return "SHA256"
        case .sha384: return "SHA384"
        case .sha512: return "SHA512"
        case .identity: return nil
        }
    }

    var length: Int {
        switch self {
        case .sha1: return 20
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        case .identity: return 0
        }
    }

    /// The DER of the hash's OID (2.16.840.1.101.3.4.2.x; SHA-1 1.3.14.3.2.26).
    var oid: [UInt8] {
        switch self {
        case .sha1: return [0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A]
        case .sha256: return [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01]
        case .sha384: return [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02]
        case .sha512: return [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03]
        case .identity: return []
        }
    }

    /// What we announce: every hash we can verify with.
    public static let supported: [SignatureHash] = [.sha256, .sha384, .sha512, .identity]
}

/// A signature algorithm as IKE names it: how the AUTH payload's data is formed.
public enum SignatureScheme: Equatable, CustomStringConvertible, Sendable {
    case rsaPKCS1(SignatureHash)
    case rsaPSS(SignatureHash)
    case ecdsa(SignatureHash)
    case ed25519

    public var description: String {
        switch self {
        case let .rsaPKCS1(h): return "RSA PKCS#1 v1.5 with \(h.digestName ?? "?")"
        case let .rsaPSS(h): return "RSA-PSS with \(h.digestName ?? "?")"
        case let .ecdsa(h): return "ECDSA with \(h.digestName ?? "?")"
        case .ed25519: return "Ed25519"
        }
    }

    var hash: SignatureHash {
        switch self {
        case let .rsaPKCS1(h), let .rsaPSS(h), let .ecdsa(h): return h
        case .ed25519: return .identity
        }
    }

    /// RFC 7427 §3: the DER AlgorithmIdentifier before the signature in an AUTH payload of
    /// method 14.
    var algorithmIdentifier: [UInt8] {
        switch self {
        case let .ecdsa(h):
            // ecdsa-with-SHA256/384/512: 1.2.840.10045.4.3.2/3/4, no parameters.
            let last: UInt8 = h == .sha384 ? 3 : h == .sha512 ? 4 : 2
            return [0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, last]
        case .ed25519:
            return [0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70]
        case let .rsaPKCS1(h):
            // sha1/256/384/512WithRSAEncryption: 1.2.840.113549.1.1.5/11/12/13, NULL.
            let last: UInt8 = h == .sha1 ? 5 : h == .sha384 ? 12 : h == .sha512 ? 13 : 11
            return [0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, last, 0x05, 0x00]
        case let .rsaPSS(h):
            // RSASSA-PSS (1.2.840.113549.1.1.10) with the hash, MGF1 over the same hash and
            // a salt as long as the hash (RFC 4055 §3.1).
            let hashAlgorithm = DER.sequence(h.oid + [0x05, 0x00])
            let mgf = DER.sequence([0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x08] + hashAlgorithm)
            let params = DER.sequence(DER.tagged(0xA0, hashAlgorithm) + DER.tagged(0xA1, mgf)
                                      + DER.tagged(0xA2, [0x02, 0x01, UInt8(h.length)]))
            return DER.sequence(Signature.pssOID + params)
        }
    }

    /// The scheme an AlgorithmIdentifier of method 14 names; nil: one we do not verify.
    static func parse(algorithmIdentifier id: [UInt8]) -> (SignatureScheme, pssSalt: Int)? {
        for h in [SignatureHash.sha256, .sha384, .sha512] {
            if id == SignatureScheme.ecdsa(h).algorithmIdentifier { return (.ecdsa(h), 0) }
        }
        for h in [SignatureHash.sha1, .sha256, .sha384, .sha512] {
            if id == SignatureScheme.rsaPKCS1(h).algorithmIdentifier { return (.rsaPKCS1(h), 0) }
        }
        if id == SignatureScheme.ed25519.algorithmIdentifier { return (.ed25519, 0) }
        // RSASSA-PSS: read the parameters (hash in [0], salt length in [2]; SHA-1 and 20
        // when absent, RFC 4055 §3.1).
        var outer = DER.Reader(id)
        guard let body = outer.read(tag: 0x30) else { return nil }
        var r = DER.Reader(body)
        guard let oid = r.readTLV(), oid == Signature.pssOID else { return nil }
        var hash = SignatureHash.sha1, salt = 20
        if let params = r.read(tag: 0x30) {
            var p = DER.Reader(params)
            while let (tag, value) = p.readAny() {
                var inner = DER.Reader(value)
                if tag == 0xA0 {
                    guard let algorithm = inner.read(tag: 0x30) else { return nil }
                    var a = DER.Reader(algorithm)
                    guard let hashOID = a.readTLV(), let h = SignatureHash.allCases.first(where: { $0 != .identity && $0.oid == hashOID }) else { return nil }
                    hash = h
                } else if tag == 0xA2 {
                    guard let integer = inner.read(tag: 0x02), !integer.isEmpty, integer.count <= 2 else { return nil }
                    salt = integer.reduce(0) { $0 << 8 | Int($1) }
                }
            }
        }
        guard hash != .sha1 else { return nil }
        return (.rsaPSS(hash), salt)
    }
}

/// AUTH methods (RFC 7296 §3.8, RFC 4754, RFC 7427).
public enum AuthenticationMethod {
    public static let rsaSignature: UInt8 = 1
    public static let ecdsaP256: UInt8 = 9
    public static let ecdsaP384: UInt8 = 10
    public static let ecdsaP521: UInt8 = 11
    public static let digitalSignature: UInt8 = 14
}

/// Signing and verifying with OpenSSL's EVP interface, and the AUTH payload encodings.
public enum Signature {
    static let pssOID: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A]

    /// The scheme and AUTH method for a key, given the hashes the peer announced (empty:
    /// it does not support RFC 7427, so ECDSA and RSA use their own methods).
    static func choose(_ key: KeyType, peerHashes: [UInt16]) -> (method: UInt8, SignatureScheme)? {
        let offered = peerHashes.compactMap { SignatureHash(rawValue: $0) }
        func pick(_ preferred: SignatureHash) -> SignatureHash? {
            offered.contains(preferred) ? preferred : [SignatureHash.sha256, .sha384, .sha512].first { offered.contains($0) }
        }
        switch key {
        case let .ecdsa(bits):
            let natural: SignatureHash = bits == 384 ? .sha384 : bits == 521 ? .sha512 : .sha256
            if !offered.isEmpty, let h = pick(natural) { return (AuthenticationMethod.digitalSignature, .ecdsa(h)) }
            let method = bits == 384 ? AuthenticationMethod.ecdsaP384 : bits == 521 ? AuthenticationMethod.ecdsaP521 : AuthenticationMethod.ecdsaP256
            return (method, .ecdsa(natural))
        case .rsa:
            if !offered.isEmpty, let h = pick(.sha256) { return (AuthenticationMethod.digitalSignature, .rsaPSS(h)) }
            return (AuthenticationMethod.rsaSignature, .rsaPKCS1(.sha1))
        case .ed25519:
            return offered.contains(.identity) ? (AuthenticationMethod.digitalSignature, .ed25519) : nil
        case .unsupported:
            return nil
        }
    }

    /// The AUTH payload data for `signature` made with `scheme` under `method`.
    static func authData(method: UInt8, scheme: SignatureScheme, signature: [UInt8], key: KeyType) -> [UInt8]? {
        switch method {
        case AuthenticationMethod.digitalSignature:
            let id = scheme.algorithmIdentifier
            return [UInt8(id.count)] + id + signature
        case AuthenticationMethod.ecdsaP256, AuthenticationMethod.ecdsaP384, AuthenticationMethod.ecdsaP521:
            guard case let .ecdsa(bits) = key else { return nil }
            return ECDSASignature.raw(der: signature, fieldBytes: (bits + 7) / 8)
        default:
            return signature
        }
    }

    /// What an AUTH payload says: the scheme to verify with and the signature in
    /// OpenSSL's form. nil: a method or algorithm we do not take, or a malformed one.
    static func parse(method: UInt8, data: [UInt8], key: KeyType) -> (SignatureScheme, pssSalt: Int, signature: [UInt8])? {
        switch method {
        case AuthenticationMethod.rsaSignature:
            guard case .rsa = key else { return nil }
            return (.rsaPKCS1(.sha1), 0, data)
        case AuthenticationMethod.ecdsaP256, AuthenticationMethod.ecdsaP384, AuthenticationMethod.ecdsaP521:
            let bits = method == AuthenticationMethod.ecdsaP256 ? 256 : method == AuthenticationMethod.ecdsaP384 ? 384 : 521
            guard key == .ecdsa(bits: bits), let der = ECDSASignature.der(raw: data) else { return nil }
            return (.ecdsa(bits == 256 ? .sha256 : bits == 384 ? .sha384 : .sha512), 0, der)
        case AuthenticationMethod.digitalSignature:
            guard let length = data.first, data.count > 1 + Int(length) else { return nil }
            let id = Array(data[1..<(1 + Int(length))])
            guard let (scheme, salt) = SignatureScheme.parse(algorithmIdentifier: id) else { return nil }
            switch (scheme, key) {
            case (.ecdsa, .ecdsa), (.rsaPKCS1, .rsa), (.rsaPSS, .rsa), (.ed25519, .ed25519): break
            default: return nil
            }
            return (scheme, salt, Array(data[(1 + Int(length))...]))
        default:
            return nil
        }
    }

    /// Signs `octets` with `key` (an EVP_PKEY); nil on failure.
    static func sign(_ key: OpaquePointer, _ scheme: SignatureScheme, _ octets: [UInt8]) -> [UInt8]? {
        guard let ctx = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(ctx) }
        guard prepare(ctx, key, scheme, pssSalt: scheme.hash.length, signing: true) else { return nil }
        var length = 0
        guard octets.withUnsafeBufferPointer({ EVP_DigestSign(ctx, nil, &length, $0.baseAddress, $0.count) }) == 1 else {
            ERR_clear_error()
            return nil
        }
        var out = [UInt8](repeating: 0, count: length)
        let done = out.withUnsafeMutableBufferPointer { o in
            octets.withUnsafeBufferPointer { EVP_DigestSign(ctx, o.baseAddress, &length, $0.baseAddress, $0.count) }
        }
        guard done == 1 else { ERR_clear_error(); return nil }
        return Array(out[0..<length])
    }

    /// Sets `ctx` up to sign or verify with `key` under `scheme` (the digest by name, none
    /// for Ed25519; PSS padding and salt for RSA-PSS).
    static func prepare(_ ctx: OpaquePointer, _ key: OpaquePointer, _ scheme: SignatureScheme, pssSalt: Int, signing: Bool) -> Bool {
        var pctx: OpaquePointer? = nil
        func initialize(_ digest: UnsafePointer<CChar>?) -> Int32 {
            signing ? EVP_DigestSignInit_ex(ctx, &pctx, digest, nil, nil, key, nil)
                : EVP_DigestVerifyInit_ex(ctx, &pctx, digest, nil, nil, key, nil)
        }
        let ok = scheme.hash.digestName.map { name in name.withCString { initialize($0) } } ?? initialize(nil)
        guard ok == 1 else { ERR_clear_error(); return false }
        if case .rsaPSS = scheme {
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, ike_rsa_pkcs1_pss_padding()) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, Int32(pssSalt)) == 1 else { ERR_clear_error(); return false }
        }
        return true
    }

    /// Whether `signature` over `octets` verifies with the public key `key`.
    static func verify(_ key: OpaquePointer, _ scheme: SignatureScheme, pssSalt: Int, _ octets: [UInt8], _ signature: [UInt8]) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard prepare(ctx, key, scheme, pssSalt: pssSalt, signing: false) else { return false }
        let result = signature.withUnsafeBufferPointer { s in
            octets.withUnsafeBufferPointer { EVP_DigestVerify(ctx, s.baseAddress, s.count, $0.baseAddress, $0.count) }
        }
        ERR_clear_error()
        return result == 1
    }
}

/// IKEv1's signatures (RFC 2409 §5.1, RFC 4754): over HASH_I or HASH_R itself, with no
/// hash of their own; RSA with PKCS#1 v1.5 padding and no DigestInfo, ECDSA as r | s.
/// The phase 1 authentication method says which key signs.
enum IKEv1Signature {
    static let rsa = UInt8(IKEv1Number.authRSASignature)
    static let ecdsaP256 = UInt8(IKEv1Number.authECDSA256)
    static let ecdsaP384 = UInt8(IKEv1Number.authECDSA384)
    static let ecdsaP521 = UInt8(IKEv1Number.authECDSA521)

    /// The authentication method a key signs phase 1 with; nil: none (Ed25519).
    static func method(_ key: KeyType) -> UInt8? {
        switch key {
        case .rsa: return rsa
        case let .ecdsa(bits): return bits == 384 ? ecdsaP384 : bits == 521 ? ecdsaP521 : ecdsaP256
        case .ed25519, .unsupported: return nil
        }
    }

    static func sign(_ key: OpaquePointer, _ type: KeyType, _ hash: [UInt8]) -> [UInt8]? {
        guard let ctx = EVP_PKEY_CTX_new(key, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(ctx) }
        var length = 0
        guard EVP_PKEY_sign_init(ctx) == 1,
              hash.withUnsafeBufferPointer({ EVP_PKEY_sign(ctx, nil, &length, $0.baseAddress, $0.count) }) == 1 else {
            ERR_clear_error()
            return nil
        }
        var out = [UInt8](repeating: 0, count: length)
        let done = out.withUnsafeMutableBufferPointer { o in
            hash.withUnsafeBufferPointer { EVP_PKEY_sign(ctx, o.baseAddress, &length, $0.baseAddress, $0.count) }
        }
        guard done == 1 else { ERR_clear_error(); return nil }
        let signature = Array(out[0..<length])
        if case let .ecdsa(bits) = type { return ECDSASignature.raw(der: signature, fieldBytes: (bits + 7) / 8) }
        return signature
    }

    static func verify(_ key: OpaquePointer, _ type: KeyType, method: UInt8, _ hash: [UInt8], _ signature: [UInt8]) -> Bool {
        var form = signature
        switch type {
        case .rsa:
            guard method == rsa else { return false }
        case let .ecdsa(bits):
            guard method == IKEv1Signature.method(type), signature.count == 2 * ((bits + 7) / 8),
                  let der = ECDSASignature.der(raw: signature) else { return false }
            form = der
        case .ed25519, .unsupported:
            return false
        }
        guard let ctx = EVP_PKEY_CTX_new(key, nil) else { return false }
        defer { EVP_PKEY_CTX_free(ctx) }
        let ok = EVP_PKEY_verify_init(ctx) == 1 && form.withUnsafeBufferPointer { s in
            hash.withUnsafeBufferPointer { EVP_PKEY_verify(ctx, s.baseAddress, s.count, $0.baseAddress, $0.count) }
        } == 1
        ERR_clear_error()
        return ok
    }
}

/// ECDSA signatures as OpenSSL makes them (DER, RFC 3279) and as methods 9–11 carry
/// them (r | s, each as long as the field, RFC 4754 §7).
enum ECDSASignature {
    static func raw(der: [UInt8], fieldBytes: Int) -> [UInt8]? {
        var parsed: OpaquePointer? = nil
        der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            parsed = d2i_ECDSA_SIG(nil, &p, b.count)
        }
        guard let sig = parsed else { return nil }
        defer { ECDSA_SIG_free(sig) }
        var out = [UInt8](repeating: 0, count: 2 * fieldBytes)
        let ok = out.withUnsafeMutableBufferPointer { o in
            BN_bn2binpad(ECDSA_SIG_get0_r(sig), o.baseAddress, Int32(fieldBytes)) == Int32(fieldBytes)
                && BN_bn2binpad(ECDSA_SIG_get0_s(sig), o.baseAddress! + fieldBytes, Int32(fieldBytes)) == Int32(fieldBytes)
        }
        return ok ? out : nil
    }

    static func der(raw: [UInt8]) -> [UInt8]? {
        guard !raw.isEmpty, raw.count % 2 == 0, let sig = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(sig) }
        let half = raw.count / 2
        let r = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(half), nil) }
        let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + half, Int32(half), nil) }
        guard let r, let s, ECDSA_SIG_set0(sig, r, s) == 1 else { return nil }
        let der = DERBytes.encode { i2d_ECDSA_SIG(sig, $0) }
        return der.isEmpty ? nil : der
    }
}

/// Just enough DER to write and read AlgorithmIdentifiers.
enum DER {
    static func length(_ n: Int) -> [UInt8] {
        n < 0x80 ? [UInt8(n)] : n < 0x100 ? [0x81, UInt8(n)] : [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
    }
    static func tagged(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] { [tag] + length(body.count) + body }
    static func sequence(_ body: [UInt8]) -> [UInt8] { tagged(0x30, body) }

    struct Reader {
        let bytes: [UInt8]
        var at = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        /// The next element's tag and contents.
        mutating func readAny() -> (UInt8, [UInt8])? {
            guard at + 2 <= bytes.count else { return nil }
            let tag = bytes[at]
            var length = Int(bytes[at + 1])
            var start = at + 2
            if length & 0x80 != 0 {
                let n = length & 0x7F
                guard n >= 1, n <= 2, start + n <= bytes.count else { return nil }
                length = 0
                for i in 0..<n { length = length << 8 | Int(bytes[start + i]) }
                start += n
            }
            guard start + length <= bytes.count else { return nil }
            at = start + length
            return (tag, Array(bytes[start..<at]))
        }

        mutating func read(tag: UInt8) -> [UInt8]? {
            guard let (t, body) = readAny(), t == tag else { return nil }
            return body
        }

        /// The next element whole, tag and length included.
        mutating func readTLV() -> [UInt8]? {
            let start = at
            guard readAny() != nil else { return nil }
            return Array(bytes[start..<at])
        }
    }
}
