import IKEWire

extension Configuration {
    /// Parses and validates a configuration file's text. All errors of the file are
    /// reported together, in line order.
    public static func load(_ text: String, file: String) -> Result<Configuration, ConfigurationErrors> {
        let (document, syntaxErrors) = UCISyntax.parse(text, file: file)
        var loader = Loader(file: file)
        loader.diagnostics = syntaxErrors
        let configuration = loader.load(document)
        if loader.diagnostics.isEmpty { return .success(configuration) }
        let sorted = loader.diagnostics.enumerated().sorted { a, b in
            a.element.line != b.element.line ? a.element.line < b.element.line : a.offset < b.offset
        }.map { $0.element }
        return .failure(ConfigurationErrors(sorted))
    }
}

/// Turns a UCI document into a `Configuration`, collecting every error.
struct Loader {
    let file: String
    var diagnostics: [Diagnostic] = []

    mutating func error(_ line: Int, _ message: String) {
        diagnostics.append(Diagnostic(file: file, line: line, message: message))
    }

    mutating func load(_ document: UCIDocument) -> Configuration {
        var configuration = Configuration()
        var globalLine: Int? = nil
        var names: [String: Int] = [:]
        var tunnelIndex = 0
        // Collected apart and set once: `Configuration` indexes the names on each change.
        var tunnels: [TunnelConfig] = []
        for section in document.sections {
            switch section.type {
            case "ike":
                if let first = globalLine {
                    error(section.line, "a second 'config ike' section; merge it into the one at line \(first)")
                    continue
                }
                globalLine = section.line
                configuration.global = loadGlobal(section)
            case "tunnel":
                // An anonymous section (`uci add ike tunnel`, LuCI) is named as `uci show`
                // names it: @tunnel[N], N counting every tunnel section from 0.
                let name = section.name ?? "@tunnel[\(tunnelIndex)]"
                tunnelIndex += 1
                if let first = names[name] {
                    error(section.line, "tunnel '\(name)' is already defined at line \(first)")
                    continue
                }
                names[name] = section.line
                if let tunnel = loadTunnel(section, name: name) { tunnels.append(tunnel) }
            default:
                error(section.line, "unknown section type '\(section.type)': expected 'ike' or 'tunnel'")
            }
        }
        configuration.tunnels = tunnels
        return configuration
    }

    /// Checks the items' keys against `known`, single values against `option`, and that no
    /// single value is set twice; returns the items to apply.
    mutating func checkItems(_ section: UCIDocument.Section, what: String, options: [String], lists: [String]) -> [UCIDocument.Item] {
        var seen: [String: Int] = [:]
        var good: [UCIDocument.Item] = []
        for item in section.items {
            let isOption = options.contains(item.key)
            guard isOption || lists.contains(item.key) else {
                error(item.line, "unknown option '\(item.key)' in \(what); known: \((options + lists).sorted().joined(separator: ", "))")
                continue
            }
            if isOption {
                if item.isList {
                    error(item.line, "'\(item.key)' takes one value: write option \(item.key) '...'")
                    continue
                }
                if let first = seen[item.key] {
                    error(item.line, "option '\(item.key)' is set twice (first at line \(first))")
                    continue
                }
                seen[item.key] = item.line
            }
            good.append(item)
        }
        return good
    }

    mutating func loadGlobal(_ section: UCIDocument.Section) -> GlobalSettings {
        var g = GlobalSettings()
        let items = checkItems(section, what: "the ike section",
                               options: ["log_level", "syslog_facility", "port", "natt_port", "socket", "kernel", "half_open_max",
                                         "half_open_per_source", "cookie_threshold", "aggressive_rate", "log_rate", "fragment_size"],
                               lists: ["listen"])
        var portLine = section.line
        for item in items {
            let v = item.value
            switch item.key {
            case "log_level":
                if let level = LogLevel(name: v) { g.logLevel = level } else {
                    error(item.line, "log_level '\(v)': expected none, error, event, information or debug")
                }
            case "syslog_facility":
                if Loader.facilities.contains(v) { g.syslogFacility = v } else {
                    error(item.line, "syslog_facility '\(v)': expected \(Loader.facilities.joined(separator: ", "))")
                }
            case "listen":
                if let a = IPAddress(v) { g.listen.append(a) } else {
                    error(item.line, "listen '\(v)': expected an IPv4 or IPv6 address")
                }
            case "port":
                portLine = item.line
                if let p = port(item) { g.port = p }
            case "natt_port":
                portLine = item.line
                if let p = port(item) { g.nattPort = p }
            case "socket":
                if v.hasPrefix("/") && v.utf8.count < 108 { g.socket = v } else {
                    error(item.line, "socket '\(v)': expected an absolute path shorter than 108 bytes")
                }
            case "half_open_max":
                if let n = number(item, in: 1...1_000_000, unit: "a number of SAs") { g.halfOpenMax = n }
            case "half_open_per_source":
                if let n = number(item, in: 1...1_000_000, unit: "a number of SAs") { g.halfOpenPerSource = n }
            case "fragment_size":
                if let n = number(item, in: 576...65_535, unit: "octets of an IP datagram") { g.fragmentSize = n }
            case "cookie_threshold":
                if let n = number(item, in: 0...1_000_000, unit: "a number of SAs") { g.cookieThreshold = n }
            case "aggressive_rate":
                if let n = number(item, in: 1...1_000_000, unit: "exchanges a second") { g.aggressiveRate = n }
            case "log_rate":
                if let n = number(item, in: 0...1_000_000, unit: "records a second (0: no limit)") { g.logRate = n }
            default:
                if let k: KernelSetting = choice(item) { g.kernel = k }
            }
        }
        if g.port == g.nattPort { error(portLine, "port and natt_port are both \(g.port); they must differ") }
        return g
    }

    static let facilities = ["daemon", "user", "auth", "authpriv", "syslog", "local0", "local1", "local2",
                             "local3", "local4", "local5", "local6", "local7"]

    mutating func port(_ item: UCIDocument.Item) -> UInt16? {
        guard let n = UInt16(item.value), n > 0 else {
            error(item.line, "\(item.key) '\(item.value)': expected a port number 1-65535")
            return nil
        }
        return n
    }

    /// A value from an enum's raw values, or an error listing them.
    mutating func choice<E: RawRepresentable & CaseIterable>(_ item: UCIDocument.Item) -> E? where E.RawValue == String {
        if let e = E(rawValue: item.value) { return e }
        var allowed: [String] = []
        for c in E.allCases { allowed.append("'\(c.rawValue)'") }
        error(item.line, "\(item.key) '\(item.value)': expected \(allowed.joined(separator: " or "))")
        return nil
    }

    mutating func number(_ item: UCIDocument.Item, in range: ClosedRange<UInt32>, unit: String) -> UInt32? {
        guard let n = UInt32(item.value), range.contains(n) else {
            error(item.line, "\(item.key) '\(item.value)': expected \(unit) from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return n
    }
}
