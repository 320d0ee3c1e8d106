/// `ike import FILE [SECRETS]`: a strongSwan configuration as `/etc/config/ike`, the way
/// AIX's `ikedb -c` converted a Linux configuration into its own database.
public enum Importer {
    public enum Format: String {
        case openwrt = "OpenWrt /etc/config/ipsec"
        case swanctl = "swanctl.conf"
        case ipsecConf = "ipsec.conf"
    }

    /// Which of the three the text is, by its first significant words.
    public static func detect(_ text: String) -> Format? {
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = SwanctlImport.withoutComment(String(raw)).trimmed
            if line.isEmpty { continue }
            let first = line.split(separator: " ").first.map(String.init) ?? line
            if first == "package" || first == "config" && (line.hasPrefix("config ipsec") || line.hasPrefix("config remote") || line.hasPrefix("config crypto_proposal") || line.hasPrefix("config tunnel")) { return .openwrt }
            if first == "connections" || first == "connections{" || first == "secrets" || first == "secrets{" || first == "pools" || first == "authorities" { return .swanctl }
            if first == "conn" || first == "version" || line == "config setup" || first == "ca" || first == "include" { return .ipsecConf }
        }
        return nil
    }

    /// Reads `text` (from `file`) as `format`; `secrets` is ipsec.secrets for ipsec.conf.
    public static func run(_ text: String, file: String, format: Format, secrets: (text: String, file: String)? = nil) -> ImportReport {
        var report = ImportReport()
        report.format = format.rawValue
        switch format {
        case .openwrt: OpenWrtImport.run(text, file: file, into: &report)
        case .swanctl: SwanctlImport.run(text, file: file, into: &report)
        case .ipsecConf: IPsecConfImport.run(text, file: file, secrets: secrets, into: &report)
        }
        return report
    }

    /// How many tunnels were carried over.
    public static func count(_ report: ImportReport) -> Int { report.tunnels.count }
}
