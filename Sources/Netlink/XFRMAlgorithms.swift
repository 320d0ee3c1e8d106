import IKEWire
import Kernel

/// How each transform the engines negotiate is named to the kernel's XFRM (the crypto
/// API's names) and sized. One table; `XFRMAlgorithms.esp` covers every cipher and
/// integrity algorithm an ESP proposal can carry (tested against the proposal keywords).
public enum XFRMAlgorithms {
    /// An AEAD cipher: name, key bits including the salt, ICV bits.
    public struct AEAD: Equatable {
        public let name: String
        public let keyBits: UInt32
        public let icvBits: UInt32

        public init(name: String, keyBits: UInt32, icvBits: UInt32) {
            self.name = name
            self.keyBits = keyBits
            self.icvBits = icvBits
        }
    }

    /// A cipher with a separate integrity algorithm.
    public struct Separate: Equatable {
        public let cipher: String
        public let cipherKeyBits: UInt32
        public let integrity: String
        public let integrityKeyBits: UInt32
        public let truncationBits: UInt32

        public init(cipher: String, cipherKeyBits: UInt32, integrity: String, integrityKeyBits: UInt32, truncationBits: UInt32) {
            self.cipher = cipher
            self.cipherKeyBits = cipherKeyBits
            self.integrity = integrity
            self.integrityKeyBits = integrityKeyBits
            self.truncationBits = truncationBits
        }
    }

    public enum Choice: Equatable {
        case aead(AEAD)
        case separate(Separate)
    }

    /// The kernel's names for a negotiated ESP cipher and integrity algorithm; nil when
    /// XFRM has no such algorithm (then the SA cannot be installed).
    public static func esp(_ cipher: Cipher, _ integrity: IntegrityAlgorithm?) -> Choice? {
        switch cipher.algorithm {
        case .aesGCM16:
            guard cipher.keyBits == 128 || cipher.keyBits == 256 else { return nil }
            return .aead(AEAD(name: "rfc4106(gcm(aes))", keyBits: UInt32(cipher.keyBits) + 32, icvBits: 128))
        case .chacha20Poly1305:
            return .aead(AEAD(name: "rfc7539esp(chacha20,poly1305)", keyBits: 256 + 32, icvBits: 128))
        case .aesCBC:
            guard cipher.keyBits == 128 || cipher.keyBits == 256, let integrity else { return nil }
            let auth: (String, UInt32, UInt32)
            switch integrity {
            case .hmacSHA1_96: auth = ("hmac(sha1)", 160, 96)
            case .hmacSHA2_256_128: auth = ("hmac(sha256)", 256, 128)
            case .hmacSHA2_384_192: auth = ("hmac(sha384)", 384, 192)
            case .hmacSHA2_512_256: auth = ("hmac(sha512)", 512, 256)
            default: return nil
            }
            return .separate(Separate(cipher: "cbc(aes)", cipherKeyBits: UInt32(cipher.keyBits), integrity: auth.0,
                                      integrityKeyBits: auth.1, truncationBits: auth.2))
        default:
            return nil
        }
    }
}
