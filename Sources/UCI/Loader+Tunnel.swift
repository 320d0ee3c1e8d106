import IKEWire

extension Loader {
    static let tunnelOptions = ["enabled", "version", "local_address", "remote_address", "local_id", "remote_id",
                                "auth", "psk", "certificate", "private_key", "mode", "ike_lifetime", "lifetime",
                                "start", "dpd_delay", "dpd_action", "exchange", "keyingtries", "retry_delay", "retry_max_delay",
                                "interface", "send_cert", "remote_certificate"]
    /// Lists; `option` with one of these keys is a one-element list.
    static let tunnelLists = ["ca_certificate", "crl", "ike_proposal", "esp_proposal", "local_subnet", "remote_subnet"]

    /// Where each option was set, for cross-checks that blame the right line.
    struct Lines {
        var of: [String: Int] = [:]
        subscript(_ key: String, or section: Int) -> Int { of[key] ?? section }
    }

    mutating func loadTunnel(_ section: UCIDocument.Section, name: String) -> TunnelConfig? {
        var t = TunnelConfig(name: name, line: section.line)
        var lines = Lines()
        var ikeProposals: [Proposal] = [], espProposals: [Proposal] = []
        let before = diagnostics.count
        let items = checkItems(section, what: "tunnel '\(name)'", options: Loader.tunnelOptions, lists: Loader.tunnelLists)
        for item in items {
            let errorsBefore = diagnostics.count
            apply(item, to: &t, ike: &ikeProposals, esp: &espProposals)
            // Cross-checks look only at values that were accepted: a bad value is
            // reported once, by itself.
            if diagnostics.count == errorsBefore { lines.of[item.key] = lines.of[item.key] ?? item.line }
        }
        if !ikeProposals.isEmpty { t.ikeProposals = ikeProposals } else if t.version == .v1 { t.ikeProposals = TunnelConfig.defaultIKEv1Proposals }
        if !espProposals.isEmpty { t.espProposals = espProposals }
        if !items.contains(where: { $0.key == "remote_address" }) {
            error(section.line, "tunnel '\(name)' has no remote_address: give the peer's address, or 'any' for a responder")
        }
        if lines.of["remote_id"] == nil, case let .address(a) = t.remoteAddress { t.remoteID = .address(a) }
        crossCheck(&t, lines, present: items.map { $0.key })
        return diagnostics.count == before ? t : nil
    }

    mutating func apply(_ item: UCIDocument.Item, to t: inout TunnelConfig, ike: inout [Proposal], esp: inout [Proposal]) {
        let v = item.value
        switch item.key {
        case "enabled":
            switch v {
            case "1", "yes", "on", "true": t.enabled = true
            case "0", "no", "off", "false": t.enabled = false
            default: error(item.line, "enabled '\(v)': expected '1' or '0'")
            }
        case "version": if let x: IKEVersion = choice(item) { t.version = x }
        case "local_address":
            if let a = IPAddress(v) { t.localAddress = a } else {
                error(item.line, "local_address '\(v)': expected an IPv4 or IPv6 address")
            }
        case "interface":
            if UCISyntax.isName(v) { t.interface = v } else {
                error(item.line, "interface '\(v)': expected an OpenWrt interface name such as 'wan' (letters, digits, _)")
            }
        case "remote_address":
            if v == "any" {
                t.remoteAddress = .any
            } else if let a = IPAddress(v) {
                t.remoteAddress = .address(a)
            } else if Identity.isHostName(v), v.contains("."), !(v.split(separator: ".").last?.isASCIIDigits ?? true) {
                t.remoteAddress = .name(v)
            } else {
                error(item.line, "remote_address '\(v)': expected an IPv4 or IPv6 address, a DNS name, or 'any'")
            }
        case "local_id", "remote_id":
            switch Identity.parse(v) {
            case let .success(id):
                if item.key == "local_id" {
                    if id == .any { error(item.line, "local_id '%any': our own identity must be definite") } else { t.localID = id }
                } else {
                    t.remoteID = id
                }
            case let .failure(problem): error(item.line, "\(item.key) '\(v)': \(problem)")
            }
        case "auth": if let x: AuthMethod = choice(item) { t.auth = x }
        case "psk":
            if v.isEmpty { error(item.line, "psk is empty: use a long random secret") } else { t.psk = PresharedKey(v) }
        case "certificate", "private_key", "ca_certificate", "crl", "remote_certificate":
            guard v.hasPrefix("/") else {
                error(item.line, "\(item.key) '\(v)': expected an absolute path")
                return
            }
            switch item.key {
            case "certificate": t.certificate = v
            case "private_key": t.privateKey = v
            case "ca_certificate": t.caCertificates.append(v)
            case "crl": t.crls.append(v)
            default: t.remoteCertificate = v
            }
            if t.credentialLines[item.key] == nil { t.credentialLines[item.key] = SourceLine(item.line) }
        case "send_cert": if let x: SendCert = choice(item) { t.sendCert = x }
        case "ike_proposal", "esp_proposal":
            let kind: Proposal.Kind = item.key == "ike_proposal" ? .ike : .esp
            switch Proposal.parse(v, kind: kind) {
            case let .success(p): if kind == .ike { ike.append(p) } else { esp.append(p) }
            case let .failure(problem): error(item.line, "\(item.key) \(problem)")
            }
        case "local_subnet", "remote_subnet":
            switch Subnet.parse(v) {
            case let .success(s): if item.key == "local_subnet" { t.localSubnets.append(s) } else { t.remoteSubnets.append(s) }
            case let .failure(problem): error(item.line, "\(item.key) '\(v)': \(problem)")
            }
        case "mode": if let x: TunnelMode = choice(item) { t.mode = x }
        case "ike_lifetime": if let n = number(item, in: 300...604_800, unit: "seconds") { t.ikeLifetime = n }
        case "lifetime": if let n = number(item, in: 60...86_400, unit: "seconds") { t.lifetime = n }
        case "start": if let x: StartAction = choice(item) { t.start = x }
        case "dpd_delay": if let n = number(item, in: 0...3600, unit: "seconds (0 turns DPD off)") { t.dpdDelay = n }
        case "dpd_action": if let x: DPDAction = choice(item) { t.dpdAction = x }
        case "keyingtries": if let n = number(item, in: 0...1000, unit: "attempts (0 tries for ever)") { t.keyingTries = n }
        case "retry_delay": if let n = number(item, in: 1...3600, unit: "seconds") { t.retryDelay = n }
        case "retry_max_delay": if let n = number(item, in: 1...86_400, unit: "seconds") { t.retryMaxDelay = n }
        default: if let x: Phase1Exchange = choice(item) { t.exchange = x }
        }
    }

    /// Rules that involve more than one option.
    /// `present` names every option written, valid or not: a missing-option rule does not
    /// fire for an option that is there but wrong (that error is reported already).
    mutating func crossCheck(_ t: inout TunnelConfig, _ lines: Lines, present: [String]) {
        let s = t.line.number
        switch t.auth {
        case .psk:
            if t.psk == nil && !present.contains("psk") { error(lines["auth", or: s], "tunnel '\(t.name)' uses auth 'psk' but sets no psk") }
            for key in ["certificate", "private_key", "ca_certificate", "crl", "send_cert", "remote_certificate"] where lines.of[key] != nil {
                error(lines[key, or: s], "\(key) is used only with auth 'pubkey'")
            }
        case .pubkey:
            // Every part of the credential must be named: a pubkey tunnel never comes up
            // with some other credential in its place (the files are checked by cpsd).
            for key in ["certificate", "private_key", "ca_certificate"] where !present.contains(key) {
                error(lines["auth", or: s], "tunnel '\(t.name)' uses auth 'pubkey' but sets no \(key)")
            }
            if t.psk != nil || present.contains("psk") { error(lines["psk", or: s], "psk is used only with auth 'psk'") }
            if t.version == .v1 && t.exchange == .aggressive {
                error(lines["exchange", or: s], "auth 'pubkey' with exchange 'aggressive': IKEv1 signatures are built for Main Mode; use exchange 'main'")
            }
        }
        if t.remoteAddress == .any && t.start != .manual {
            error(lines["start", or: s], "start '\(t.start.rawValue)' needs a remote_address to contact; a remote_address 'any' tunnel only responds")
        }
        if t.start == .trap && t.localAddress == nil && lines.of["start"] != nil {
            error(lines["start", or: s], "start 'trap' needs local_address: the trap policy's template names both tunnel endpoints")
        }
        let localFamilies = Set(t.localSubnets.map { $0.address.isV4 }), remoteFamilies = Set(t.remoteSubnets.map { $0.address.isV4 })
        if !localFamilies.isEmpty, !remoteFamilies.isEmpty, localFamilies != remoteFamilies,
           let r = t.remoteSubnets.first(where: { !localFamilies.contains($0.address.isV4) }) ?? t.remoteSubnets.first,
           let l = t.localSubnets.first(where: { $0.address.isV4 != r.address.isV4 }) ?? t.localSubnets.first {
            error(lines["remote_subnet", or: s], "remote_subnet \(r) is \(r.address.isV4 ? "IPv4" : "IPv6") and local_subnet \(l) is \(l.address.isV4 ? "IPv4" : "IPv6"); a CHILD_SA's selectors pair subnets of one address family")
        }
        if t.start == .trap, case .name = t.remoteAddress {
            error(lines["start", or: s], "start 'trap' needs remote_address as an IP address for its trap policy, not a DNS name")
        }
        if let local = t.localAddress, case let .address(remote) = t.remoteAddress, local.isV4 != remote.isV4 {
            error(lines["local_address", or: s], "local_address \(local) and remote_address \(remote) are of different IP versions")
        }
        if t.version == .v2 && lines.of["exchange"] != nil {
            error(lines["exchange", or: s], "exchange applies to IKEv1 only (version '1')")
        }
        if t.version == .v1 && lines.of["ike_proposal"] != nil {
            // IKEv1 protects its own messages with AES-CBC only (RFC 2409 Appendix A).
            for p in t.ikeProposals where p.ciphers.contains(where: { $0.algorithm != .aesCBC }) {
                error(lines["ike_proposal", or: s], "ike_proposal '\(p)': IKEv1 phase 1 takes aes128 or aes256 with sha1, sha256, sha384 or sha512, not AEAD ciphers")
            }
        }
        if t.version == .v1 && lines.of["esp_proposal"] != nil {
            for p in t.espProposals where p.ciphers.contains(where: { $0.algorithm == .chacha20Poly1305 }) {
                error(lines["esp_proposal", or: s], "esp_proposal '\(p)': IKEv1 has no chacha20poly1305; use aes128gcm16, aes256gcm16 or aes-cbc with sha2")
            }
        }
        if t.mode == .transport && (!t.localSubnets.isEmpty || !t.remoteSubnets.isEmpty) {
            error(lines["mode", or: s], "transport mode protects the endpoints themselves; remove local_subnet and remote_subnet")
        }
        if t.localSubnets.isEmpty != t.remoteSubnets.isEmpty {
            let missing = t.localSubnets.isEmpty ? "local_subnet" : "remote_subnet"
            error(lines[t.localSubnets.isEmpty ? "remote_subnet" : "local_subnet", or: s], "tunnel '\(t.name)' sets one side's subnets but no \(missing)")
        }
        if t.retryMaxDelay < t.retryDelay {
            if lines.of["retry_max_delay"] != nil {
                error(lines["retry_max_delay", or: s], "retry_max_delay \(t.retryMaxDelay) is shorter than retry_delay \(t.retryDelay)")
            } else {
                t.retryMaxDelay = t.retryDelay
            }
        }
        if t.lifetime >= t.ikeLifetime && lines.of["lifetime"] != nil {
            error(lines["lifetime", or: s], "lifetime \(t.lifetime) must be shorter than ike_lifetime \(t.ikeLifetime)")
        }
    }
}
