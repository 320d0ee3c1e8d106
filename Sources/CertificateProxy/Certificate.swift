import COpenSSL
import IKECrypto
import IKEWire

/// One X.509 certificate, parsed by OpenSSL (the untrusted ASN.1 stays inside cpsd).
public final class Certificate {
    let x509: OpaquePointer

    init(owning x509: OpaquePointer) { self.x509 = x509 }
    deinit { X509_free(x509) }

    /// A DER certificate, e.g. the data of a CERT payload; nil if it does not parse.
    public convenience init?(der: [UInt8]) {
        var parsed: OpaquePointer? = nil
        der.withUnsafeBufferPointer { buffer in
            var p: UnsafePointer<UInt8>? = buffer.baseAddress
            parsed = d2i_X509(nil, &p, buffer.count)
        }
        guard let parsed else { return nil }
        self.init(owning: parsed)
    }

    /// Every certificate of a PEM text (several may follow each other), or the one of a
    /// DER file.
    public static func parse(_ bytes: [UInt8]) -> [Certificate] {
        if !PEM.isPEM(bytes) { return Certificate(der: bytes).map { [$0] } ?? [] }
        var found: [Certificate] = []
        PEM.withBIO(bytes) { bio in
            while let x = PEM_read_bio_X509(bio, nil, nil, nil) { found.append(Certificate(owning: x)) }
        }
        ERR_clear_error()
        return found
    }

    public var der: [UInt8] { DERBytes.encode { i2d_X509(x509, $0) } }

    /// The subject as an ID_DER_ASN1_DN identity.
    public var subject: Identity { Certificate.name(X509_get_subject_name(x509)) }
    public var issuer: Identity { Certificate.name(X509_get_issuer_name(x509)) }

    static func name(_ name: OpaquePointer?) -> Identity {
        guard let name else { return .any }
        let der = DERBytes.encode { i2d_X509_NAME(name, $0) }
        return der.isEmpty ? .any : Identity(idType: 9, data: der) ?? .any
    }

    /// The subjectAltNames an IKE identity can name: DNS names, email addresses, IP addresses.
    public var alternativeNames: [Identity] {
        var names: [Identity] = []
        var buffer = [UInt8](repeating: 0, count: 255)
        var i: Int32 = 0
        while true {
            var type: Int32 = 0
            let length = buffer.withUnsafeMutableBufferPointer { ike_x509_san(x509, i, &type, $0.baseAddress, 255) }
            if length < 0 { break }
            let bytes = Array(buffer[0..<Int(length)])
            switch type {
            case 2: names.append(.fqdn(IdentityName(octets: bytes)))
            case 1: names.append(.rfc822(IdentityName(octets: bytes)))
            case 7: if let a = bytes.withUnsafeBytes({ IPAddress(bytes: $0) }) { names.append(.address(a)) }
            default: break
            }
            i += 1
        }
        return names
    }

    /// Whether this certificate proves `identity`: its subject DN or one of its
    /// subjectAltNames (RFC 4945 §3.1).
    public func proves(_ identity: Identity) -> Bool {
        if case .distinguishedName = identity { return identity.accepts(subject) }
        return alternativeNames.contains { name in
            if case let .fqdn(a) = name, case let .fqdn(b) = identity { return a.sameHost(as: b) }
            return name == identity
        }
    }

    public var notBefore: Int64 { Int64(ike_asn1_time_unix(X509_get0_notBefore(x509))) }
    public var notAfter: Int64 { Int64(ike_asn1_time_unix(X509_get0_notAfter(x509))) }

    /// The serial number in hex.
    public var serial: String {
        guard let bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509), nil) else { return "?" }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return "?" }
        defer { CRYPTO_free(hex, nil, 0) }
        return String(cString: hex).asciiLowercased
    }

    public var isSelfSigned: Bool { X509_check_issued(x509, x509) == 0 }

    /// SHA-1 of the SubjectPublicKeyInfo: a CA's entry in CERTREQ (RFC 7296 §3.7).
    public var publicKeyHash: [UInt8] {
        guard let spki = X509_get_X509_PUBKEY(x509) else { return [] }
        return Digest.sha1(DERBytes.encode { i2d_X509_PUBKEY(spki, $0) })
    }

    public var keyType: KeyType { KeyType(X509_get0_pubkey(x509)) }
}

/// The public-key algorithms IKE signs with.
public enum KeyType: Equatable, CustomStringConvertible, Sendable {
    case rsa(bits: Int)
    case ecdsa(bits: Int)
    case ed25519
    case unsupported

    init(_ key: OpaquePointer?) {
        guard let key else { self = .unsupported; return }
        let bits = Int(EVP_PKEY_get_bits(key))
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA: self = .rsa(bits: bits)
        case EVP_PKEY_EC: self = bits == 256 || bits == 384 || bits == 521 ? .ecdsa(bits: bits) : .unsupported
        case EVP_PKEY_ED25519: self = .ed25519
        default: self = .unsupported
        }
    }

    public var description: String {
        switch self {
        case let .rsa(bits): return "RSA \(bits)"
        case let .ecdsa(bits): return "ECDSA P-\(bits)"
        case .ed25519: return "Ed25519"
        case .unsupported: return "unsupported"
        }
    }
}

/// OpenSSL's i2d_* calling convention: asked with a null pointer for the length, then
/// writing through a pointer it advances. Empty on failure.
enum DERBytes {
    static func encode(_ i2d: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) -> [UInt8] {
        let length = i2d(nil)
        guard length > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { buffer in
            var p: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d(&p)
        }
        return written == length ? out : []
    }
}

/// PEM input through a memory BIO.
enum PEM {
    static func isPEM(_ bytes: [UInt8]) -> Bool {
        let marker = Array("-----BEGIN ".utf8)
        guard bytes.count >= marker.count else { return false }
        for start in 0...(bytes.count - marker.count) where bytes[start] == 0x2D {
            if Array(bytes[start..<(start + marker.count)]) == marker { return true }
        }
        return false
    }

    static func withBIO(_ bytes: [UInt8], _ body: (OpaquePointer) -> Void) {
        bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return }
            body(bio)
            BIO_free(bio)
        }
    }
}
