import COpenSSL
import IKEWire

/// An HMAC-based pseudorandom function (RFC 7296 §2.13, RFC 4868) and prf+.
public struct PRF {
    /// Only the algorithm is stored; the hash, the HMAC and the output length come from
    /// the table when used: every IKE SA holds a PRF.
    public let algorithm: PseudorandomFunction
    /// The output length, also the preferred key length (SK_d, SK_pi, SK_pr).
    public var length: Int { PRF.supported(algorithm)!.length }
    private var md: OpaquePointer { PRF.supported(algorithm)!.md }
    private var mac: OpaquePointer { PRF.supported(algorithm)!.mac }

    public init?(_ algorithm: PseudorandomFunction) {
        guard PRF.supported(algorithm) != nil else { return nil }
        self.algorithm = algorithm
    }

    /// The one table of the PRFs we implement: the hash, its HMAC, the output length.
    private static func supported(_ algorithm: PseudorandomFunction) -> (md: OpaquePointer, mac: OpaquePointer, length: Int)? {
        switch algorithm {
        case .hmacSHA1: return (Algorithms.sha1, Algorithms.hmacSHA1, 20)
        case .hmacSHA2_256: return (Algorithms.sha256, Algorithms.hmacSHA256, 32)
        case .hmacSHA2_384: return (Algorithms.sha384, Algorithms.hmacSHA384, 48)
        case .hmacSHA2_512: return (Algorithms.sha512, Algorithms.hmacSHA512, 64)
        default: return nil  // a wire value we do not implement
        }
    }

    /// prf(key, data).
    public func compute(key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer) -> [UInt8] {
        hmac(mac, key: key, data: data, outputLength: length)
    }

    public func compute(key: SecretBytes, data: [UInt8]) -> [UInt8] {
        key.withBytes { k in data.withUnsafeBytes { compute(key: k, data: $0) } }
    }

    /// prf(key, data) when the output is itself a key (SKEYSEED, SKEYID and its
    /// children): no unwiped copy of it is left. `data` is wiped too, as it is made of
    /// key material (g^xy, SKEYID_d).
    public func secret(key: SecretBytes, wiping data: inout [UInt8]) -> SecretBytes {
        var out = compute(key: key, data: data)
        wipe(&data)
        return SecretBytes(wiping: &out)
    }

    /// The plain hash under the HMAC: IKEv1 negotiates a hash and uses it bare for its
    /// IVs and NAT-D payloads (RFC 2409 Appendix B, RFC 3947 §3.2).
    public func hash(_ data: [UInt8]) -> [UInt8] { Digest.compute(md, data, length: length) }

    /// prf+ (K, S) = T1 | T2 | ..., Tn = prf(K, Tn-1 | S | n), cut to `count` bytes
    /// (RFC 7296 §2.13; at most 255 iterations).
    public func plus(key: SecretBytes, seed: [UInt8], count: Int) -> SecretBytes {
        precondition(count <= 255 * length, "prf+ asked for more than 255 blocks")
        var out: [UInt8] = []
        out.reserveCapacity(count + length)
        var previous: [UInt8] = []
        var input: [UInt8] = []
        input.reserveCapacity(length + seed.count + 1)
        // Every block is keyed by the same K: the key is applied once, and each block
        // starts from a copy of that keyed state rather than hashing the key pads again.
        let keyed = key.withBytes { keyedMAC(mac, key: $0) }
        defer { EVP_MAC_CTX_free(keyed) }
        var n: UInt8 = 1
        while out.count < count {
            input += previous
            input += seed
            input.append(n)
            wipe(&previous)
            previous = input.withUnsafeBytes { finish(keyed, data: $0, outputLength: length) }
            wipe(&input)
            input.removeAll(keepingCapacity: true)
            out += previous
            n &+= 1
        }
        wipe(&previous)
        return SecretBytes(wiping: &out, count: count)
    }
}

/// A MAC context from `template` with `key` applied; the caller frees it.
func keyedMAC(_ template: OpaquePointer, key: UnsafeRawBufferPointer) -> OpaquePointer {
    guard let ctx = EVP_MAC_CTX_dup(template) else { fatalError("EVP_MAC_CTX_dup failed") }
    let empty: UInt8 = 0
    let ok = withUnsafePointer(to: empty) { nothing in
        EVP_MAC_init(ctx, key.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? nothing, key.count, nil) == 1
    }
    precondition(ok, "HMAC key setup failed")
    return ctx
}

/// The MAC of `data` under the key of `keyed`, which is left as it was (a copy is used).
func finish(_ keyed: OpaquePointer, data: UnsafeRawBufferPointer, outputLength: Int) -> [UInt8] {
    guard let ctx = EVP_MAC_CTX_dup(keyed) else { fatalError("EVP_MAC_CTX_dup failed") }
    defer { EVP_MAC_CTX_free(ctx) }
    return macFinal(ctx, data: data, outputLength: outputLength)
}

/// HMAC over one buffer, its output cut to `outputLength`: a copy of `template` (an
/// `Algorithms` HMAC context) keyed for this one operation, then freed, which wipes it.
func hmac(_ template: OpaquePointer, key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer, outputLength: Int) -> [UInt8] {
    let ctx = keyedMAC(template, key: key)
    defer { EVP_MAC_CTX_free(ctx) }
    return macFinal(ctx, data: data, outputLength: outputLength)
}

/// Feeds `data` to a keyed context and returns the first `outputLength` bytes of its MAC.
private func macFinal(_ ctx: OpaquePointer, data: UnsafeRawBufferPointer, outputLength: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 64)
    var length = 0
    let empty: UInt8 = 0
    let ok = withUnsafePointer(to: empty) { nothing in
        EVP_MAC_update(ctx, data.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? nothing, data.count) == 1
            && EVP_MAC_final(ctx, &out, &length, out.count) == 1
    }
    precondition(ok && length >= outputLength, "HMAC failed")
    defer { wipe(&out) }  // the output may be a key
    return Array(out[0..<outputLength])
}

/// An integrity algorithm: HMAC truncated (RFC 2404, RFC 4868).
public struct Integrity {
    /// Only the algorithm is stored, as for `PRF`.
    public let algorithm: IntegrityAlgorithm
    /// The key length (SK_ai, SK_ar): the hash's output (RFC 4868 §2.1.1).
    public var keyLength: Int { Integrity.supported(algorithm)!.keyLength }
    /// The truncated output, the ICV.
    public var icvLength: Int { Integrity.supported(algorithm)!.icvLength }
    private var mac: OpaquePointer { Integrity.supported(algorithm)!.mac }

    public init?(_ algorithm: IntegrityAlgorithm) {
        guard Integrity.supported(algorithm) != nil else { return nil }
        self.algorithm = algorithm
    }

    /// The one table of the integrity algorithms we implement: the HMAC, key and ICV lengths.
    private static func supported(_ algorithm: IntegrityAlgorithm) -> (mac: OpaquePointer, keyLength: Int, icvLength: Int)? {
        switch algorithm {
        case .hmacSHA1_96: return (Algorithms.hmacSHA1, 20, 12)
        case .hmacSHA2_256_128: return (Algorithms.hmacSHA256, 32, 16)
        case .hmacSHA2_384_192: return (Algorithms.hmacSHA384, 48, 24)
        case .hmacSHA2_512_256: return (Algorithms.hmacSHA512, 64, 32)
        default: return nil  // a wire value we do not implement
        }
    }

    public func icv(key: SecretBytes, data: UnsafeRawBufferPointer) -> [UInt8] {
        key.withBytes { icv(key: $0, data: data) }
    }

    public func icv(key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer) -> [UInt8] {
        hmac(mac, key: key, data: data, outputLength: icvLength)
    }
}

/// Plain digests where a protocol names one: SHA-1 for NAT detection (RFC 7296 §2.23).
public enum Digest {
    public static func sha1(_ data: [UInt8]) -> [UInt8] { compute(Algorithms.sha1, data, length: 20) }

    static func compute(_ md: OpaquePointer, _ data: [UInt8], length expected: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { EVP_Digest($0.baseAddress, $0.count, &out, &length, md, nil) }
        precondition(ok == 1 && Int(length) == expected, "digest failed")
        return Array(out[0..<expected])
    }
}
