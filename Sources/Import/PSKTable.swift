/// The pre-shared keys of a strongSwan configuration and the identities each is for, with
/// strongSwan's choice: the key naming both identities, else one of them, else one that
/// names none (a wildcard).
struct PSKTable {
    struct Entry {
        var ids: [String]
        var secret: String
    }

    var entries: [Entry] = []

    func lookup(localID: String?, remoteID: String?) -> String? {
        func names(_ e: Entry, _ id: String?) -> Bool { id.map { e.ids.map(PSKTable.normalized).contains(PSKTable.normalized($0)) } ?? false }
        if let e = entries.first(where: { names($0, localID) && names($0, remoteID) }) { return e.secret }
        if let e = entries.first(where: { names($0, remoteID) }) { return e.secret }
        if let e = entries.first(where: { names($0, localID) }) { return e.secret }
        return entries.first { $0.ids.isEmpty }?.secret
    }

    /// `@host.example` and `host.example` name the same FQDN identity.
    static func normalized(_ id: String) -> String {
        id.hasPrefix("@") && !id.hasPrefix("@#") ? String(id.dropFirst()) : id
    }

    /// The `ike-*` sections of swanctl.conf's `secrets`; every other kind is a warning.
    static func swanctl(_ secrets: SwanctlImport.Section?, file: String, into report: inout ImportReport) -> PSKTable {
        var table = PSKTable()
        guard let secrets else { return table }
        for section in secrets.sections {
            guard section.name == "ike" || section.name.hasPrefix("ike-") else {
                report.warn(file, section.line, "secrets.\(section.name): only ike (PSK) secrets are carried over")
                continue
            }
            var ids: [String] = []
            var secret: String? = nil
            for s in section.settings {
                if s.key == "secret" {
                    secret = StrongSwan.secret(s.value)
                    if secret == nil { report.warn(file, s.line, "secrets.\(section.name).secret: ike keys are text; a binary key cannot be carried over") }
                } else if s.key.hasPrefix("id") {  // id, id-NAME, idN
                    ids.append(StrongSwan.unquoted(s.value))
                } else {
                    report.warn(file, s.line, "secrets.\(section.name).\(s.key) is not carried over")
                }
            }
            if let secret { table.entries.append(Entry(ids: ids, secret: secret)) }
        }
        return table
    }

    /// ipsec.secrets(5): `[SELECTOR ...] : PSK "secret"`; other key kinds are warnings.
    static func ipsecSecrets(_ text: String, file: String, into report: inout ImportReport) -> PSKTable {
        var table = PSKTable()
        var number = 0
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            let line = SwanctlImport.withoutComment(String(raw)).trimmed
            if line.isEmpty { continue }
            if line.hasPrefix("include ") {
                report.warn(file, number, "'\(line)': included files are not read")
                continue
            }
            // The selector list ends at the ':' that precedes the key type.
            var split: String.Index? = nil
            var searchFrom = line.startIndex
            while let c = line[searchFrom...].firstIndex(of: ":") {
                let rest = line[line.index(after: c)...].trimmed
                if ["PSK", "RSA", "ECDSA", "BLISS", "EAP", "XAUTH", "NTLM", "PIN", "P12", "PKCS8", "PKCS12"].contains(where: { rest.hasPrefix($0) }) {
                    split = c
                    break
                }
                searchFrom = line.index(after: c)
            }
            guard let split else {
                report.warn(file, number, "a line of no known form (SELECTORS : PSK \"secret\"); ignored")
                continue
            }
            let selectors = line[..<split].split(separator: " ").map { StrongSwan.unquoted(String($0)) }.filter { !$0.isEmpty }
            let rest = line[line.index(after: split)...].trimmed
            guard rest.hasPrefix("PSK") else {
                report.warn(file, number, "\(rest.split(separator: " ").first.map(String.init) ?? "this") secrets are not carried over (only PSK)")
                continue
            }
            guard let secret = StrongSwan.secret(String(rest.dropFirst(3))) else {
                report.warn(file, number, "PSK: ike keys are text; an empty or binary key cannot be carried over")
                continue
            }
            table.entries.append(Entry(ids: selectors.map { $0 == "%any" ? "" : $0 }.filter { !$0.isEmpty }, secret: secret))
        }
        return table
    }
}
