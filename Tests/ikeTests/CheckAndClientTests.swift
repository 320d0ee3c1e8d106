import Foundation
import Testing

/// `ike check` and the client's own errors: no daemon is needed for these.
@Suite struct CheckAndClientTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ike-check-\(UUID().uuidString).conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func checkPrintsTheNormalizedConfigurationWithoutSecrets() throws {
        let path = try write(twoTunnels)
        defer { unlink(path) }
        let result = try Ike.run(["check", "--config", path])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("config ike 'global'\n\toption log_level 'event'\n"))
        #expect(result.stdout.contains("config tunnel 'site_b'\n\toption enabled '1'\n\toption version '2'\n"))
        #expect(result.stdout.contains("\toption psk '<redacted>'\n"))
        #expect(!result.stdout.contains("correct horse"))
        #expect(result.stdout.contains("\tlist ike_proposal 'aes256gcm16-prfsha256-x25519-ecp256'\n"))
        // What check prints loads again, to the same text.
        let again = try write(result.stdout)
        defer { unlink(again) }
        #expect(try Ike.run(["check", "--config", again]).stdout == result.stdout)
    }

    @Test func checkReportsAllFiveMistakesWithFileAndLine() throws {
        let path = try write("""
            config ike 'global'
            \toption log_level 'chatty'
            config tunnel 'a'
            \toption remote_address '10.0.0.300'
            \toption psk 'k'
            \tlist ike_proposal 'aes256-sha256-dh99'
            \toption dpd_action 'explode'
            config tunnnel 'b'
            """)
        defer { unlink(path) }
        let result = try Ike.run(["check", "--config", path])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 5)
        #expect(lines.map { $0.split(separator: ":").prefix(2).joined(separator: ":") }
                == ["\(path):2", "\(path):4", "\(path):6", "\(path):7", "\(path):8"])
        #expect(lines[4] == "\(path):8: unknown section type 'tunnnel': expected 'ike' or 'tunnel'")
    }

    /// A hub's configuration of 10,000 tunnels (2.5 MiB) loads; past 16 MiB the file is
    /// refused saying why.
    @Test func largeConfigurationsLoadAndTooLargeOnesAreRefusedSayingWhy() throws {
        var text = "config ike 'global'\n\toption kernel 'none'\n\n"
        for i in 0..<10_000 {
            text += "config tunnel 't\(i)'\n\toption remote_address '192.0.2.1'\n\toption psk 'a long enough key'\n"
            text += "\tlist local_subnet '10.\(1 + i / 256).\(i % 256).0/24'\n\tlist remote_subnet '10.200.0.0/24'\n\n"
        }
        let path = try write(text)
        defer { unlink(path) }
        let loaded = try Ike.run(["check", "--config", path])
        #expect(loaded.status == 0, "\(loaded.stderr)")
        let huge = try write(String(repeating: "# padding\n", count: 1_700_000))
        defer { unlink(huge) }
        let refused = try Ike.run(["check", "--config", huge])
        #expect(refused.status == 1)
        #expect(refused.stderr == "\(huge): cannot read: larger than 16 MiB\n")
    }

    @Test func checkOfAMissingFileSaysSo() throws {
        let result = try Ike.run(["check", "--config", "/nonexistent/ike.conf"])
        #expect(result.status == 1)
        #expect(result.stderr == "/nonexistent/ike.conf: cannot read: No such file or directory\n")
    }

    @Test(arguments: [["cmd=list", "phase=3"], ["cmd=activate", "numlist=x"], ["cmd=remove"], ["cmd=log", "level=loud"],
                      ["cmd=status", "extra"], ["cmd=frobnicate"], ["cmd=list", "socket=relative.sock"]])
    func badParametersExit2WithUsage(arguments: [String]) throws {
        let result = try Ike.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("ike: "))
        #expect(result.stderr.contains("usage: ike cmd=activate"))
    }

    @Test func noDaemonExits3AndSaysWhatToDo() throws {
        let result = try Ike.run(["cmd=list", "socket=/nonexistent/ike.sock"])
        #expect(result.status == 3)
        #expect(result.stderr == "ike: no ike daemon answers on /nonexistent/ike.sock (connect: No such file or directory); start it with 'ike daemon', or give socket=PATH\n")
    }

    @Test func ikeSocketFromTheEnvironment() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Ike.path)
        process.arguments = ["cmd=status"]
        process.environment = ["IKE_SOCKET": "/nonexistent/env.sock"]
        let err = Pipe()
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 3)
        #expect(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("/nonexistent/env.sock"))
    }
}
