import Control
import IKEWire
import Import
import Platform
import UCI

/// The `ike` command: `daemon` (also as `tmd`), `check`, `import`, `cmd=...`, `selftest` and `version`.
let usage = """
    usage: ike daemon [--foreground] [--config PATH] [--socket PATH] [--pidfile PATH]
           ike check [--config PATH]
           ike import FILE [SECRETS]   (swanctl.conf, ipsec.conf [ipsec.secrets] or OpenWrt's /etc/config/ipsec)
           ike cmd=SUBCOMMAND [param=value ...]   (ike help lists the subcommands)
           ike selftest   (known-answer tests of every algorithm, 64-bit time and counters)
           ike version   (also -v, --version)
    """

func usageError(_ message: String) -> Never {
    Process.printError("ike: \(message)")
    Process.printError(usage)
    Process.exit(2)
}

/// `--config PATH` and `--socket PATH` options; anything else is a usage error.
func parseOptions(_ args: ArraySlice<String>, allowed: [String]) -> [String: String] {
    var found: [String: String] = [:]
    var rest = args
    while let arg = rest.popFirst() {
        if arg == "--foreground" || arg == "-f", allowed.contains("--foreground") {
            found["--foreground"] = ""
            continue
        }
        guard allowed.contains(arg), arg != "--foreground" else { usageError("unknown option '\(arg)'") }
        guard let value = rest.popFirst(), !value.isEmpty, !value.hasPrefix("--") else { usageError("\(arg) needs a path") }
        guard found[arg] == nil else { usageError("\(arg) is given twice") }
        found[arg] = value
    }
    return found
}

func daemonMain(_ args: ArraySlice<String>) -> Never {
    Process.noteInheritedDescriptors()
    let found = parseOptions(args, allowed: ["--foreground", "--config", "--socket", "--pidfile"])
    var options = Daemon.Options()
    options.foreground = found["--foreground"] != nil
    options.configPath = found["--config"] ?? options.configPath
    options.socketPath = found["--socket"]
    options.pidPath = found["--pidfile"] ?? options.pidPath
    var configuration = Configuration()
    var missing = false
    switch Daemon.loadConfiguration(options.configPath) {
    case let .success(c): configuration = c
    case let .failure(problem):
        guard problem.missing else {
            Process.printError(problem.description)
            Process.printError("ike: the daemon does not start with a broken configuration; fix it (ike check shows the errors)")
            Process.exit(1)
        }
        missing = true
    }
    var sinks: [any LogSink] = []
    if let syslog = SyslogSink(facility: configuration.global.syslogFacility) { sinks.append(syslog) }
    if options.foreground { sinks.append(StderrSink()) }
    let log = Logger(level: configuration.global.logLevel, sinks: sinks)
    if missing { log.event(.tmd, "no configuration at \(options.configPath); running without tunnels") }
    let daemon: Daemon
    do throws(Daemon.StartError) { daemon = try Daemon(options: options, configuration: configuration, log: log) } catch {
        log.error(.tmd, "ike cannot start: \(error)")
        if !options.foreground { Process.daemonFailed("ike: cannot start: \(error)") }
        Process.exit(1)
    }
    do throws(SystemError) {
        if !options.foreground { try Process.daemonize() }
        try daemon.open()
        try daemon.run()
        Process.exit(0)
    } catch {
        let problem = daemon.startupProblem ?? "ike cannot start: \(error)"
        daemon.releasePidFile()
        log.error(.tmd, problem)
        if !options.foreground { Process.daemonFailed("ike: " + problem) }
        Process.exit(1)
    }
}

/// `ike check`: the normalized configuration (PSKs redacted), or every error and exit 1.
func checkMain(_ args: ArraySlice<String>) -> Never {
    let path = parseOptions(args, allowed: ["--config"])["--config"] ?? Configuration.defaultPath
    switch Daemon.loadConfiguration(path) {
    case let .success(configuration):
        let problems = Credentials.check(configuration, file: path)
        guard problems.isEmpty else {
            Process.printError(ConfigurationErrors(problems).description)
            Process.exit(1)
        }
        Process.printOut(configuration.print(redactingSecrets: true), newline: false)
        Process.exit(0)
    case let .failure(problem):
        Process.printError(problem.description)
        Process.exit(1)
    }
}

/// `ike import`: the equivalent `/etc/config/ike` on stdout, a `FILE:LINE: warning:` on
/// stderr for everything that is not carried over; exit 1 when nothing could be.
func importMain(_ args: ArraySlice<String>) -> Never {
    guard let file = args.first, !file.hasPrefix("-"), args.count <= 2 else { usageError("import takes FILE and, for ipsec.conf, an optional ipsec.secrets") }
    func readText(_ path: String) -> String {
        do throws(SystemError) {
            return String(decoding: try FileSystem.read(path), as: UTF8.self)
        } catch {
            Process.printError("ike: cannot read \(path): \(error.message)")
            Process.exit(1)
        }
    }
    let text = readText(file)
    guard let format = Importer.detect(text) else {
        Process.printError("ike: \(file): not a swanctl.conf, ipsec.conf or OpenWrt /etc/config/ipsec file")
        Process.exit(1)
    }
    var secrets: (text: String, file: String)? = nil
    if args.count == 2 {
        guard format == .ipsecConf else { usageError("a secrets file goes with ipsec.conf only (\(file) is \(format.rawValue))") }
        secrets = (readText(args[args.startIndex + 1]), args[args.startIndex + 1])
    } else if format == .ipsecConf {
        // strongSwan keeps ipsec.secrets beside ipsec.conf.
        let directory = file.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let sibling = (file.contains("/") ? directory + "/" : "") + "ipsec.secrets"
        if let bytes = try? FileSystem.read(sibling) { secrets = (String(decoding: bytes, as: UTF8.self), sibling) }
    }
    let report = Importer.run(text, file: file, format: format, secrets: secrets)
    for w in report.warnings { Process.printError(w.description) }
    let output = report.configuration(from: [file] + (secrets.map { [$0.file] } ?? []))
    for problem in report.check(output) { Process.printError(problem) }
    guard Importer.count(report) > 0 else {
        Process.printError("ike: \(file): no tunnel could be imported")
        Process.exit(1)
    }
    Process.printOut(output, newline: false)
    Process.exit(0)
}

Process.ignoreBrokenPipes()
let arguments = Process.arguments
let invokedAs = arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "ike"
if invokedAs == "tmd" {
    daemonMain(arguments.dropFirst())
}
guard arguments.count >= 2 else { usageError("no command given") }
let command = arguments[1]
if command.hasPrefix("cmd=") {
    ControlClient.main(Array(arguments.dropFirst()))
}
switch command {
case "daemon":
    daemonMain(arguments.dropFirst(2))
case "check":
    checkMain(arguments.dropFirst(2))
case "import":
    importMain(arguments.dropFirst(2))
case "selftest":
    selftestMain(arguments.dropFirst(2))
case "version", "--version", "-v":
    guard arguments.count == 2 else { usageError("'version' takes no arguments") }
    Process.printOut(Version.text)
case "help", "--help", "-h":
    Process.printOut(usage)
    Process.printOut(ControlRequest.usage)
default:
    usageError("unknown command '\(command)'")
}
