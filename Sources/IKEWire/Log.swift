/// The log levels of interface.md, least to most verbose. A line is written when its
/// level is at or below the configured one; `none` writes nothing.
public enum LogLevel: Int, Comparable, CaseIterable, CustomStringConvertible, Sendable {
    case none = 0, error, event, information, debug

    public init?(name: String) {
        for level in LogLevel.allCases where level.description == name {
            self = level
            return
        }
        return nil
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .none: return "none"
        case .error: return "error"
        case .event: return "event"
        case .information: return "information"
        case .debug: return "debug"
        }
    }
}

/// The AIX daemons that make up `ike`; every log line names the one it comes from.
public enum Component: CaseIterable, CustomStringConvertible, Sendable {
    case tmd, iked, isakmpd, ikev2d, cpsd

    public var description: String {
        switch self {
        case .tmd: return "tmd"
        case .iked: return "iked"
        case .isakmpd: return "isakmpd"
        case .ikev2d: return "ikev2d"
        case .cpsd: return "cpsd"
        }
    }
}

/// Where log lines go. `line` is `component: message`, without a level or newline.
public protocol LogSink: AnyObject {
    func write(_ level: LogLevel, _ line: String)
}

/// The daemon's logger: filters by level, then hands each line to every sink.
/// Messages are built only when they pass the filter. The sinks that do I/O (syslog,
/// stderr) live in Platform; the cores only ever see this class.
public final class Logger {
    public var level: LogLevel
    private var sinks: [any LogSink]
    /// Records a second beyond which lines are dropped and counted, so that a flood of
    /// whatever kind cannot flood syslog; 0: no limit. Needs `now`.
    public var maxPerSecond: UInt32 = 0
    /// The clock the limit counts seconds on (the daemon's monotonic clock).
    public var now: (() -> Instant)? = nil
    private var second: UInt64 = 0
    private var written: UInt32 = 0
    /// Records dropped by the limit, in all.
    public private(set) var suppressed: UInt64 = 0
    private var suppressedThisSecond: UInt64 = 0

    public init(level: LogLevel, sinks: [any LogSink]) {
        self.level = level
        self.sinks = sinks
    }

    public func enabled(_ lineLevel: LogLevel) -> Bool {
        lineLevel != .none && lineLevel <= level
    }

    public func log(_ lineLevel: LogLevel, _ component: Component, _ message: @autoclosure () -> String) {
        guard enabled(lineLevel), admitted() else { return }
        var line = component.description
        line += ": "
        line += LogText.escaped(message())
        for sink in sinks { sink.write(lineLevel, line) }
    }

    /// The rate limit: a fixed one-second window; the first record of a new second says
    /// how many the last limited second dropped.
    private func admitted() -> Bool {
        guard maxPerSecond > 0, let now else { return true }
        let s = now().nanoseconds / 1_000_000_000
        if s != second {
            second = s
            written = 0
            if suppressedThisSecond > 0 {
                let n = suppressedThisSecond
                suppressedThisSecond = 0
                written = 1
                let line = "tmd: \(n) log records dropped (more than \(maxPerSecond) a second, log_rate)"
                for sink in sinks { sink.write(.error, line) }
            }
        }
        guard written < maxPerSecond else {
            suppressed += 1
            suppressedThisSecond += 1
            return false
        }
        written += 1
        return true
    }

    public func error(_ component: Component, _ message: @autoclosure () -> String) {
        log(.error, component, message())
    }

    public func event(_ component: Component, _ message: @autoclosure () -> String) {
        log(.event, component, message())
    }

    public func information(_ component: Component, _ message: @autoclosure () -> String) {
        log(.information, component, message())
    }

    public func debug(_ component: Component, _ message: @autoclosure () -> String) {
        log(.debug, component, message())
    }
}

/// Text that came from outside (a peer's identity, a vendor ID, a notify's data) made safe
/// for one log line or terminal row: control characters (C0, DEL, C1) become `\xNN`
/// escapes of their UTF-8 bytes, so nothing a peer sends can end a log record, forge the
/// next one or drive the terminal that shows it. Escaping twice changes nothing.
public enum LogText {
    public static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                for byte in String(scalar).utf8 { out += "\\x" + Hex.encode([byte]) }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A control character: C0, DEL or C1, what `escaped` rewrites.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || v == 0x7f || (v >= 0x80 && v <= 0x9f)
    }

    /// Bytes that may start something to escape (0xC2 leads every C1 control).
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7f || byte == 0xc2
    }
}
