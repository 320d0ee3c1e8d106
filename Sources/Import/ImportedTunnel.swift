import IKEWire
import UCI

/// One tunnel of the configuration `ike import` writes: ike.conf(5) options as text,
/// with where in the source it came from. Values are checked as they are set (a value ike
/// cannot take is a warning, not an option); the whole file is checked again by the
/// configuration loader before it is printed.
struct ImportedTunnel {
    var name: String
    /// What the comment above the section says: `FILE:LINE (conn NAME)`.
    var origin: String
    private(set) var options: [String: String] = [:]
    private(set) var lists: [String: [String]] = [:]

    init(name: String, origin: String) {
        self.name = ImportedTunnel.sectionName(name)
        self.origin = origin
    }

    subscript(option key: String) -> String? {
        get { options[key] }
        set { options[key] = newValue }
    }

    mutating func append(_ key: String, _ value: String) { lists[key, default: []].append(value) }
    mutating func clearList(_ key: String) { lists[key] = nil }
    func list(_ key: String) -> [String] { lists[key] ?? [] }

    /// The ike.conf(5) order `ike check` prints.
    static let order = ["enabled", "version", "interface", "local_address", "remote_address", "local_id", "remote_id",
                        "auth", "psk", "certificate", "private_key", "ca_certificate", "ike_proposal", "esp_proposal",
                        "local_subnet", "remote_subnet", "mode", "ike_lifetime", "lifetime", "start", "dpd_delay",
                        "dpd_action", "exchange", "keyingtries"]

    var text: String {
        var out = "# \(origin)\nconfig tunnel \(UCISyntax.quote(name))\n"
        for key in ImportedTunnel.order {
            if let v = options[key] { out += "\toption \(key) \(UCISyntax.quote(v))\n" }
            for v in lists[key] ?? [] { out += "\tlist \(key) \(UCISyntax.quote(v))\n" }
        }
        return out
    }

    /// A UCI section name from a strongSwan connection name (`site-b.1` → `site_b_1`).
    static func sectionName(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            let v = c.value
            let ok = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5a) || (v >= 0x61 && v <= 0x7a) || v == 0x5f
            out.unicodeScalars.append(ok ? c : "_")
        }
        if out.isEmpty { return "imported" }
        if let first = out.unicodeScalars.first, first.value >= 0x30 && first.value <= 0x39 { return "t_" + out }
        return out
    }
}

/// What `ike import` found: the tunnels, and a warning for everything it could not carry.
public struct ImportReport {
    var tunnels: [ImportedTunnel] = []
    public internal(set) var warnings: [Diagnostic] = []
    /// The format read, for the header comment.
    public internal(set) var format: String = ""

    /// Once per place and text: settings shared through `%default` or `also=` are read
    /// for every conn that takes them, and warned about once.
    mutating func warn(_ file: String, _ line: Int, _ message: String) {
        let d = Diagnostic(file: file, line: line, message: "warning: " + message)
        if !warnings.contains(d) { warnings.append(d) }
    }

    /// The `/etc/config/ike` text, section names made unique.
    public func configuration(from files: [String]) -> String {
        var names: [String: Int] = [:]
        var out = "# /etc/config/ike imported by ike import from \(files.joined(separator: ", ")) (\(format))\n"
        out += "config ike 'global'\n\toption log_level 'event'\n"
        for var t in tunnels {
            let n = names[t.name, default: 0]
            names[t.name] = n + 1
            if n > 0 { t.name += "_\(n + 1)" }
            out += "\n" + t.text
        }
        return out
    }

    /// The printed file loaded back as the daemon would load it: its errors (a tunnel
    /// that still lacks its PSK, say) prefixed so they read apart from the source's lines.
    public func check(_ text: String) -> [String] {
        switch Configuration.load(text, file: "imported") {
        case .success: return []
        case let .failure(errors): return errors.diagnostics.map { "ike import: the result does not pass ike check: \($0)" }
        }
    }
}

/// strongSwan's value syntax, shared by swanctl.conf, ipsec.conf and OpenWrt's UCI file.
enum StrongSwan {
    /// `3600`, `60s`, `90m`, `8h`, `1d` as seconds; nil when it is none of these.
    static func seconds(_ text: String) -> UInt32? {
        var digits = text, unit: UInt32 = 1
        if let last = text.last, !String(last).isASCIIDigits {
            switch last {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            digits = String(text.dropLast())
        }
        guard let n = UInt32(digits.trimmed) else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: unit)
        return overflow ? nil : product
    }

    /// The value of a setting without its quotes.
    static func unquoted(_ text: String) -> String {
        let t = text.trimmed
        if t.count >= 2, (t.hasPrefix("\"") && t.hasSuffix("\"")) || (t.hasPrefix("'") && t.hasSuffix("'")) {
            return String(t.dropFirst().dropLast())
        }
        return t
    }

    /// A comma-separated list, items trimmed, empty ones dropped.
    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
    }

    /// Proposals in strongSwan's syntax, each checked by ike's parser; `default` (and the
    /// strict `!`) keep ike's own default suite and its no-appending rule.
    static func proposals(_ text: String, kind: Proposal.Kind, file: String, line: Int, key: String, into report: inout ImportReport) -> [String] {
        var out: [String] = []
        for var item in list(text) {
            if item.hasSuffix("!") { item = String(item.dropLast()) }
            if item == "default" { continue }
            switch Proposal.parse(item, kind: kind) {
            case let .success(p): out.append(p.description)
            case let .failure(problem): report.warn(file, line, "\(key) '\(item)' is not carried over: \(problem)")
            }
        }
        return out
    }

    /// An identity as ike writes it: `%any` stays, strongSwan's `@#HEX` key IDs become
    /// `keyid:HEX`; anything ike cannot parse is a warning.
    static func identity(_ text: String, file: String, line: Int, key: String, into report: inout ImportReport) -> String? {
        var v = unquoted(text)
        if v == "%any" || v == "%any6" { return "%any" }
        if v.hasPrefix("@#") { v = "keyid:" + v.dropFirst(2) }
        switch Identity.parse(v) {
        case .success: return v
        case let .failure(problem):
            report.warn(file, line, "\(key) '\(v)' is not carried over: \(problem)")
            return nil
        }
    }

    /// Traffic selectors: subnets and addresses (as /32 or /128). `dynamic` means the
    /// endpoints, ike's default; protocol and port selectors cannot be expressed.
    static func subnets(_ text: String, file: String, line: Int, key: String, into report: inout ImportReport) -> [String] {
        var out: [String] = []
        for item in list(unquoted(text)) {
            if item == "dynamic" || item == "%dynamic" { continue }
            if item.contains("[") {
                report.warn(file, line, "\(key) '\(item)': protocol and port selectors cannot be expressed; not carried over")
                continue
            }
            switch Subnet.parse(item) {
            case let .success(s): out.append(s.description)
            case let .failure(problem): report.warn(file, line, "\(key) '\(item)' is not carried over: \(problem)")
            }
        }
        return out
    }

    /// A peer or local address: an IP address or a DNS name; `%any` and friends mean any.
    static func isAny(_ text: String) -> Bool {
        ["%any", "%any4", "%any6", "0.0.0.0", "::", "0.0.0.0/0", "::/0", "%defaultroute", ""].contains(text)
    }

    /// A lifetime ike rekeys at the moment strongSwan would: ike rekeys at 90 % of it.
    static func lifetime(rekeyAt seconds: UInt32) -> UInt32 { UInt32((UInt64(seconds) * 10 + 8) / 9) }

    /// A PSK as text: strongSwan's `0x` (hex) and `0s` (base64) forms decoded when the
    /// key is printable; nil when ike cannot hold it (ike.conf keys are text).
    static func secret(_ raw: String) -> String? {
        let v = unquoted(raw)
        var bytes: [UInt8]
        if v.hasPrefix("0x") {
            guard let b = Hex.decode(String(v.dropFirst(2))) else { return nil }
            bytes = b
        } else if v.hasPrefix("0s") {
            guard let b = base64(String(v.dropFirst(2))) else { return nil }
            bytes = b
        } else {
            return v.isEmpty ? nil : v
        }
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func base64(_ text: String) -> [UInt8]? {
        var out: [UInt8] = [], buffer: UInt32 = 0, bits = 0
        for c in text.utf8 {
            let v: UInt32
            switch c {
            case 0x41...0x5a: v = UInt32(c - 0x41)
            case 0x61...0x7a: v = UInt32(c - 0x61 + 26)
            case 0x30...0x39: v = UInt32(c - 0x30 + 52)
            case 0x2b: v = 62
            case 0x2f: v = 63
            case 0x3d: continue
            default: return nil
            }
            buffer = (buffer << 6) | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xff))
            }
        }
        return out
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
