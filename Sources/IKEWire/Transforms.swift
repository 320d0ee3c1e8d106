/// IKEv2 transform IDs (RFC 7296 §3.3.2, IANA "Internet Key Exchange Version 2 (IKEv2)
/// Parameters"). Unknown values from the wire stay representable; names are the RFC's.

/// Transform Type 1: encryption algorithms.
public struct EncryptionAlgorithm: RawRepresentable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let aesCBC = EncryptionAlgorithm(rawValue: 12)
    /// AES-GCM with a 16-octet ICV (RFC 4106, RFC 5282).
    public static let aesGCM16 = EncryptionAlgorithm(rawValue: 20)
    /// RFC 7634.
    public static let chacha20Poly1305 = EncryptionAlgorithm(rawValue: 28)

    /// Combined-mode (AEAD) ciphers carry their own integrity protection.
    public var isAEAD: Bool { self == .aesGCM16 || self == .chacha20Poly1305 }

    public var description: String {
        switch self {
        case .aesCBC: return "ENCR_AES_CBC"
        case .aesGCM16: return "ENCR_AES_GCM_16"
        case .chacha20Poly1305: return "ENCR_CHACHA20_POLY1305"
        default: return "ENCR(\(rawValue))"
        }
    }
}

/// An encryption algorithm with its key length in bits (0 where the algorithm has one
/// fixed length and no Key Length attribute, as ChaCha20-Poly1305).
public struct Cipher: Hashable, CustomStringConvertible, Sendable {
    public var algorithm: EncryptionAlgorithm
    public var keyBits: UInt16

    public init(_ algorithm: EncryptionAlgorithm, keyBits: UInt16) {
        self.algorithm = algorithm
        self.keyBits = keyBits
    }

    public var description: String { keyBits == 0 ? algorithm.description : "\(algorithm)_\(keyBits)" }
}

/// Transform Type 2: pseudorandom functions.
public struct PseudorandomFunction: RawRepresentable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let hmacSHA1 = PseudorandomFunction(rawValue: 2)
    public static let hmacSHA2_256 = PseudorandomFunction(rawValue: 5)
    public static let hmacSHA2_384 = PseudorandomFunction(rawValue: 6)
    public static let hmacSHA2_512 = PseudorandomFunction(rawValue: 7)

    public var description: String {
        switch self {
        case .hmacSHA1: return "PRF_HMAC_SHA1"
        case .hmacSHA2_256: return "PRF_HMAC_SHA2_256"
        case .hmacSHA2_384: return "PRF_HMAC_SHA2_384"
        case .hmacSHA2_512: return "PRF_HMAC_SHA2_512"
        default: return "PRF(\(rawValue))"
        }
    }
}

/// Transform Type 3: integrity algorithms.
public struct IntegrityAlgorithm: RawRepresentable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let hmacSHA1_96 = IntegrityAlgorithm(rawValue: 2)
    public static let hmacSHA2_256_128 = IntegrityAlgorithm(rawValue: 12)
    public static let hmacSHA2_384_192 = IntegrityAlgorithm(rawValue: 13)
    public static let hmacSHA2_512_256 = IntegrityAlgorithm(rawValue: 14)

    public var description: String {
        switch self {
        case .hmacSHA1_96: return "AUTH_HMAC_SHA1_96"
        case .hmacSHA2_256_128: return "AUTH_HMAC_SHA2_256_128"
        case .hmacSHA2_384_192: return "AUTH_HMAC_SHA2_384_192"
        case .hmacSHA2_512_256: return "AUTH_HMAC_SHA2_512_256"
        default: return "AUTH(\(rawValue))"
        }
    }
}

/// Transform Type 4: Diffie-Hellman groups (key exchange methods).
public struct DHGroup: RawRepresentable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let modp2048 = DHGroup(rawValue: 14)
    public static let modp3072 = DHGroup(rawValue: 15)
    public static let modp4096 = DHGroup(rawValue: 16)
    public static let ecp256 = DHGroup(rawValue: 19)
    public static let ecp384 = DHGroup(rawValue: 20)
    public static let ecp521 = DHGroup(rawValue: 21)
    public static let curve25519 = DHGroup(rawValue: 31)
    public static let curve448 = DHGroup(rawValue: 32)

    public var description: String {
        switch self {
        case .modp2048: return "MODP_2048"
        case .modp3072: return "MODP_3072"
        case .modp4096: return "MODP_4096"
        case .ecp256: return "ECP_256"
        case .ecp384: return "ECP_384"
        case .ecp521: return "ECP_521"
        case .curve25519: return "CURVE_25519"
        case .curve448: return "CURVE_448"
        default: return "DH(\(rawValue))"
        }
    }
}
