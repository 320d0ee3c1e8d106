/// An IKE identity (RFC 7296 §3.5, RFC 2407 §4.6.2.1) in the forms users write:
/// an IP address, `@host.example` or a bare host name, `user@example.org`, a
/// distinguished name `C=.., O=.., CN=..`, `keyid:HEX`, or `%any`.
public enum Identity: Hashable, CustomStringConvertible, Sendable {
    case address(IPAddress)
    case fqdn(IdentityName)
    case rfc822(IdentityName)
    /// A distinguished name; on the wire it is DER.
    case distinguishedName(DistinguishedName)
    case keyID([UInt8])
    /// Any identity that proves the tunnel's credentials (`%any`).
    case any

    /// The ID Type field: ID_IPV4_ADDR 1, ID_FQDN 2, ID_RFC822_ADDR 3, ID_IPV6_ADDR 5,
    /// ID_DER_ASN1_DN 9, ID_KEY_ID 11; 0 for `%any`, which never goes on the wire.
    public var idType: UInt8 {
        switch self {
        case let .address(a): return a.isV4 ? 1 : 5
        case .fqdn: return 2
        case .rfc822: return 3
        case .distinguishedName: return 9
        case .keyID: return 11
        case .any: return 0
        }
    }

    /// Whether a peer presenting `presented` satisfies this expected identity.
    public func accepts(_ presented: Identity) -> Bool {
        if case let .distinguishedName(mine) = self, case let .distinguishedName(theirs) = presented {
            return mine.matches(theirs)
        }
        return self == .any || self == presented
    }

    /// The identification data an ID payload carries (IKEv1 and IKEv2 alike).
    public var data: [UInt8] {
        switch self {
        case let .address(a): return a.bytes
        case let .fqdn(name): return name.octets
        case let .rfc822(mail): return mail.octets
        case let .distinguishedName(dn): return dn.der
        case let .keyID(bytes): return bytes
        case .any: return []
        }
    }

    /// The identity an ID payload carries; nil for a type not taken (IKEv1's subnet and
    /// range types are traffic selectors, not identities) or a DN that is not DER.
    public init?(idType: UInt8, data: [UInt8]) {
        switch idType {
        case 1, 5:
            guard let a = data.withUnsafeBytes({ IPAddress(bytes: $0) }), a.isV4 == (idType == 1) else { return nil }
            self = .address(a)
        case 2: self = .fqdn(IdentityName(octets: data))
        case 3: self = .rfc822(IdentityName(octets: data))
        case 9:
            guard let name = DistinguishedName(der: data) else { return nil }
            self = .distinguishedName(name)
        case 11: self = .keyID(data)
        default: return nil
        }
    }

    /// Parses the text forms above; the error says which form was meant and what is wrong.
    public static func parse(_ text: String) -> Result<Identity, IdentityError> {
        if text.isEmpty { return .failure(.init("an empty identity")) }
        // Identities are printed escaped (`ike check`, logs): one with control characters
        // would not read back as itself.
        if text.unicodeScalars.contains(where: LogText.isControl) {
            return .failure(.init("control characters are not allowed in an identity"))
        }
        if text == "%any" { return .success(.any) }
        if let address = IPAddress(text) { return .success(.address(address)) }
        if text.hasPrefix("keyid:") {
            guard let bytes = Hex.decode(String(text.dropFirst(6))), !bytes.isEmpty else {
                return .failure(.init("keyid: needs an even number of hex digits, e.g. keyid:0a1b2c"))
            }
            return .success(.keyID(bytes))
        }
        if text.contains("=") {
            switch DistinguishedName.parse(text) {
            case let .success(name): return .success(.distinguishedName(name))
            case let .failure(problem): return .failure(problem)
            }
        }
        if text.hasPrefix("@") {
            let name = String(text.dropFirst())
            guard isHostName(name) else { return .failure(.init("'\(name)' is not a valid host name")) }
            return .success(.fqdn(IdentityName(name)))
        }
        if let at = text.firstIndex(of: "@") {
            let user = text[..<at], domain = String(text[text.index(after: at)...])
            guard !user.isEmpty, isHostName(domain) else {
                return .failure(.init("an e-mail identity is user@domain.example"))
            }
            return .success(.rfc822(IdentityName(text)))
        }
        guard isHostName(text) else { return .failure(.init("'\(text)' is not an address, host name, user@domain, DN, keyid: or %any")) }
        return .success(.fqdn(IdentityName(text)))
    }

    /// Letters, digits, hyphens and dots; labels 1-63 characters.
    public static func isHostName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-" else { return false }
            for c in label.utf8 {
                let ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f
                if !ok { return false }
            }
        }
        return true
    }

    /// The form `parse` reads back; text a peer sent is escaped (`LogText`), so an
    /// identity never spans lines or carries terminal controls into logs and listings.
    public var description: String {
        switch self {
        case let .address(a): return a.description
        case let .fqdn(name): return "@" + LogText.escaped(name.description)
        case let .rfc822(mail): return LogText.escaped(mail.description)
        case let .distinguishedName(dn): return LogText.escaped(dn.description)
        case let .keyID(bytes): return "keyid:" + Hex.encode(bytes)
        case .any: return "%any"
        }
    }
}

/// The name an FQDN or RFC 822 identity carries, held as the octets of its ID payload: a
/// hub holds one per spoke, and a 17-byte name takes a 64-byte heap chunk as an array where
/// a `String` takes 80. Compared octet for octet, as RFC 7296 §3.5 compares identities; a
/// peer's octets that are not UTF-8 are kept as sent and shown with replacement characters.
public struct IdentityName: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let octets: [UInt8]

    public init(octets: [UInt8]) { self.octets = octets }
    public init(_ text: String) { octets = Array(text.utf8) }
    public init(stringLiteral text: String) { self.init(text) }

    public var description: String { String(decoding: octets, as: UTF8.self) }

    /// Whether two host names are the same one (DNS names are case-insensitive, RFC 4343).
    public func sameHost(as other: IdentityName) -> Bool {
        description.asciiLowercased == other.description.asciiLowercased
    }
}

/// Why an identity's text was refused.
public struct IdentityError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Lowercase hex text for key IDs and debug dumps.
public enum Hex {
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        var s = ""
        for b in bytes {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 0xf)])
        }
        return s
    }

    /// `0x0a1b2c3d`: SPIs as `ip xfrm` prints them.
    public static func prefixed(_ v: UInt32) -> String {
        "0x" + encode([UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8),
                       UInt8(truncatingIfNeeded: v)])
    }

    /// `0x0011223344556677`: IKE SPIs.
    public static func prefixed(_ v: UInt64) -> String {
        prefixed(UInt32(truncatingIfNeeded: v >> 32)) + String(prefixed(UInt32(truncatingIfNeeded: v)).dropFirst(2))
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}
