import UCI

/// OpenWrt's `/etc/config/ipsec` (the strongswan package's UCI file): `config remote`
/// sections with their `crypto_proposal` sections and their children (`config tunnel`,
/// `config transport`), mapped as the package's init script would hand them to charon.
enum OpenWrtImport {
    static func run(_ text: String, file: String, into report: inout ImportReport) {
        let (document, errors) = UCISyntax.parse(text, file: file)
        for e in errors { report.warn(e.file, e.line, e.message) }
        var byName: [String: UCIDocument.Section] = [:]
        for s in document.sections { if let n = s.name { byName[n] = s } }
        var interface: String? = nil
        var remotes = 0
        for s in document.sections {
            switch s.type {
            case "ipsec":
                for item in s.items {
                    if item.key == "interface" || item.key == "listen" {
                        if interface == nil { interface = item.value } else {
                            report.warn(file, item.line, "\(item.key) '\(item.value)': ike binds every address; only the first interface is noted on the tunnels")
                        }
                    } else if item.key != "debug" || item.value != "0" {
                        report.warn(file, item.line, "config ipsec: \(item.key) is not carried over")
                    }
                }
            case "remote":
                remotes += 1
                remote(s, byName, interface: interface, file: file, into: &report)
            case "crypto_proposal", "tunnel", "transport", "child": break
            default:
                report.warn(file, s.line, "config \(s.type): not carried over")
            }
        }
        if remotes == 0 { report.warn(file, 1, "no 'config remote' sections: nothing to import") }
    }

    static func value(_ s: UCIDocument.Section, _ key: String) -> UCIDocument.Item? { s.items.last { $0.key == key } }

    /// `crypto_proposal` sections joined as strongSwan proposals (`aes256-sha256-modp2048`).
    static func proposals(_ names: [UCIDocument.Item], _ byName: [String: UCIDocument.Section], kind: Proposal.Kind,
                          file: String, into report: inout ImportReport) -> [String] {
        var out: [String] = []
        for item in names {
            guard let p = byName[item.value], p.type == "crypto_proposal" else {
                report.warn(file, item.line, "crypto_proposal '\(item.value)': no such config crypto_proposal section")
                continue
            }
            let parts = ["encryption_algorithm", "hash_algorithm", "prf_algorithm", "dh_group"].compactMap { value(p, $0)?.value }
            out += StrongSwan.proposals(parts.joined(separator: "-"), kind: kind, file: file, line: p.line, key: "crypto_proposal '\(item.value)'", into: &report)
            for i in p.items where !["encryption_algorithm", "hash_algorithm", "prf_algorithm", "dh_group"].contains(i.key) {
                report.warn(file, i.line, "crypto_proposal '\(item.value)': \(i.key) is not carried over")
            }
        }
        return out
    }

    static let remoteHarmless: [String: String] = ["mobike": "0", "encap": "0", "fragmentation": "no", "send_certreq": "1"]

    static func remote(_ r: UCIDocument.Section, _ byName: [String: UCIDocument.Section], interface: String?, file: String, into report: inout ImportReport) {
        let name = r.name ?? "remote"
        var base = ImportedTunnel(name: name, origin: "\(file):\(r.line) (config remote '\(name)')")
        if let interface { base[option: "interface"] = interface }
        base[option: "enabled"] = "0"  // the package's default
        base[option: "keyingtries"] = "3"
        base[option: "dpd_delay"] = "30"
        base[option: "version"] = "2"
        base[option: "ike_lifetime"] = StrongSwan.lifetime(rekeyAt: 4 * 3600).description
        var auth = "psk"
        var children: [UCIDocument.Item] = []
        var ikeProposals: [UCIDocument.Item] = []
        for item in r.items {
            let v = item.value
            switch item.key {
            case "enabled": base[option: "enabled"] = ["1", "yes", "on", "true"].contains(v) ? "1" : "0"
            case "gateway": base[option: "remote_address"] = StrongSwan.isAny(v) || v == "any" ? "any" : v
            case "local_gateway": base[option: "local_address"] = v
            case "local_ip":
                if base[option: "local_address"] == nil, !v.contains("/") { base[option: "local_address"] = v } else {
                    report.warn(file, item.line, "local_ip '\(v)': ike uses local_gateway as its one local address; not carried over")
                }
            case "local_identifier", "remote_identifier":
                if let id = StrongSwan.identity(v, file: file, line: item.line, key: item.key, into: &report) {
                    base[option: item.key == "local_identifier" ? "local_id" : "remote_id"] = id
                }
            case "authentication_method":
                if v == "pubkey" { auth = "pubkey" } else if v != "psk" {
                    report.warn(file, item.line, "authentication_method '\(v)': ike authenticates with psk (or pubkey); not carried over")
                }
            case "pre_shared_key":
                if let s = StrongSwan.secret(v) { base[option: "psk"] = s } else { report.warn(file, item.line, "pre_shared_key: an empty or binary key cannot be carried over") }
            case "crypto_proposal": ikeProposals.append(item)
            case "tunnel", "transport", "child": children.append(item)
            case "keyingtries": base[option: "keyingtries"] = v == "%forever" ? "0" : v
            case "dpddelay":
                if let n = StrongSwan.seconds(v) { base[option: "dpd_delay"] = n.description } else { report.warn(file, item.line, "dpddelay '\(v)': not a time") }
            case "keyexchange":
                switch v {
                case "ikev1": base[option: "version"] = "1"
                case "ikev2": base[option: "version"] = "2"
                default: report.warn(file, item.line, "keyexchange '\(v)': ike answers one IKE version per tunnel; IKEv2 is used")
                }
            case "rekeytime":
                if let n = StrongSwan.seconds(v), n > 0 { base[option: "ike_lifetime"] = StrongSwan.lifetime(rekeyAt: n).description } else {
                    report.warn(file, item.line, "rekeytime '\(v)': not a time")
                }
            case "overtime": break
            case "local_cert": base[option: "certificate"] = "/etc/swanctl/x509/" + v
            case "local_key": base[option: "private_key"] = "/etc/swanctl/private/" + v
            case "ca_cert": base.append("ca_certificate", "/etc/swanctl/x509ca/" + v)
            default:
                if remoteHarmless[item.key] != v { report.warn(file, item.line, "remote '\(name)': \(item.key) is not carried over (ike has no such setting)") }
            }
        }
        if base[option: "remote_address"] == nil {
            report.warn(file, r.line, "remote '\(name)' has no gateway: written as a responder (remote_address 'any')")
            base[option: "remote_address"] = "any"
        }
        for p in proposals(ikeProposals, byName, kind: .ike, file: file, into: &report) { base.append("ike_proposal", p) }
        base[option: "auth"] = auth
        if auth == "pubkey" {
            report.warn(file, r.line, "remote '\(name)' authenticates with certificates, which this version of ike refuses (auth 'psk' only for now)")
        } else if base[option: "psk"] == nil {
            report.warn(file, r.line, "remote '\(name)' has no pre_shared_key; set option psk")
        }
        if children.count > 1 {
            report.warn(file, r.line, "remote '\(name)' has \(children.count) children: ike negotiates one CHILD_SA per tunnel, so each becomes a tunnel with its own IKE SA")
        }
        if children.isEmpty {
            report.warn(file, r.line, "remote '\(name)' has no tunnel or transport: a tunnel of the endpoints is written")
            report.tunnels.append(base)
        }
        for c in children {
            guard let section = byName[c.value], ["tunnel", "transport", "child"].contains(section.type) else {
                report.warn(file, c.line, "\(c.key) '\(c.value)': no such config tunnel or transport section")
                continue
            }
            var t = base
            if children.count > 1 { t.name = ImportedTunnel.sectionName(name + "_" + c.value) }
            t.origin = "\(file):\(section.line) (config \(section.type) '\(c.value)' of remote '\(name)')"
            child(section, kind: c.key, byName, into: &t, file: file, report: &report)
            report.tunnels.append(t)
        }
    }

    static func child(_ s: UCIDocument.Section, kind: String, _ byName: [String: UCIDocument.Section], into t: inout ImportedTunnel,
                      file: String, report: inout ImportReport) {
        t[option: "mode"] = kind == "transport" || s.type == "transport" ? "transport" : "tunnel"
        t[option: "start"] = "trap"  // startaction's default, route
        t[option: "dpd_action"] = "clear"
        var dpdOff = true  // dpdaction's default, none
        var rekey: UInt32 = 3600, life: UInt32? = nil
        var esp: [UCIDocument.Item] = []
        for item in s.items {
            let v = item.value
            switch item.key {
            case "local_subnet", "remote_subnet":
                for n in StrongSwan.subnets(v, file: file, line: item.line, key: item.key, into: &report) { t.append(item.key, n) }
            case "mode":
                if v == "tunnel" || v == "transport" { t[option: "mode"] = v } else { report.warn(file, item.line, "mode '\(v)': tunnel is used") }
            case "startaction":
                switch v {
                case "add", "none": t[option: "start"] = "manual"
                case "route", "trap": t[option: "start"] = "trap"
                case "start": t[option: "start"] = "auto"
                default: report.warn(file, item.line, "startaction '\(v)' is not known; trap is used")
                }
            case "dpdaction":
                switch v {
                case "none": dpdOff = true
                case "clear": dpdOff = false; t[option: "dpd_action"] = "clear"
                case "hold", "trap": dpdOff = false; t[option: "dpd_action"] = "hold"
                case "restart", "start": dpdOff = false; t[option: "dpd_action"] = "restart"
                default: report.warn(file, item.line, "dpdaction '\(v)' is not known")
                }
            case "closeaction":
                if v != "none" { report.warn(file, item.line, "closeaction '\(v)' is not carried over") }
            case "crypto_proposal": esp.append(item)
            case "rekeytime":
                if let n = StrongSwan.seconds(v), n > 0 { rekey = n } else { report.warn(file, item.line, "rekeytime '\(v)': not a time") }
            case "lifetime": life = StrongSwan.seconds(v)
            default:
                report.warn(file, item.line, "\(s.type) '\(s.name ?? "")': \(item.key) is not carried over (ike has no such setting)")
            }
        }
        if dpdOff { t[option: "dpd_delay"] = "0" }
        for p in proposals(esp, byName, kind: .esp, file: file, into: &report) { t.append("esp_proposal", p) }
        t[option: "lifetime"] = (life != nil && s.items.contains { $0.key == "rekeytime" } == false ? life! : StrongSwan.lifetime(rekeyAt: rekey)).description
        if t[option: "mode"] == "transport", !t.list("local_subnet").isEmpty || !t.list("remote_subnet").isEmpty {
            report.warn(file, s.line, "transport mode protects the endpoints; local_subnet and remote_subnet are not carried over")
            t.clearList("local_subnet")
            t.clearList("remote_subnet")
        }
        if t[option: "start"] == "trap" && t[option: "local_address"] == nil {
            report.warn(file, s.line, "startaction route (the default) needs local_gateway in ike (its trap policy names both endpoints); the tunnel starts manually")
            t[option: "start"] = "manual"
        }
    }
}
