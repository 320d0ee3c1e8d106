import COpenSSL

/// A cryptographic operation that failed, or a peer's value that is not acceptable.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// An OpenSSL call failed; the operation and OpenSSL's own reason.
    case openssl(String, String)
    /// The peer's public value fails the checks of RFC 7296 §2.7 / RFC 6989.
    case invalidPublicValue(String)
    case unsupported(String)
    /// An integrity check value or authentication tag did not verify.
    case authenticationFailed

    public var description: String {
        switch self {
        case let .openssl(operation, reason): return "\(operation): \(reason)"
        case let .invalidPublicValue(why): return "invalid public value: \(why)"
        case let .unsupported(what): return "unsupported: \(what)"
        case .authenticationFailed: return "integrity check failed"
        }
    }

    /// The error for a failed OpenSSL call, with the reason from OpenSSL's error queue.
    static func last(_ operation: String) -> CryptoError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0, let reason = ERR_reason_error_string(code) else { return .openssl(operation, "failed") }
        return .openssl(operation, String(cString: reason))
    }
}

/// Random bytes from OpenSSL's CSPRNG (SPIs, nonces, cookie secrets, IVs).
public enum Random {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBytes { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32($0.count)) }
        precondition(ok == 1, "the CSPRNG failed")
        return out
    }

    public static func uint64() -> UInt64 {
        var v: UInt64 = 0
        for b in bytes(8) { v = v << 8 | UInt64(b) }
        return v
    }

    public static func uint32() -> UInt32 {
        var v: UInt32 = 0
        for b in bytes(4) { v = v << 8 | UInt32(b) }
        return v
    }
}
