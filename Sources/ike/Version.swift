import IKECrypto
import Netlink

/// What `ike version` prints: the release, the build flavour and the linked libraries.
enum Version {
    static let release = "0.1.0"

    #if hasFeature(Embedded)
    static let flavour = "embedded"
    #else
    static let flavour = "standard"
    #endif

    static var text: String {
        "ike \(release)\nbuild: \(flavour)\nopenssl: \(OpenSSL.version)\nlibnl: \(Libnl.version)"
    }
}
