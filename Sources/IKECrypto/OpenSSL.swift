import COpenSSL

/// The OpenSSL libcrypto this binary is linked with; IKECrypto's algorithms are
/// adapters over it.
public enum OpenSSL {
    /// The linked library's own version text, e.g. `OpenSSL 3.0.19 27 Jan 2026`.
    public static var version: String {
        guard let text = OpenSSL_version(Int32(OPENSSL_VERSION)) else { return "OpenSSL (unknown)" }
        return String(cString: text)
    }
}
