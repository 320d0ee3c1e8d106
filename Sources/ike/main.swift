import IKEWire
import Platform

/// The `ike` command: `daemon`, `version`, and (as `tmd`) the daemon itself.
let usage = """
    usage: ike daemon [--foreground] [--config PATH] [--socket PATH]
           ike version
    """

func usageError(_ message: String) -> Never {
    Process.printError("ike: \(message)")
    Process.printError(usage)
    Process.exit(2)
}

func daemonMain(_ args: ArraySlice<String>) -> Never {
    var options = Daemon.Options()
    var rest = args
    while let arg = rest.popFirst() {
        switch arg {
        case "--foreground", "-f":
            options.foreground = true
        case "--config", "--socket":
            guard let value = rest.popFirst(), !value.isEmpty else { usageError("\(arg) needs a path") }
            if arg == "--config" { options.configPath = value } else { options.socketPath = value }
        default:
            usageError("unknown daemon option '\(arg)'")
        }
    }
    var sinks: [any LogSink] = []
    if let syslog = SyslogSink(facility: "daemon") { sinks.append(syslog) }
    if options.foreground { sinks.append(StderrSink()) }
    let log = Logger(level: .event, sinks: sinks)
    do throws(SystemError) {
        let daemon = try Daemon(options: options, log: log)
        guard daemon.loadConfiguration() else { Process.exit(1) }
        if !options.foreground { try Process.daemonize() }
        try daemon.open()
        try daemon.run()
        Process.exit(0)
    } catch {
        log.error(.tmd, "ike cannot start: \(error)")
        Process.exit(1)
    }
}

let arguments = Process.arguments
let invokedAs = arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "ike"
if invokedAs == "tmd" {
    daemonMain(arguments.dropFirst())
}
guard arguments.count >= 2 else { usageError("no command given") }
switch arguments[1] {
case "daemon":
    daemonMain(arguments.dropFirst(2))
case "version", "--version":
    guard arguments.count == 2 else { usageError("'version' takes no arguments") }
    Process.printOut(Version.text)
case "help", "--help", "-h":
    Process.printOut(usage)
default:
    usageError("unknown command '\(arguments[1])'")
}
