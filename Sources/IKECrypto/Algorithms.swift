import COpenSSL

/// OpenSSL's algorithms, fetched from the default provider once, on first use. OpenSSL 3
/// looks an algorithm up by name every time it is handed a legacy `EVP_sha256()`-style
/// object or asked for a one-shot `HMAC()`; a negotiation runs dozens of HMACs (prf+),
/// so those lookups once cost more than all the symmetric crypto. Fetched objects are
/// immutable and reference-counted, safe to share; each operation still gets its own
/// context.
enum Algorithms {
    nonisolated(unsafe) static let sha1 = digest("SHA1")
    nonisolated(unsafe) static let sha256 = digest("SHA2-256")
    nonisolated(unsafe) static let sha384 = digest("SHA2-384")
    nonisolated(unsafe) static let sha512 = digest("SHA2-512")

    nonisolated(unsafe) static let aes128CBC = cipher("AES-128-CBC")
    nonisolated(unsafe) static let aes256CBC = cipher("AES-256-CBC")
    nonisolated(unsafe) static let aes128GCM = cipher("AES-128-GCM")
    nonisolated(unsafe) static let aes256GCM = cipher("AES-256-GCM")
    nonisolated(unsafe) static let chacha20Poly1305 = cipher("ChaCha20-Poly1305")

    /// HMAC contexts with their digest set and no key: an operation duplicates one and
    /// keys the copy, so no name is resolved per message and no key outlives its use.
    nonisolated(unsafe) static let hmacSHA1 = hmacTemplate("SHA1")
    nonisolated(unsafe) static let hmacSHA256 = hmacTemplate("SHA2-256")
    nonisolated(unsafe) static let hmacSHA384 = hmacTemplate("SHA2-384")
    nonisolated(unsafe) static let hmacSHA512 = hmacTemplate("SHA2-512")

    private static func digest(_ name: StaticString) -> OpaquePointer {
        guard let md = EVP_MD_fetch(nil, UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self), nil) else {
            fatalError("libcrypto has no \(name)")
        }
        return md
    }

    private static func cipher(_ name: StaticString) -> OpaquePointer {
        guard let c = EVP_CIPHER_fetch(nil, UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self), nil) else {
            fatalError("libcrypto has no \(name)")
        }
        return c
    }

    private static func hmacTemplate(_ digest: StaticString) -> OpaquePointer {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil), let ctx = EVP_MAC_CTX_new(mac) else { fatalError("libcrypto has no HMAC") }
        EVP_MAC_free(mac)  // the context keeps its own reference
        var name = Array(UnsafeBufferPointer(start: UnsafeRawPointer(digest.utf8Start).assumingMemoryBound(to: CChar.self),
                                             count: digest.utf8CodeUnitCount)) + [0]
        let ok = name.withUnsafeMutableBufferPointer { n in
            var params = [OSSL_PARAM_construct_utf8_string(ike_ossl_mac_digest(), n.baseAddress, 0), OSSL_PARAM_construct_end()]
            return EVP_MAC_CTX_set_params(ctx, &params)
        }
        guard ok == 1 else { fatalError("libcrypto has no HMAC-\(digest)") }
        return ctx
    }
}
