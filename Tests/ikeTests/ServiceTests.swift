import Foundation
import Testing

/// `ike daemon` without `--foreground`, as an init script runs it: its exit status says
/// whether the daemon serves, and one daemon owns its control socket.
@Suite(.serialized, .enabled(if: isRoot, "network namespaces"))
struct ServiceTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ike-service-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "config ike\n\toption kernel 'none'\n".write(to: directory.appendingPathComponent("ike.conf"), atomically: true, encoding: .utf8)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// `ike daemon` in namespace `ns`, detached; returns when the parent exits.
    func start(_ ns: String, socket: String, pidfile: String) throws -> Ike.Result {
        try Ike.run(["netns", "exec", ns, Ike.path, "daemon", "--config", path("ike.conf"), "--socket", socket, "--pidfile", pidfile],
                    executable: "/usr/sbin/ip")
    }

    func stop(pidfile: String) {
        guard let text = try? String(contentsOfFile: pidfile, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return }
        kill(pid, SIGTERM)
        _ = eventually(5) { kill(pid, 0) != 0 }
    }

    /// A foreground daemon whose standard error nobody reads any more (the terminal or
    /// the supervisor's pipe went away) keeps running: its log lines fail with EPIPE.
    @Test func aForegroundDaemonOutlivesItsStderrReader() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        daemon.closeStderr()
        for _ in 0..<3 { _ = try daemon.ike("cmd=log", "level=debug") }
        _ = try daemon.ike("cmd=activate", "namelist=site_b")
        Thread.sleep(forTimeInterval: 0.3)
        #expect(daemon.process.isRunning)
        #expect(try daemon.ike("cmd=status").status == 0)
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func theParentExitsWithTheChildsOutcome() throws {
        let ns = "ike-svc-\(getpid())"
        try TwoSites.ip(["netns", "add", ns])
        defer {
            _ = try? TwoSites.ip(["netns", "del", ns])
            try? FileManager.default.removeItem(at: directory)
        }
        // Ready: exit 0 only once the socket answers and the pid file is written.
        let started = try start(ns, socket: path("a.sock"), pidfile: path("a.pid"))
        #expect(started.status == 0, "\(started.stderr)")
        #expect(FileManager.default.fileExists(atPath: path("a.pid")))
        let status = try Ike.run(["cmd=status", "socket=\(path("a.sock"))"])
        #expect(status.status == 0)
        defer { stop(pidfile: path("a.pid")) }

        // The ports are taken by the first daemon: the second says so and exits 1.
        let taken = try start(ns, socket: path("b.sock"), pidfile: path("b.pid"))
        #expect(taken.status == 1)
        #expect(taken.stderr.hasPrefix("ike: cannot listen on UDP 0.0.0.0:500: Address already in use; is another IKE daemon running?"), "\(taken.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path("b.pid")))

        // A second daemon on the same control socket (elsewhere) is refused; the first
        // keeps its socket and answers.
        let other = "ike-svc2-\(getpid())"
        try TwoSites.ip(["netns", "add", other])
        defer { _ = try? TwoSites.ip(["netns", "del", other]) }
        let twice = try start(other, socket: path("a.sock"), pidfile: path("c.pid"))
        #expect(twice.status == 1)
        #expect(twice.stderr.hasPrefix("ike: another ike daemon answers on \(path("a.sock")); stop it first"), "\(twice.stderr)")
        #expect(try Ike.run(["cmd=status", "socket=\(path("a.sock"))"]).status == 0)

        // A second daemon elsewhere with the first one's pid file is refused by its
        // lock, names the holder's PID, and leaves the file alone.
        let pid = try String(contentsOfFile: path("a.pid"), encoding: .utf8)
        let locked = try start(other, socket: path("e.sock"), pidfile: path("a.pid"))
        #expect(locked.status == 1)
        #expect(locked.stderr == "ike: another ike daemon (pid \(pid.trimmingCharacters(in: .whitespacesAndNewlines))) holds the pid file \(path("a.pid")); stop it first, or give --pidfile\n", "\(locked.stderr)")
        #expect(try String(contentsOfFile: path("a.pid"), encoding: .utf8) == pid)
        #expect(!FileManager.default.fileExists(atPath: path("e.sock")))

        // A pid file left by a killed daemon holds no lock: it is taken over.
        try "999999\n".write(toFile: path("f.pid"), atomically: true, encoding: .utf8)
        let stale = try start(other, socket: path("f.sock"), pidfile: path("f.pid"))
        #expect(stale.status == 0, "\(stale.stderr)")
        #expect(try String(contentsOfFile: path("f.pid"), encoding: .utf8) != "999999\n")
        stop(pidfile: path("f.pid"))
        #expect(eventually(5) { !FileManager.default.fileExists(atPath: path("f.pid")) }, "the pid file goes with the daemon")

        // An unwritable pid file fails the start and names the file.
        let pidless = try start(other, socket: path("d.sock"), pidfile: "/nonexistent/dir/ike.pid")
        #expect(pidless.status == 1)
        #expect(pidless.stderr == "ike: cannot write the pid file /nonexistent/dir/ike.pid: No such file or directory\n", "\(pidless.stderr)")
    }
}
