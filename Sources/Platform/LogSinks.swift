import CLibc
import IKEWire

extension LogLevel {
    /// The syslog priority the level maps to (interface.md, "Logs").
    public var syslogPriority: Int32 {
        switch self {
        case .none, .debug: return LOG_DEBUG
        case .error: return LOG_ERR
        case .event: return LOG_NOTICE
        case .information: return LOG_INFO
        }
    }
}

/// syslog(3), ident `ike`, with the configured facility.
public final class SyslogSink: LogSink {
    /// Opens the log at `facility` ("daemon", "local0", ...); nil for an unknown name.
    public init?(facility: String) {
        let value = facility.withCString { ike_syslog_facility($0) }
        guard value >= 0 else { return nil }
        ike_openlog(value)
    }

    public func write(_ level: LogLevel, _ line: String) {
        line.withCString { ike_syslog(level.syslogPriority, $0) }
    }
}

/// Standard error, for `--foreground`: `LEVEL component: message`.
public final class StderrSink: LogSink {
    public init() {}

    public func write(_ level: LogLevel, _ line: String) {
        Process.printError(level.description + " " + line)
    }
}
