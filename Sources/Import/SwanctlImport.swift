import UCI

/// swanctl.conf(5): strongSwan's settings syntax (`name { key = value }`), its
/// `connections` and `secrets` sections mapped onto ike tunnels.
enum SwanctlImport {
    /// A `name { ... }` block of the settings syntax.
    struct Section {
        var name: String
        var line: Int
        var settings: [(key: String, value: String, line: Int)] = []
        var sections: [Section] = []

        func section(_ name: String) -> Section? { sections.first { $0.name == name } }
        func value(_ key: String) -> (value: String, line: Int)? {
            settings.last { $0.key == key }.map { ($0.value, $0.line) }
        }
    }

    /// The settings tree; unbalanced braces and lines of no known form are warnings.
    static func parse(_ text: String, file: String, into report: inout ImportReport) -> Section {
        var stack = [Section(name: "", line: 0)]
        var number = 0
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            let line = withoutComment(String(raw)).trimmed
            if line.isEmpty { continue }
            if line == "}" {
                if stack.count > 1 {
                    let done = stack.removeLast()
                    stack[stack.count - 1].sections.append(done)
                } else {
                    report.warn(file, number, "a '}' closes no section")
                }
            } else if line.hasSuffix("{") {
                stack.append(Section(name: String(line.dropLast()).trimmed, line: number))
            } else if let eq = line.firstIndex(of: "=") {
                let key = String(line[..<eq]).trimmed, value = String(line[line.index(after: eq)...]).trimmed
                stack[stack.count - 1].settings.append((key, StrongSwan.unquoted(value), number))
            } else if line.hasPrefix("include ") {
                report.warn(file, number, "'\(line)': included files are not read; import them one by one")
            } else {
                report.warn(file, number, "'\(line)' is not a setting or a section; ignored")
            }
        }
        while stack.count > 1 {
            let open = stack.removeLast()
            report.warn(file, open.line, "section '\(open.name)' is not closed")
            stack[stack.count - 1].sections.append(open)
        }
        return stack[0]
    }

    static func withoutComment(_ line: String) -> String {
        var quoted = false, out = ""
        for c in line {
            if c == "\"" { quoted.toggle() }
            if c == "#" && !quoted { break }
            out.append(c)
        }
        return out
    }

    static func run(_ text: String, file: String, into report: inout ImportReport) {
        let root = parse(text, file: file, into: &report)
        let secrets = PSKTable.swanctl(root.section("secrets"), file: file, into: &report)
        for section in root.sections where section.name != "connections" && section.name != "secrets" {
            report.warn(file, section.line, "section '\(section.name)' (\(section.name == "pools" ? "virtual IP pools" : section.name == "authorities" ? "CA settings" : "not a connection")) is not carried over")
        }
        guard let connections = root.section("connections") else {
            report.warn(file, 1, "no 'connections' section: nothing to import")
            return
        }
        for conn in connections.sections { connection(conn, file: file, secrets: secrets, into: &report) }
    }

    /// What a connection sets for all its children.
    static let connectionKeys: Set<String> = ["version", "local_addrs", "remote_addrs", "proposals", "dpd_delay", "rekey_time",
                                              "over_time", "keyingtries", "aggressive"]
    /// Settings whose default is what ike does anyway; written with that value, they say nothing.
    static let harmless: [String: String] = ["mobike": "no", "fragmentation": "no", "encap": "no", "reauth_time": "0",
                                             "unique": "no", "send_certreq": "yes", "local_port": "500", "remote_port": "500"]

    static func connection(_ conn: Section, file: String, secrets: PSKTable, into report: inout ImportReport) {
        var base = ImportedTunnel(name: conn.name, origin: "\(file):\(conn.line) (connections.\(conn.name))")
        var ikeRekey: UInt32 = 4 * 3600
        for s in conn.settings {
            switch s.key {
            case "version":
                switch s.value {
                case "1": base[option: "version"] = "1"
                case "2": base[option: "version"] = "2"
                default: report.warn(file, s.line, "version = \(s.value): ike answers one IKE version per tunnel; IKEv2 is used")
                }
            case "local_addrs":
                let all = StrongSwan.list(s.value)
                if let first = all.first, !StrongSwan.isAny(first) { base[option: "local_address"] = first }
                if all.count > 1 { report.warn(file, s.line, "local_addrs: ike uses one local address; \(all.dropFirst().joined(separator: ", ")) not carried over") }
            case "remote_addrs":
                let all = StrongSwan.list(s.value)
                if let first = all.first { base[option: "remote_address"] = StrongSwan.isAny(first) || first.contains("/") || first.contains("-") ? "any" : first }
                if all.count > 1 { report.warn(file, s.line, "remote_addrs: ike uses one peer address; \(all.dropFirst().joined(separator: ", ")) not carried over") }
            case "proposals":
                for p in StrongSwan.proposals(s.value, kind: .ike, file: file, line: s.line, key: "proposals", into: &report) { base.append("ike_proposal", p) }
            case "dpd_delay":
                if let n = StrongSwan.seconds(s.value) { base[option: "dpd_delay"] = n.description } else { report.warn(file, s.line, "dpd_delay = \(s.value): not a time") }
            case "rekey_time":
                if let n = StrongSwan.seconds(s.value), n > 0 { ikeRekey = n } else { report.warn(file, s.line, "rekey_time = \(s.value): ike always rekeys; the default (4h) is used") }
            case "over_time": break  // the hard end after the rekey: ike's ike_lifetime covers it
            case "keyingtries":
                if let n = UInt32(s.value) { base[option: "keyingtries"] = n.description } else { report.warn(file, s.line, "keyingtries = \(s.value): not a number") }
            case "aggressive":
                if s.value == "yes" { base[option: "exchange"] = "aggressive" }
            default:
                if harmless[s.key] != s.value { report.warn(file, s.line, "\(s.key) = \(s.value) is not carried over (ike has no such setting)") }
            }
        }
        base[option: "ike_lifetime"] = StrongSwan.lifetime(rekeyAt: ikeRekey).description
        if base[option: "remote_address"] == nil { base[option: "remote_address"] = "any" }
        if base[option: "dpd_delay"] == nil { base[option: "dpd_delay"] = "0" }  // swanctl's default: no DPD
        if base[option: "keyingtries"] == nil { base[option: "keyingtries"] = "1" }
        if base[option: "exchange"] != nil, base[option: "version"] != "1" {
            report.warn(file, conn.line, "aggressive = yes applies to IKEv1; not carried over")
            base[option: "exchange"] = nil
        }
        var auth = "psk"
        for side in conn.sections where side.name.hasPrefix("local") || side.name.hasPrefix("remote") {
            let local = side.name.hasPrefix("local")
            if side.name != "local" && side.name != "remote" {
                report.warn(file, side.line, "\(side.name): ike authenticates in one round; not carried over")
                continue
            }
            for s in side.settings {
                switch s.key {
                case "auth":
                    switch s.value {
                    case "psk": break
                    case "pubkey", "rsa", "ecdsa": auth = "pubkey"
                    default: report.warn(file, s.line, "\(side.name).auth = \(s.value): ike authenticates with psk (or pubkey); not carried over")
                    }
                case "id":
                    if let id = StrongSwan.identity(s.value, file: file, line: s.line, key: "\(side.name).id", into: &report) {
                        if local && id == "%any" { report.warn(file, s.line, "local.id = %any: ike's own identity is definite; the local address is used") }
                        else { base[option: local ? "local_id" : "remote_id"] = id }
                    }
                case "certs" where local:
                    base[option: "certificate"] = s.value.hasPrefix("/") ? s.value : "/etc/swanctl/x509/" + s.value
                case "cacerts":
                    for c in StrongSwan.list(s.value) { base.append("ca_certificate", c.hasPrefix("/") ? c : "/etc/swanctl/x509ca/" + c) }
                default:
                    report.warn(file, s.line, "\(side.name).\(s.key) = \(s.value) is not carried over")
                }
            }
        }
        base[option: "auth"] = auth
        if auth == "pubkey" {
            report.warn(file, conn.line, "connections.\(conn.name) authenticates with certificates, which this version of ike refuses (auth 'psk' only for now)")
        } else if let psk = secrets.lookup(localID: base[option: "local_id"] ?? base[option: "local_address"],
                                           remoteID: base[option: "remote_id"] ?? base[option: "remote_address"]) {
            base[option: "psk"] = psk
        } else {
            report.warn(file, conn.line, "connections.\(conn.name): no usable secret in 'secrets' for its identities; set option psk")
        }
        guard let children = conn.section("children"), !children.sections.isEmpty else {
            report.warn(file, conn.line, "connections.\(conn.name) has no children: ike negotiates a CHILD_SA with every IKE SA; a tunnel of the endpoints is written")
            report.tunnels.append(base)
            return
        }
        if children.sections.count > 1 {
            report.warn(file, children.line, "connections.\(conn.name) has \(children.sections.count) children: ike negotiates one CHILD_SA per tunnel, so each child becomes a tunnel with its own IKE SA")
        }
        for child in children.sections {
            var t = base
            if children.sections.count > 1 { t.name = ImportedTunnel.sectionName(conn.name + "_" + child.name) }
            t.origin = "\(file):\(child.line) (connections.\(conn.name).children.\(child.name))"
            self.child(child, into: &t, file: file, report: &report)
            report.tunnels.append(t)
        }
    }

    static func child(_ child: Section, into t: inout ImportedTunnel, file: String, report: inout ImportReport) {
        var rekey: UInt32 = 3600, life: UInt32? = nil
        t[option: "start"] = "manual"
        t[option: "dpd_action"] = "clear"
        for s in child.settings {
            switch s.key {
            case "local_ts": for n in StrongSwan.subnets(s.value, file: file, line: s.line, key: "local_ts", into: &report) { t.append("local_subnet", n) }
            case "remote_ts": for n in StrongSwan.subnets(s.value, file: file, line: s.line, key: "remote_ts", into: &report) { t.append("remote_subnet", n) }
            case "esp_proposals":
                for p in StrongSwan.proposals(s.value, kind: .esp, file: file, line: s.line, key: "esp_proposals", into: &report) { t.append("esp_proposal", p) }
            case "start_action":
                switch s.value {
                case "none": t[option: "start"] = "manual"
                case "trap": t[option: "start"] = "trap"
                case "start": t[option: "start"] = "auto"
                case "trap|start", "start|trap":
                    t[option: "start"] = "auto"
                    report.warn(file, s.line, "start_action = \(s.value): ike starts the tunnel at once (auto) and installs no trap beside it")
                default: report.warn(file, s.line, "start_action = \(s.value) is not known; the tunnel starts manually")
                }
            case "dpd_action":
                switch s.value {
                case "clear", "none": t[option: "dpd_action"] = "clear"
                case "trap": t[option: "dpd_action"] = "hold"
                case "restart", "start": t[option: "dpd_action"] = "restart"
                default: report.warn(file, s.line, "dpd_action = \(s.value) is not known; clear is used")
                }
            case "mode":
                if s.value == "tunnel" || s.value == "transport" { t[option: "mode"] = s.value } else {
                    report.warn(file, s.line, "mode = \(s.value): ike has tunnel and transport only; tunnel is used")
                }
            case "rekey_time":
                if let n = StrongSwan.seconds(s.value), n > 0 { rekey = n } else { report.warn(file, s.line, "rekey_time = \(s.value): ike always rekeys; the default (1h) is used") }
            case "life_time": life = StrongSwan.seconds(s.value)
            default:
                if s.key == "close_action" && s.value == "none" { continue }
                report.warn(file, s.line, "children.\(child.name).\(s.key) = \(s.value) is not carried over (ike has no such setting)")
            }
        }
        t[option: "lifetime"] = (child.value("rekey_time") == nil ? life ?? StrongSwan.lifetime(rekeyAt: rekey) : StrongSwan.lifetime(rekeyAt: rekey)).description
        if t[option: "mode"] == "transport", !t.list("local_subnet").isEmpty || !t.list("remote_subnet").isEmpty {
            report.warn(file, child.line, "children.\(child.name): transport mode protects the endpoints; its local_ts and remote_ts are not carried over")
            t.clearList("local_subnet")
            t.clearList("remote_subnet")
        }
    }
}
