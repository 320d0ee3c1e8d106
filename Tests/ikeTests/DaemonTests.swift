import Foundation
import Testing

/// `ike daemon --foreground` started for real, driven with the real `ike cmd=` client.
/// Each daemon runs in a network namespace of its own (`unshare -n`) so it can bind UDP
/// 500 and 4500 without touching the host; that needs root, which CI has.
final class RunningDaemon {
    let process = Process()
    let directory: URL
    let configPath: String
    let socketPath: String
    private let stderrPipe = Pipe()
    private var collected = Data()

    init(config: String?, waitForStart: Bool = true, netns: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ike-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        configPath = directory.appendingPathComponent("ike.conf").path
        if let config { try config.write(toFile: configPath, atomically: true, encoding: .utf8) }
        socketPath = directory.appendingPathComponent("ike.sock").path
        let daemonArguments = [Ike.path, "daemon", "--foreground", "--config", configPath, "--socket", socketPath]
        if let netns {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", netns] + daemonArguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            process.arguments = ["-n"] + daemonArguments
        }
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        if waitForStart { _ = waitFor(" started (pid ") }
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Waits until stderr contains `text` (or the process exits, or `seconds` pass).
    func waitFor(_ text: String, seconds: Double = 10) -> Bool {
        let fd = stderrPipe.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            if stderr.contains(text) { return true }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 100)
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return stderr.contains(text) }
            collected.append(contentsOf: buffer[0..<n])
        }
        return stderr.contains(text)
    }

    var stderr: String { String(decoding: collected, as: UTF8.self) }

    /// The reader of the daemon's standard error goes away (a closed terminal or pipe).
    func closeStderr() { try? stderrPipe.fileHandleForReading.close() }

    /// `ike cmd=...` against this daemon.
    func ike(_ words: String...) throws -> Ike.Result {
        try Ike.run(words + ["socket=\(socketPath)"])
    }

    func rewrite(_ config: String) throws { try config.write(toFile: configPath, atomically: true, encoding: .utf8) }

    func signal(_ number: Int32) -> Int32 {
        kill(process.processIdentifier, number)
        process.waitUntilExit()
        _ = waitFor("\u{0}", seconds: 2)  // read what is left
        return process.terminationStatus
    }
}

let twoTunnels = """
    config ike 'global'
    \toption log_level 'event'

    config tunnel 'site_b'
    \toption remote_address '198.51.100.7'
    \toption local_address '192.0.2.1'
    \toption psk 'correct horse battery staple'
    \tlist local_subnet '10.1.0.0/24'
    \tlist remote_subnet '10.2.0.0/24'

    config tunnel 'dialin'
    \toption remote_address 'any'
    \toption psk 'shared'

    """

let isRoot = getuid() == 0

@Suite(.serialized, .enabled(if: isRoot, "binds UDP 500 in a private network namespace"))
struct DaemonTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func startsServesAndStopsCleanly(signal: Int32) throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        #expect(daemon.stderr.contains("event tmd: ike 0."))
        #expect(daemon.stderr.contains(" started (pid "))
        #expect(daemon.stderr.contains(", 2 tunnels in \(daemon.configPath))"))

        let attributes = try FileManager.default.attributesOfItem(atPath: daemon.socketPath)
        #expect(attributes[.type] as? FileAttributeType == .typeSocket)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.ownerAccountID] as? Int) == 0)

        #expect(daemon.signal(signal) == 0)
        let name = signal == SIGTERM ? "SIGTERM" : "SIGINT"
        #expect(daemon.stderr.contains("event tmd: \(name) received, stopping"))
        #expect(daemon.stderr.contains("event tmd: ike stopped"))
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
    }

    @Test func listAndStatusWithTwoConfiguredTunnels() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        let list = try daemon.ike("cmd=list")
        #expect(list.status == 0)
        #expect(list.stdout == "Phase  Tun Id  Status      Local Id                        Remote Id\n")
        let status = try daemon.ike("cmd=status")
        #expect(status.status == 0)
        let lines = status.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0] == "Subsystem         Group            PID          Status")
        let pid = lines[1].split(separator: " ")[2]
        for (i, name) in ["tmd", "iked", "isakmpd", "ikev2d", "cpsd"].enumerated() {
            let fields = lines[i + 1].split(separator: " ").map(String.init)
            #expect(fields.count == 4 && fields[0] == name && fields[1] == "ike" && fields[3] == "active")
            if name == "cpsd" {
                // The certificate proxy is a process of its own, a child of the daemon.
                #expect(fields[2] != pid)
                let parent = try String(contentsOfFile: "/proc/\(fields[2])/stat", encoding: .utf8).split(separator: " ")[3]
                #expect(String(parent) == pid)
            } else {
                #expect(fields[2] == pid)
            }
        }
        #expect(status.stdout.contains("tunnels:                        0 (active 0, negotiating 0, failed 0)"))
        for counter in ["  COOKIEs sent / bad cookies:", "  half-open expired:", "  rekeys failed (retried):"] {
            #expect(status.stdout.contains(counter), "\(status.stdout)")
        }
        #expect(daemon.signal(SIGTERM) == 0)
    }

    @Test func statusLogAndConfiguredTunnelsAsJSON() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        let status = try daemon.ike("cmd=status", "format=json")
        #expect(status.status == 0, "\(status.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stdout)")
        let subsystems = try #require(object["subsystems"] as? [[String: Any]])
        #expect(subsystems.map { $0["name"] as? String } == ["tmd", "iked", "isakmpd", "ikev2d", "cpsd"])
        #expect(subsystems.first?["pid"] as? Int == Int(daemon.process.processIdentifier))
        #expect(subsystems.last?["status"] as? String == "active")
        #expect(subsystems.last?["pid"] as? Int != Int(daemon.process.processIdentifier))
        let tmd = try #require(object["tmd"] as? [String: Any])
        #expect(tmd["tunnels"] as? Int == 0 && tmd["configuration"] as? String == daemon.configPath)
        #expect((object["ikev2d"] as? [String: Any])?["cookies_sent"] as? Int == 0)
        #expect((object["isakmpd"] as? [String: Any])?["half_open_max"] as? Int == 1024)
        #expect((object["control"] as? [String: Any])?["served"] is Int)

        let level = try daemon.ike("cmd=log", "format=json")
        #expect(level.stdout == "{\"level\": \"event\"}\n")
        let set = try daemon.ike("cmd=log", "level=debug", "format=json")
        #expect(set.stdout == "{\"level\": \"debug\", \"previous\": \"event\"}\n")

        _ = try daemon.ike("cmd=activate", "namelist=site_b")
        let configured = try daemon.ike("cmd=list", "configured")
        #expect(configured.stdout == """
            Name                Version  Start   Remote Address            Tun Id  Status
            site_b              2        manual  198.51.100.7              1       Negotiating
            dialin              2        manual  any                       -       Inactive

            """)
        let conns = try #require(try JSONSerialization.jsonObject(with: Data(try daemon.ike("cmd=list", "configured", "format=json").stdout.utf8)) as? [[String: Any]])
        #expect(conns.map { $0["status"] as? String } == ["Negotiating", "Inactive"])
        #expect(daemon.signal(SIGTERM) == 0)
    }

    @Test func activateNumbersTunnelsAndListShowsThem() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        // The daemon's namespace has no route to the peer: the tunnel stays Negotiating.
        let waited = try daemon.ike("cmd=activate", "namelist=site_b", "wait=1")
        #expect(waited.status == 1)
        #expect(waited.stdout == "1 site_b\n")
        #expect(waited.stderr.contains("ike: tunnel 1 'site_b' is not active after 1 s (phase 1 Negotiating, phase 2 Negotiating); see ike cmd=list verbose"))
        let again = try daemon.ike("cmd=activate", "namelist=site_b")
        #expect(again.status == 1)
        #expect(again.stderr == "ike: tunnel 'site_b' is already up as tunnel 1; remove it first to restart it\n")
        let list = try daemon.ike("cmd=list")
        #expect(list.stdout.split(separator: "\n").dropFirst().map(String.init) == [
            "1      1       Negotiating 192.0.2.1                       198.51.100.7",
            "2      1       Negotiating 10.1.0.0-10.1.0.255             10.2.0.0-10.2.0.255",
        ])
        let json = try daemon.ike("cmd=list", "format=json", "phase=1")
        let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.count == 1 && rows?.first?["name"] as? String == "site_b" && rows?.first?["tunnel"] as? Int == 1)
        let responder = try daemon.ike("cmd=activate", "namelist=dialin")
        #expect(responder.status == 1)
        #expect(responder.stderr == "ike: tunnel 'dialin' only responds (remote_address 'any'); start it from the peer\n")
        let unknown = try daemon.ike("cmd=remove", "numlist=9")
        #expect(unknown.status == 1 && unknown.stderr == "ike: no tunnel number 9; see ike cmd=list\n")
        let removed = try daemon.ike("cmd=remove", "all")
        #expect(removed.status == 0 && removed.stdout == "1 removed\n")
        #expect(try daemon.ike("cmd=list").stdout.split(separator: "\n").count == 1)
        #expect(daemon.waitFor("event tmd: tunnel 1 'site_b': removed"))
        #expect(daemon.stderr.contains("event tmd: tunnel 1 'site_b': phase 1 connection request to ikev2d for 198.51.100.7"))
        #expect(!daemon.stderr.contains("correct horse"))
    }

    @Test func aBrokenReloadIsRefusedAndTheOldConfigurationKeepsServing() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        try daemon.rewrite(twoTunnels + """
            config tunnel 'site_c'
            \toption remote_address '203.0.113.9'
            \toption psk 'k'
            \toption lifetime 'forever'
            \tlist esp_proposal 'des-md5'
            """)
        let refused = try daemon.ike("cmd=reload")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(daemon.configPath):17: lifetime 'forever': expected seconds from 60 to 86400"))
        #expect(refused.stderr.contains("\(daemon.configPath):18: esp_proposal unknown algorithm 'des'"))
        #expect(refused.stderr.hasSuffix("ike: reload refused; the daemon keeps its running configuration\n"))
        let notThere = try daemon.ike("cmd=activate", "namelist=site_c")
        #expect(notThere.status == 1)
        #expect(notThere.stderr == "ike: no tunnel named 'site_c' in the configuration; see ike check\n")
        #expect(try daemon.ike("cmd=status").status == 0)

        try daemon.rewrite(twoTunnels + "config tunnel 'site_c'\n\toption remote_address '203.0.113.9'\n\toption psk 'k'\n")
        let accepted = try daemon.ike("cmd=reload")
        #expect(accepted.status == 0)
        #expect(accepted.stdout == "reloaded \(daemon.configPath): 2 unchanged, 0 changed, 1 added, 0 removed\n")
        #expect(try daemon.ike("cmd=activate", "namelist=site_c").stdout == "1 site_c\n")
    }

    @Test func sighupReloadsLikeCmdReload() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        try daemon.rewrite(twoTunnels.replacingOccurrences(of: "option psk 'shared'", with: "option psk 'changed'"))
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(daemon.waitFor("event tmd: reloaded \(daemon.configPath): 1 unchanged, 1 changed, 0 added, 0 removed"))
        #expect(daemon.signal(SIGTERM) == 0)
    }

    @Test func theLogLevelChangesAtRunTime() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        #expect(try daemon.ike("cmd=log").stdout == "log level: event\n")
        #expect(try daemon.ike("cmd=log", "level=debug").stdout == "log level: debug (was event)\n")
        #expect(try daemon.ike("cmd=log").stdout == "log level: debug\n")
        #expect(daemon.waitFor("event tmd: log level set to debug (was event)"))
    }

    @Test func autoTunnelsStartWithTheDaemon() throws {
        let daemon = try RunningDaemon(config: twoTunnels.replacingOccurrences(
            of: "\tlist remote_subnet '10.2.0.0/24'\n", with: "\tlist remote_subnet '10.2.0.0/24'\n\toption start 'auto'\n"))
        #expect(daemon.waitFor("event tmd: tunnel 1 'site_b': activation requested"))
        let list = try daemon.ike("cmd=list", "phase=1")
        #expect(list.stdout.split(separator: "\n").dropFirst().first?.hasPrefix("1      1       ") == true)
    }

    /// After a `kill -9`, what the daemon had installed is still in the kernel: the next
    /// start removes it, and nothing that belongs to someone else.
    @Test func theNextStartRemovesTheLeftoversOfAKilledRun() throws {
        let ns = "ike-test-\(getpid())"
        func ip(_ words: [String]) throws -> Ike.Result { try Ike.run(["-n", ns] + words, executable: "/usr/sbin/ip") }
        _ = try Ike.run(["netns", "add", ns], executable: "/usr/sbin/ip")
        defer { _ = try? Ike.run(["netns", "del", ns], executable: "/usr/sbin/ip") }
        let leftover = ["xfrm", "policy", "add", "src", "10.1.0.0/24", "dst", "10.2.0.0/24", "dir", "out",
                        "tmpl", "src", "192.0.2.1", "dst", "198.51.100.7", "proto", "esp", "mode", "tunnel"]
        #expect(try ip(leftover + ["reqid", "0x494b0005"]).status == 0)
        #expect(try ip(["xfrm", "policy", "add", "src", "10.1.0.0/24", "dst", "10.3.0.0/24", "dir", "out",
                        "tmpl", "src", "192.0.2.1", "dst", "198.51.100.9", "proto", "esp", "mode", "tunnel", "reqid", "7"]).status == 0)
        let daemon = try RunningDaemon(config: "config ike\n\toption kernel 'xfrm'\n", netns: ns)
        #expect(daemon.waitFor("event tmd: removed 0 kernel SAs and 1 policies left by an earlier run"))
        let policies = try ip(["xfrm", "policy", "show"]).stdout
        #expect(!policies.contains("10.2.0.0/24"))
        #expect(policies.contains("10.3.0.0/24"))
        #expect(daemon.signal(SIGTERM) == 0)
        #expect(try ip(["xfrm", "policy", "show"]).stdout.contains("10.3.0.0/24"))
    }

    /// A `start 'trap'` tunnel: the daemon installs its trap policy, and the first packet
    /// that matches it makes the kernel send an acquire, which starts the tunnel.
    @Test func theFirstPacketStartsATrapTunnel() throws {
        let ns = "ike-trap-\(getpid())"
        func ip(_ words: [String]) throws -> Ike.Result { try Ike.run(["-n", ns] + words, executable: "/usr/sbin/ip") }
        let peer = ns + "-peer"
        _ = try Ike.run(["netns", "add", ns], executable: "/usr/sbin/ip")
        _ = try Ike.run(["netns", "add", peer], executable: "/usr/sbin/ip")
        defer {
            _ = try? Ike.run(["netns", "del", ns], executable: "/usr/sbin/ip")
            _ = try? Ike.run(["netns", "del", peer], executable: "/usr/sbin/ip")
        }
        // Loopback routes bypass XFRM: the packet must leave through a real (veth) device.
        _ = try Ike.run(["link", "add", "ike-trap0", "netns", ns, "type", "veth", "peer", "name", "ike-trap1", "netns", peer],
                        executable: "/usr/sbin/ip")
        _ = try ip(["link", "set", "lo", "up"])
        _ = try ip(["link", "set", "ike-trap0", "up"])
        _ = try ip(["addr", "add", "10.1.0.1/24", "dev", "ike-trap0"])
        _ = try ip(["route", "add", "10.2.0.0/24", "dev", "ike-trap0", "src", "10.1.0.1"])
        let daemon = try RunningDaemon(config: """
            config ike
            \toption kernel 'xfrm'
            config tunnel 'trapped'
            \toption remote_address '198.51.100.7'
            \toption local_address '192.0.2.1'
            \toption psk 'k'
            \tlist local_subnet '10.1.0.0/24'
            \tlist remote_subnet '10.2.0.0/24'
            \toption start 'trap'
            """, netns: ns)
        #expect(daemon.waitFor("event tmd: tunnel 'trapped': trap policy installed (10.1.0.0/24 -> 10.2.0.0/24)"))
        #expect(try ip(["xfrm", "policy", "show"]).stdout.contains("src 10.1.0.0/24 dst 10.2.0.0/24"))
        _ = try Ike.run(["netns", "exec", ns, "bash", "-c", "echo x > /dev/udp/10.2.0.5/9"], executable: "/usr/sbin/ip")
        #expect(daemon.waitFor("event tmd: tunnel 'trapped': traffic 10.1.0.0/24 -> 10.2.0.0/24 starts it (acquire)"))
        #expect(daemon.waitFor("event tmd: tunnel 1 'trapped': phase 1 connection request to ikev2d for 198.51.100.7"))
        #expect(daemon.signal(SIGTERM) == 0)
    }

    @Test func aMissingConfigurationMeansNoTunnelsNotAFailure() throws {
        let daemon = try RunningDaemon(config: nil)
        #expect(daemon.stderr.contains("event tmd: no configuration at \(daemon.configPath); running without tunnels"))
        #expect(daemon.stderr.contains(", 0 tunnels in "))
        #expect(daemon.signal(SIGTERM) == 0)
    }

    @Test func aBrokenConfigurationStopsTheStartWithEveryError() throws {
        let daemon = try RunningDaemon(config: "config tunnel 'x'\n\toption psk ''\n\toption mode 'beet'\n", waitForStart: false)
        daemon.process.waitUntilExit()
        _ = daemon.waitFor("\u{0}", seconds: 2)
        #expect(daemon.process.terminationStatus == 1)
        #expect(daemon.stderr == """
            \(daemon.configPath):1: tunnel 'x' has no remote_address: give the peer's address, or 'any' for a responder
            \(daemon.configPath):2: psk is empty: use a long random secret
            \(daemon.configPath):3: mode 'beet': expected 'tunnel' or 'transport'
            ike: the daemon does not start with a broken configuration; fix it (ike check shows the errors)

            """)
    }

    /// `auth 'pubkey'` once ran PSK authentication with an empty key: two such daemons
    /// reached Active. Until certificates exist, neither starts, and nothing comes up.
    /// A pubkey tunnel never comes up with some other credential in its place: files that
    /// are not there stop the start (cpsd reports them, at their lines), as does a missing
    /// option.
    @Test func authPubkeyWithMissingFilesIsRefused() throws {
        func site(_ local: String, _ remote: String, _ auto: Bool, ca: Bool) -> String {
            """
            config tunnel 'peer'
            \toption local_address '\(local)'
            \toption remote_address '\(remote)'
            \toption auth 'pubkey'
            \toption certificate '/nonexistent/gw.pem'
            \toption private_key '/nonexistent/gw.key'
            \toption start '\(auto ? "auto" : "manual")'
            \(ca ? "\tlist ca_certificate '/nonexistent/ca.pem'" : "")

            """
        }
        let missingFiles = [":5: tunnel 'peer' certificate '/nonexistent/gw.pem': No such file or directory",
                            ":6: tunnel 'peer' private_key '/nonexistent/gw.key': No such file or directory",
                            ":8: tunnel 'peer' ca_certificate '/nonexistent/ca.pem': No such file or directory"]
        for (config, errors) in [(site("192.0.2.1", "192.0.2.2", true, ca: true), missingFiles),
                                 (site("192.0.2.2", "192.0.2.1", false, ca: false), [":4: tunnel 'peer' uses auth 'pubkey' but sets no ca_certificate"])] {
            let daemon = try RunningDaemon(config: config, waitForStart: false)
            daemon.process.waitUntilExit()
            _ = daemon.waitFor("\u{0}", seconds: 2)
            #expect(daemon.process.terminationStatus == 1)
            for e in errors { #expect(daemon.stderr.contains(daemon.configPath + e), "\(daemon.stderr)") }
            #expect(!daemon.stderr.contains(" started (pid "))
            let check = try Ike.run(["check", "--config", daemon.configPath])
            #expect(check.status == 1)
            for e in errors { #expect(check.stderr.contains(daemon.configPath + e), "\(check.stderr)") }
        }
    }

    @Test func anUnreadableConfigurationStopsTheStart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ike-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Ike.run(["-n", Ike.path, "daemon", "--foreground", "--config", directory.path,
                                  "--socket", directory.appendingPathComponent("s").path], executable: "/usr/bin/unshare")
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("\(directory.path): cannot read: Is a directory\n"))
    }
}
