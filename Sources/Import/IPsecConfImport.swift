import UCI

/// The legacy ipsec.conf(5) with ipsec.secrets(5): `conn` sections (with `%default` and
/// `also=`), left as the local side, mapped onto ike tunnels.
enum IPsecConfImport {
    struct Section {
        var kind: String
        var name: String
        var line: Int
        var settings: [(key: String, value: String, line: Int)] = []
    }

    static func parse(_ text: String, file: String, into report: inout ImportReport) -> [Section] {
        var sections: [Section] = []
        var number = 0
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            let content = SwanctlImport.withoutComment(String(raw))
            let line = content.trimmed
            if line.isEmpty { continue }
            let indented = content.first == " " || content.first == "\t"
            if !indented {
                let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                if words.first == "include" {
                    report.warn(file, number, "'\(line)': included files are not read; import them one by one")
                } else if words.count == 2, ["conn", "config", "ca"].contains(words[0]) {
                    sections.append(Section(kind: words[0], name: words[1], line: number))
                } else if words.first == "version" {
                    continue
                } else {
                    report.warn(file, number, "'\(line)' is not a section; ignored")
                }
                continue
            }
            guard !sections.isEmpty, let eq = line.firstIndex(of: "=") else {
                report.warn(file, number, "'\(line)' is not a key=value setting of a section; ignored")
                continue
            }
            let key = String(line[..<eq]).trimmed, value = StrongSwan.unquoted(String(line[line.index(after: eq)...]))
            sections[sections.count - 1].settings.append((key, value, number))
        }
        return sections
    }

    static func run(_ text: String, file: String, secrets: (text: String, file: String)?, into report: inout ImportReport) {
        let sections = parse(text, file: file, into: &report)
        var table = PSKTable()
        if let secrets { table = PSKTable.ipsecSecrets(secrets.text, file: secrets.file, into: &report) }
        var defaults: [(key: String, value: String, line: Int)] = []
        for s in sections {
            switch s.kind {
            case "config":
                for setting in s.settings { report.warn(file, setting.line, "config setup: \(setting.key) is not carried over (ike.conf(5) 'config ike' has log_level and syslog_facility)") }
            case "ca":
                report.warn(file, s.line, "ca \(s.name): CA sections are not carried over (certificates come with cpsd)")
            default:
                if s.name == "%default" { defaults += s.settings }
            }
        }
        var any = false
        for s in sections where s.kind == "conn" && s.name != "%default" {
            var settings = defaults
            var seen: Set<String> = [s.name]
            include(s, sections, &settings, &seen, file: file, report: &report)
            var effective: [String: (value: String, line: Int)] = [:]
            for x in settings { effective[x.key] = (x.value, x.line) }
            connection(s, effective, file: file, secrets: table, into: &report)
            any = true
        }
        if !any { report.warn(file, 1, "no conn sections: nothing to import") }
    }

    /// The settings of `conn` with those of every `also=` section it names before its own.
    static func include(_ conn: Section, _ all: [Section], _ out: inout [(key: String, value: String, line: Int)], _ seen: inout Set<String>,
                        file: String, report: inout ImportReport) {
        for x in conn.settings {
            if x.key == "also" {
                guard let other = all.first(where: { $0.kind == "conn" && $0.name == x.value }) else {
                    report.warn(file, x.line, "also=\(x.value): no such conn")
                    continue
                }
                guard seen.insert(x.value).inserted else { continue }
                include(other, all, &out, &seen, file: file, report: &report)
            } else {
                out.append(x)
            }
        }
    }

    static func connection(_ conn: Section, _ v: [String: (value: String, line: Int)], file: String, secrets: PSKTable, into report: inout ImportReport) {
        var t = ImportedTunnel(name: conn.name, origin: "\(file):\(conn.line) (conn \(conn.name))")
        var auth = "psk", version = "2"
        var ikeLifetime: UInt32 = 3 * 3600, lifetime: UInt32 = 3600
        t[option: "dpd_delay"] = "0"  // dpdaction=none, ipsec.conf's default
        t[option: "dpd_action"] = "clear"
        t[option: "start"] = "manual"
        t[option: "keyingtries"] = "3"
        for key in v.keys.sorted() {
            let (value, line) = v[key]!
            switch key {
            case "left":
                if !StrongSwan.isAny(value) { t[option: "local_address"] = value }
            case "right":
                t[option: "remote_address"] = StrongSwan.isAny(value) ? "any" : value
            case "leftsubnet", "rightsubnet":
                let target = key == "leftsubnet" ? "local_subnet" : "remote_subnet"
                for n in StrongSwan.subnets(value, file: file, line: line, key: key, into: &report) { t.append(target, n) }
            case "leftid", "rightid":
                if let id = StrongSwan.identity(value, file: file, line: line, key: key, into: &report) {
                    if key == "leftid" && id == "%any" { report.warn(file, line, "leftid=%any: ike's own identity is definite; the local address is used") }
                    else { t[option: key == "leftid" ? "local_id" : "remote_id"] = id }
                }
            case "authby", "leftauth", "rightauth":
                switch value {
                case "secret", "psk": break
                case "pubkey", "rsasig", "ecdsasig", "rsa", "ecdsa": auth = "pubkey"
                default: report.warn(file, line, "\(key)=\(value): ike authenticates with psk (or pubkey); not carried over")
                }
            case "leftcert":
                t[option: "certificate"] = value.hasPrefix("/") ? value : "/etc/ipsec.d/certs/" + value
            case "keyexchange":
                switch value {
                case "ikev1": version = "1"
                case "ikev2": version = "2"
                default: report.warn(file, line, "keyexchange=\(value): ike answers one IKE version per tunnel; IKEv2 is used")
                }
            case "ike":
                for p in StrongSwan.proposals(value, kind: .ike, file: file, line: line, key: "ike", into: &report) { t.append("ike_proposal", p) }
            case "esp":
                for p in StrongSwan.proposals(value, kind: .esp, file: file, line: line, key: "esp", into: &report) { t.append("esp_proposal", p) }
            case "auto":
                switch value {
                case "add": t[option: "start"] = "manual"
                case "start": t[option: "start"] = "auto"
                case "route": t[option: "start"] = "trap"
                case "ignore": t[option: "enabled"] = "0"
                default: report.warn(file, line, "auto=\(value) is not known; the tunnel starts manually")
                }
            case "dpdaction":
                switch value {
                case "none": t[option: "dpd_delay"] = "0"
                case "clear", "hold", "restart":
                    t[option: "dpd_action"] = value
                    if t[option: "dpd_delay"] == "0" { t[option: "dpd_delay"] = (v["dpddelay"].flatMap { StrongSwan.seconds($0.value) } ?? 30).description }
                default: report.warn(file, line, "dpdaction=\(value) is not known")
                }
            case "dpddelay":
                if StrongSwan.seconds(value) == nil { report.warn(file, line, "dpddelay=\(value): not a time") }
            case "ikelifetime":
                if let n = StrongSwan.seconds(value) { ikeLifetime = n } else { report.warn(file, line, "ikelifetime=\(value): not a time") }
            case "lifetime", "keylife":
                if let n = StrongSwan.seconds(value) { lifetime = n } else { report.warn(file, line, "\(key)=\(value): not a time") }
            case "type":
                if value == "tunnel" || value == "transport" { t[option: "mode"] = value } else {
                    report.warn(file, line, "type=\(value): ike negotiates tunnel and transport mode only; tunnel is used")
                }
            case "aggressive":
                if value == "yes" { t[option: "exchange"] = "aggressive" }
            case "keyingtries":
                if value == "%forever" { t[option: "keyingtries"] = "0" } else if let n = UInt32(value) { t[option: "keyingtries"] = n.description } else {
                    report.warn(file, line, "keyingtries=\(value): not a number")
                }
            default:
                if ["mobike": "no", "compress": "no", "rekey": "yes", "reauth": "no", "fragmentation": "no"][key] == value { continue }
                report.warn(file, line, "\(key)=\(value) is not carried over (ike has no such setting)")
            }
        }
        t[option: "version"] = version
        t[option: "auth"] = auth
        t[option: "ike_lifetime"] = ikeLifetime.description
        t[option: "lifetime"] = lifetime.description
        if t[option: "exchange"] != nil, version != "1" {
            report.warn(file, v["aggressive"]?.line ?? conn.line, "aggressive=yes applies to IKEv1; not carried over")
            t[option: "exchange"] = nil
        }
        if t[option: "remote_address"] == nil {
            report.warn(file, conn.line, "conn \(conn.name) has no right=: written as a responder (remote_address 'any')")
            t[option: "remote_address"] = "any"
        }
        if auth == "pubkey" {
            report.warn(file, conn.line, "conn \(conn.name) authenticates with certificates, which this version of ike refuses (auth 'psk' only for now)")
        } else if let psk = secrets.lookup(localID: t[option: "local_id"] ?? t[option: "local_address"], remoteID: t[option: "remote_id"] ?? t[option: "remote_address"]) {
            t[option: "psk"] = psk
        } else {
            report.warn(file, conn.line, "conn \(conn.name): no PSK in ipsec.secrets for its identities; set option psk")
        }
        report.tunnels.append(t)
    }
}
