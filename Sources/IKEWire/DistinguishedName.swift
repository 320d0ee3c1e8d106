/// An X.500 distinguished name as ID_DER_ASN1_DN carries it (RFC 7296 §3.5, RFC 4945
/// §3.1.5): the DER of an RDNSequence (RFC 5280 §4.1.2.4), read from and written to the
/// `C=CH, O=ACME, CN=gw` text users write. Two names match when they have the same
/// attributes in the same order with values equal after RFC 5280 §7.1's simple
/// preparation (case and runs of spaces ignored), whatever string types encode them.
public struct DistinguishedName: Hashable, CustomStringConvertible, Sendable {
    /// One attribute: its type (an OID, DER content octets) and its value.
    public struct Attribute: Hashable, Sendable {
        public var oid: [UInt8]
        public var value: String
    }

    /// The relative distinguished names in order; each usually has one attribute.
    public var rdns: [[Attribute]]

    public init(rdns: [[Attribute]]) { self.rdns = rdns }

    /// Keywords as strongSwan and OpenSSL print them, with their OIDs and the string type
    /// written for them (PrintableString when the value allows it, else UTF8String;
    /// IA5String for e-mail and domain components).
    static let keywords: [(name: String, aliases: [String], oid: [UInt8], ia5: Bool)] = [
        ("C", [], [0x55, 0x04, 0x06], false),
        ("ST", ["S"], [0x55, 0x04, 0x08], false),
        ("L", [], [0x55, 0x04, 0x07], false),
        ("O", [], [0x55, 0x04, 0x0a], false),
        ("OU", [], [0x55, 0x04, 0x0b], false),
        ("CN", [], [0x55, 0x04, 0x03], false),
        ("SN", ["surname"], [0x55, 0x04, 0x04], false),
        ("serialNumber", [], [0x55, 0x04, 0x05], false),
        ("street", [], [0x55, 0x04, 0x09], false),
        ("T", ["title"], [0x55, 0x04, 0x0c], false),
        ("postalCode", [], [0x55, 0x04, 0x11], false),
        ("N", ["name"], [0x55, 0x04, 0x29], false),
        ("G", ["givenName", "GN"], [0x55, 0x04, 0x2a], false),
        ("I", ["initials"], [0x55, 0x04, 0x2b], false),
        ("dnQualifier", [], [0x55, 0x04, 0x2e], false),
        ("pseudonym", [], [0x55, 0x04, 0x41], false),
        ("E", ["email", "emailAddress"], [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01], true),
        ("DC", [], [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19], true),
        ("UID", [], [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01], false),
    ]

    static let names = keywords.map { $0.name }.joined(separator: ", ")

    /// Parses `C=CH, O=ACME, CN=gw` (keywords case-insensitive; `+` joins attributes of
    /// one RDN; `\,` escapes a comma in a value).
    public static func parse(_ text: String) -> Result<DistinguishedName, IdentityError> {
        var rdns: [[Attribute]] = []
        for rdnText in split(text, on: ",") {
            var rdn: [Attribute] = []
            for part in split(rdnText, on: "+") {
                guard let eq = part.firstIndex(of: "=") else {
                    return .failure(IdentityError("a distinguished name is a comma-separated list of KEY=value, e.g. C=CH, O=ACME, CN=gw"))
                }
                let key = trimmed(Substring(part[..<eq])), value = trimmed(Substring(part[part.index(after: eq)...]))
                guard !key.isEmpty, !value.isEmpty else {
                    return .failure(IdentityError("a distinguished name is a comma-separated list of KEY=value, e.g. C=CH, O=ACME, CN=gw"))
                }
                let wanted = key.asciiLowercased
                guard let k = keywords.first(where: { $0.name.asciiLowercased == wanted || $0.aliases.contains { $0.asciiLowercased == wanted } }) else {
                    return .failure(IdentityError("unknown distinguished name attribute '\(key)'; known: \(names)"))
                }
                rdn.append(Attribute(oid: k.oid, value: String(value)))
            }
            rdns.append(rdn)
        }
        return .success(DistinguishedName(rdns: rdns))
    }

    /// Splits at `separator` not preceded by a backslash, and removes those backslashes.
    static func split(_ text: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for c in text {
            if escaped {
                if c != separator { current.append("\\") }
                current.append(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == separator {
                parts.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        if escaped { current.append("\\") }
        parts.append(current)
        return parts
    }

    static func trimmed(_ s: Substring) -> Substring {
        var t = s
        while t.first == " " { t = t.dropFirst() }
        while t.last == " " { t = t.dropLast() }
        return t
    }

    // MARK: DER

    /// The DER of the RDNSequence.
    public var der: [UInt8] {
        var sequence: [UInt8] = []
        for rdn in rdns {
            var set: [UInt8] = []
            for a in rdn {
                let ia5 = DistinguishedName.keywords.first { $0.oid == a.oid }?.ia5 ?? false
                let tag: UInt8 = ia5 ? 0x16 : (DistinguishedName.isPrintable(a.value) ? 0x13 : 0x0c)
                set += DER.tlv(0x30, DER.tlv(0x06, a.oid) + DER.tlv(tag, Array(a.value.utf8)))
            }
            sequence += DER.tlv(0x31, set)
        }
        return DER.tlv(0x30, sequence)
    }

    /// PrintableString's characters (X.680 §41.4).
    static func isPrintable(_ s: String) -> Bool {
        s.utf8.allSatisfy { c in
            (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
                || [0x20, 0x27, 0x28, 0x29, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x3a, 0x3d, 0x3f].contains(c)
        }
    }

    /// Reads the DER of an RDNSequence; nil when it is not one (bounded: at most 64 RDNs).
    public init?(der bytes: [UInt8]) {
        var outer = DER.Reader(bytes)
        guard let sequence = outer.read(tag: 0x30), outer.atEnd else { return nil }
        var r = DER.Reader(sequence)
        var rdns: [[Attribute]] = []
        while !r.atEnd {
            guard rdns.count < 64, let setBytes = r.read(tag: 0x31) else { return nil }
            var s = DER.Reader(setBytes)
            var rdn: [Attribute] = []
            while !s.atEnd {
                guard rdn.count < 16, let atv = s.read(tag: 0x30) else { return nil }
                var a = DER.Reader(atv)
                guard let oid = a.read(tag: 0x06), !oid.isEmpty, let (tag, value) = a.readAny(), a.atEnd else { return nil }
                // PrintableString, UTF8String, IA5String, T61String, BMPString is refused.
                guard [0x13, 0x0c, 0x16, 0x14].contains(tag) else { return nil }
                rdn.append(Attribute(oid: oid, value: String(decoding: value, as: UTF8.self)))
            }
            guard !rdn.isEmpty else { return nil }
            rdns.append(rdn)
        }
        self.rdns = rdns
    }

    /// The text form, keywords for known types and dotted OIDs otherwise.
    public var description: String {
        rdns.map { rdn in
            rdn.map { a in
                let key = DistinguishedName.keywords.first { $0.oid == a.oid }?.name ?? DER.dotted(a.oid)
                var value = ""
                for c in a.value {
                    if c == "," || c == "+" { value.append("\\") }
                    value.append(c)
                }
                return key + "=" + value
            }.joined(separator: "+")
        }.joined(separator: ", ")
    }

    /// RFC 5280 §7.1 in its simple form: same attributes in the same order, values equal
    /// ignoring case and surrounding or repeated spaces.
    public func matches(_ other: DistinguishedName) -> Bool {
        guard rdns.count == other.rdns.count else { return false }
        for (x, y) in zip(rdns, other.rdns) {
            guard x.count == y.count else { return false }
            for (a, b) in zip(x, y) where a.oid != b.oid || DistinguishedName.prepared(a.value) != DistinguishedName.prepared(b.value) {
                return false
            }
        }
        return true
    }

    /// Attribute values compare with ASCII letters case-folded and runs of spaces as one
    /// (as strongSwan compares them); other characters compare as they are.
    static func prepared(_ value: String) -> String {
        value.asciiLowercased.split(separator: " ").joined(separator: " ")
    }
}

/// The few DER shapes a distinguished name needs.
enum DER {
    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [tag]
        let n = content.count
        if n < 0x80 {
            out.append(UInt8(n))
        } else if n <= 0xff {
            out += [0x81, UInt8(n)]
        } else {
            out += [0x82, UInt8(n >> 8), UInt8(truncatingIfNeeded: n)]
        }
        return out + content
    }

    /// `2.5.4.3` for `55 04 03`.
    static func dotted(_ oid: [UInt8]) -> String {
        guard let first = oid.first else { return "" }
        var parts = [(first / 40).description, (first % 40).description]
        var value: UInt64 = 0
        for b in oid.dropFirst() {
            value = value << 7 | UInt64(b & 0x7f)
            if b & 0x80 == 0 {
                parts.append(value.description)
                value = 0
            }
        }
        return parts.joined(separator: ".")
    }

    /// Reads definite-length TLVs (lengths up to 0xffff), every length checked first.
    struct Reader {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { offset == bytes.count }

        mutating func readAny() -> (UInt8, [UInt8])? {
            guard offset + 2 <= bytes.count else { return nil }
            let tag = bytes[offset]
            var length = Int(bytes[offset + 1])
            var header = 2
            if length & 0x80 != 0 {
                let count = length & 0x7f
                guard count >= 1, count <= 2, offset + 2 + count <= bytes.count else { return nil }
                length = 0
                for i in 0..<count { length = length << 8 | Int(bytes[offset + 2 + i]) }
                header += count
            }
            guard offset + header + length <= bytes.count else { return nil }
            let content = Array(bytes[(offset + header)..<(offset + header + length)])
            offset += header + length
            return (tag, content)
        }

        mutating func read(tag: UInt8) -> [UInt8]? {
            let saved = offset
            guard let (t, content) = readAny(), t == tag else {
                offset = saved
                return nil
            }
            return content
        }
    }
}
