import IKECore
import CertificateProxy
import IKEWire

/// `ike cmd=list certs`: every certificate cpsd has loaded (our own, the intermediates
/// we send, the trust anchors, pinned peer certificates), with the tunnels using it.
public enum CertificateListing {
    public static let header = "Role          Key Type      Not After   Tunnels             Subject"
    static let columns = [0, 14, 28, 40, 60]

    public static func table(_ infos: [CertificateInfo]) -> String {
        var out = header + "\n"
        for i in infos {
            out += TunnelListing.line([i.role, i.keyType, UTCDate.day(i.notAfter), i.tunnels.joined(separator: ","), i.subject.description],
                                      columns: columns)
        }
        return out
    }

    /// The table with each certificate's issuer, serial, validity and subjectAltNames.
    public static func verbose(_ infos: [CertificateInfo]) -> String {
        var out = ""
        for i in infos {
            out += "\(i.role) certificate \"\(i.subject)\"\n"
            out += "  issuer:     \(i.issuer)\n"
            out += "  serial:     \(i.serial)\n"
            out += "  validity:   \(UTCDate.time(i.notBefore)) to \(UTCDate.time(i.notAfter))\n"
            out += "  key:        \(i.keyType)\n"
            if !i.alternativeNames.isEmpty { out += "  alt names:  \(i.alternativeNames.map { $0.description }.joined(separator: ", "))\n" }
            out += "  tunnels:    \(i.tunnels.joined(separator: ", "))\n"
        }
        return out.isEmpty ? "no certificates loaded\n" : out
    }

    public static func json(_ infos: [CertificateInfo]) -> String {
        let items = infos.map { i in
            JSON.object([
                ("role", JSON.string(i.role)),
                ("subject", JSON.string(i.subject.description)),
                ("issuer", JSON.string(i.issuer.description)),
                ("serial", JSON.string(i.serial)),
                ("not_before", JSON.string(UTCDate.time(i.notBefore))),
                ("not_after", JSON.string(UTCDate.time(i.notAfter))),
                ("key_type", JSON.string(i.keyType)),
                ("alt_names", "[" + i.alternativeNames.map { JSON.string($0.description) }.joined(separator: ", ") + "]"),
                ("tunnels", "[" + i.tunnels.map { JSON.string($0) }.joined(separator: ", ") + "]"),
            ])
        }
        return "[" + items.joined(separator: ",\n ") + "]\n"
    }
}

/// Seconds since 1970 as a UTC calendar date (proleptic Gregorian), without a time
/// library: `2027-03-01` and `2027-03-01T12:00:00Z`.
enum UTCDate {
    static func parts(_ seconds: Int64) -> (year: Int64, month: Int64, day: Int64, secondOfDay: Int64) {
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        // Days since 0000-03-01 in 400-year eras of 146,097 days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day, rest)
    }

    static func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func day(_ seconds: Int64) -> String {
        let p = parts(seconds)
        return "\(p.year)-\(two(p.month))-\(two(p.day))"
    }

    static func time(_ seconds: Int64) -> String {
        let p = parts(seconds)
        return day(seconds) + "T\(two(p.secondOfDay / 3600)):\(two(p.secondOfDay / 60 % 60)):\(two(p.secondOfDay % 60))Z"
    }
}
