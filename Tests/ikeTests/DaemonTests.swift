import Foundation
import Testing

/// `ike daemon --foreground` started for real. Each daemon runs in a network namespace
/// of its own (`unshare -n`) so it can bind UDP 500 and 4500 without touching the host;
/// that needs root, which CI has.
final class RunningDaemon {
    let process = Process()
    let directory: URL
    let socketPath: String
    private let stderrPipe = Pipe()
    private var collected = Data()

    init(config: String?) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ike-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configPath = directory.appendingPathComponent("ike.conf").path
        if let config { try config.write(toFile: configPath, atomically: true, encoding: .utf8) }
        socketPath = directory.appendingPathComponent("ike.sock").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-n", Ike.path, "daemon", "--foreground", "--config", configPath, "--socket", socketPath]
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Waits until stderr contains `text` (or the process exits, or 10 s pass).
    func waitFor(_ text: String) -> Bool {
        let handle = stderrPipe.fileHandleForReading
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if stderr.contains(text) { return true }
            let chunk = handle.availableData
            if chunk.isEmpty { return stderr.contains(text) }
            collected.append(chunk)
        }
        return false
    }

    var stderr: String { String(decoding: collected, as: UTF8.self) }

    func signal(_ number: Int32) -> Int32 {
        kill(process.processIdentifier, number)
        process.waitUntilExit()
        _ = waitFor("\u{0}")  // drain what is left
        return process.terminationStatus
    }
}

@Suite(.serialized, .enabled(if: getuid() == 0, "binds UDP 500 in a private network namespace"))
struct DaemonTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func startsServesAndStopsCleanly(signal: Int32) throws {
        let daemon = try RunningDaemon(config: "config ike 'global'\n")
        #expect(daemon.waitFor("event tmd: ike 0."))
        #expect(daemon.stderr.contains(" started (pid "))
        #expect(daemon.stderr.contains("event tmd: configuration "))

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

    @Test func aMissingConfigurationMeansNoTunnelsNotAFailure() throws {
        let daemon = try RunningDaemon(config: nil)
        #expect(daemon.waitFor("started"))
        #expect(daemon.stderr.contains("no configuration at "))
        #expect(daemon.signal(SIGTERM) == 0)
    }

    @Test func anUnreadableConfigurationStopsTheStart() throws {
        let daemon = try RunningDaemon(config: nil)
        // The daemon was told to read its config from a path that is a directory.
        daemon.process.terminate()
        daemon.process.waitUntilExit()
        let result = try Ike.run(["-n", Ike.path, "daemon", "--foreground", "--config", daemon.directory.path,
                                  "--socket", daemon.socketPath], executable: "/usr/bin/unshare")
        #expect(result.status == 1)
        #expect(result.stderr.contains("error tmd: cannot read configuration \(daemon.directory.path): read: Is a directory"))
    }

    @Test func sighupRereadsTheConfiguration() throws {
        let daemon = try RunningDaemon(config: "config ike 'global'\n")
        #expect(daemon.waitFor("started"))
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(daemon.waitFor("event tmd: SIGHUP received, reloading configuration"))
        #expect(daemon.signal(SIGTERM) == 0)
        #expect(daemon.stderr.components(separatedBy: "event tmd: configuration ").count == 3)
    }
}
