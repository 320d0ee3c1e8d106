import IKEWire

extension Configuration {
    /// The canonical text: every option written out, defaults included, in a fixed
    /// order, values single-quoted. `load(print())` gives an equal configuration.
    /// With `redactingSecrets` the PSKs print as `<redacted>` (for `ike check`).
    public func print(redactingSecrets: Bool = false) -> String {
        var out = Printer()
        out.section("ike", "global")
        out.option("log_level", global.logLevel.description)
        out.option("syslog_facility", global.syslogFacility)
        for a in global.listen { out.list("listen", a.description) }
        out.option("port", global.port.description)
        out.option("natt_port", global.nattPort.description)
        out.option("socket", global.socket)
        out.option("kernel", global.kernel.rawValue)
        out.option("half_open_max", global.halfOpenMax.description)
        out.option("half_open_per_source", global.halfOpenPerSource.description)
        out.option("cookie_threshold", global.cookieThreshold.description)
        out.option("fragment_size", global.fragmentSize.description)
        out.option("aggressive_rate", global.aggressiveRate.description)
        out.option("log_rate", global.logRate.description)
        for t in tunnels { out.tunnel(t, redactingSecrets: redactingSecrets) }
        return out.text
    }
}

private struct Printer {
    var text = ""

    /// An anonymous section (named `@type[N]`) is printed without a name, as written.
    mutating func section(_ type: String, _ name: String) {
        if !text.isEmpty { text += "\n" }
        text += UCISyntax.isAnonymousName(name) ? "config \(type)\n" : "config \(type) \(UCISyntax.quote(name))\n"
    }

    mutating func option(_ key: String, _ value: String) { text += "\toption \(key) \(UCISyntax.quote(value))\n" }
    mutating func list(_ key: String, _ value: String) { text += "\tlist \(key) \(UCISyntax.quote(value))\n" }

    mutating func tunnel(_ t: TunnelConfig, redactingSecrets: Bool) {
        section("tunnel", t.name)
        option("enabled", t.enabled ? "1" : "0")
        option("version", t.version.rawValue)
        if let a = t.localAddress { option("local_address", a.description) }
        if let i = t.interface { option("interface", i) }
        option("remote_address", t.remoteAddress.description)
        if let id = t.localID { option("local_id", id.description) }
        option("remote_id", t.remoteID.description)
        option("auth", t.auth.rawValue)
        if let psk = t.psk { option("psk", redactingSecrets ? psk.description : psk.value) }
        if let c = t.certificate { option("certificate", c) }
        if let k = t.privateKey { option("private_key", k) }
        for c in t.caCertificates { list("ca_certificate", c) }
        for c in t.crls { list("crl", c) }
        if t.auth == .pubkey { option("send_cert", t.sendCert.rawValue) }
        if let c = t.remoteCertificate { option("remote_certificate", c) }
        for p in t.ikeProposals { list("ike_proposal", p.description) }
        for p in t.espProposals { list("esp_proposal", p.description) }
        for s in t.localSubnets { list("local_subnet", s.description) }
        for s in t.remoteSubnets { list("remote_subnet", s.description) }
        option("mode", t.mode.rawValue)
        option("ike_lifetime", t.ikeLifetime.description)
        option("lifetime", t.lifetime.description)
        option("start", t.start.rawValue)
        option("dpd_delay", t.dpdDelay.description)
        option("dpd_action", t.dpdAction.rawValue)
        if t.version == .v1 { option("exchange", t.exchange.rawValue) }
        if let n = t.keyingTries { option("keyingtries", n.description) }
        option("retry_delay", t.retryDelay.description)
        option("retry_max_delay", t.retryMaxDelay.description)
    }
}
