import CLibc
import IKEWire
import Platform
import Testing

/// Collects lines in memory; the syslog test below checks the real sink.
final class MemorySink: LogSink {
    var lines: [String] = []
    func write(_ level: LogLevel, _ line: String) { lines.append("\(level) \(line)") }
}

@Suite struct LogTests {
    @Test func linesAboveTheLevelAreFilteredOut() {
        let sink = MemorySink()
        let log = Logger(level: .event, sinks: [sink])
        log.error(.tmd, "e")
        log.event(.ikev2d, "v")
        log.information(.iked, "i")
        log.debug(.cpsd, "d")
        #expect(sink.lines == ["error tmd: e", "event ikev2d: v"])
        log.level = .debug
        log.debug(.isakmpd, "now")
        #expect(sink.lines.last == "debug isakmpd: now")
    }

    /// A peer's text can neither end a log record nor drive the terminal showing it.
    @Test func peerTextStaysOnOneEscapedLine() {
        let sink = MemorySink()
        let log = Logger(level: .debug, sinks: [sink])
        let forged = "evil\nevent tmd: tunnel 1 phase 1 SA created\r\u{1b}[2J\u{7f}\u{9b}31m\\x0a"
        log.event(.ikev2d, "peer identifies as @\(forged)")
        #expect(sink.lines == ["event ikev2d: peer identifies as @evil\\x0aevent tmd: tunnel 1 phase 1 SA created\\x0d\\x1b[2J\\x7f\\xc2\\x9b31m\\x0a"])
        #expect(LogText.escaped("plain text, é ü") == "plain text, é ü")
        #expect(Identity.fqdn("a\nb").description == "@a\\x0ab")
    }

    /// A flood of records is cut at `log_rate` a second; the next second says how many
    /// went, and then records flow again.
    @Test func theRateLimitDropsAndSaysHowMany() {
        let sink = MemorySink()
        let log = Logger(level: .debug, sinks: [sink])
        var now = Instant(nanoseconds: 5_000_000_000)
        log.now = { now }
        log.maxPerSecond = 3
        for i in 0..<10 { log.information(.ikev2d, "flood \(i)") }
        #expect(sink.lines == ["information ikev2d: flood 0", "information ikev2d: flood 1", "information ikev2d: flood 2"])
        #expect(log.suppressed == 7)
        now = now + .seconds(1)
        log.event(.tmd, "after")
        #expect(sink.lines.suffix(2) == ["error tmd: 7 log records dropped (more than 3 a second, log_rate)", "event tmd: after"])
        log.maxPerSecond = 0
        for _ in 0..<10 { log.debug(.tmd, "x") }
        #expect(sink.lines.count == 15)
    }

    @Test func levelNoneWritesNothing() {
        let sink = MemorySink()
        let log = Logger(level: .none, sinks: [sink])
        for level in LogLevel.allCases { log.log(level, .tmd, "x") }
        #expect(sink.lines.isEmpty)
    }

    @Test func filteredMessagesAreNeverBuilt() {
        let log = Logger(level: .error, sinks: [MemorySink()])
        var built = 0
        func expensive() -> String { built += 1; return "x" }
        log.debug(.tmd, expensive())
        log.error(.tmd, expensive())
        #expect(built == 1)
    }

    @Test func levelNamesAndSyslogPriorities() {
        #expect(LogLevel.allCases.map(\.description) == ["none", "error", "event", "information", "debug"])
        #expect(LogLevel(name: "information") == .information)
        #expect(LogLevel(name: "info") == nil)
        #expect(LogLevel.error.syslogPriority == LOG_ERR)
        #expect(LogLevel.event.syslogPriority == LOG_NOTICE)
        #expect(LogLevel.information.syslogPriority == LOG_INFO)
        #expect(LogLevel.debug.syslogPriority == LOG_DEBUG)
        #expect(SyslogSink(facility: "nonsense") == nil)
    }

    /// A syslog daemon of our own on /dev/log (the machine has none in CI).
    private func bindDevLog() throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (i, b) in "/dev/log".utf8.enumerated() { path[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0)
        return fd
    }

    /// The next line this process sent to `fd`, nil when none is queued. `swift test` runs
    /// the daemon tests alongside, and their `ike daemon` processes log to /dev/log too:
    /// their lines are read and passed over, as a syslogd's other clients would be.
    private func receive(_ fd: Int32) -> String? {
        let ours = "ike[\(getpid())]: "
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard n > 0 else { return nil }
            let line = String(decoding: buffer[0..<n], as: UTF8.self)
            if line.contains(ours) { return line }
        }
    }

    /// The system log path: with no syslog daemon on the machine (CI), the test plays
    /// one by binding /dev/log, and reads what `ike` sends; then the syslog daemon
    /// restarts (a new socket at /dev/log) and the next line reaches the new one.
    @Test(.enabled(if: getuid() == 0 && access("/dev/log", F_OK) != 0, "needs root and a free /dev/log"))
    func syslogLinesCarryIdentFacilityPriorityAndComponent() throws {
        var fd = try bindDevLog()
        defer { close(fd); unlink("/dev/log") }
        let sink = try #require(SyslogSink(facility: "local3"))
        let log = Logger(level: .event, sinks: [sink])
        log.event(.tmd, "phase 1 started for tunnel 1")
        log.debug(.tmd, "not sent")
        let message = try #require(receive(fd))
        // <PRI> = facility local3 (19) * 8 + notice (5) = 157, then an RFC 3164 time.
        #expect(message.hasPrefix("<157>"))
        #expect(message.utf8.count > 21 && Array(message.utf8)[11] == UInt8(ascii: " "))
        #expect(message.contains("ike[\(getpid())]: tmd: phase 1 started for tunnel 1"))
        #expect(receive(fd) == nil)

        close(fd)
        unlink("/dev/log")
        fd = try bindDevLog()
        log.error(.iked, "after the restart")
        let again = try #require(receive(fd))
        #expect(again.hasPrefix("<155>"))
        #expect(again.hasSuffix("ike[\(getpid())]: iked: after the restart"))
    }
}
