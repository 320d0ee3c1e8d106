import Foundation
import Testing

/// The `ike` executable as a user runs it. IKE_BINARY selects the binary under test
/// (CI sets it to the Embedded dist/ike); by default the one `swift build` made.
enum Ike {
    static var path: String {
        if let path = ProcessInfo.processInfo.environment["IKE_BINARY"] { return path }
        let tests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var dir = tests
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("ike").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return ".build/debug/ike"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], executable: String = path) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}

@Suite struct IkeCommandTests {
    @Test func versionNamesTheBuildAndTheLinkedLibraries() throws {
        let result = try Ike.run(["version"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines.first?.hasPrefix("ike 0.") == true)
        #expect(lines.contains { $0 == "build: embedded" || $0 == "build: standard" })
        #expect(lines.contains { $0.hasPrefix("openssl: OpenSSL 3.") })
        #expect(lines.contains { $0.hasPrefix("libnl: libnl 3.") })
        #expect(result.stderr.isEmpty)
        for spelling in ["--version", "-v"] { #expect(try Ike.run([spelling]).stdout == result.stdout) }
    }

    /// Every algorithm of ike.conf(5) against its known answer, in the binary under test
    /// (the shipped one links a trimmed libcrypto of its own).
    @Test func selftestPassesEveryAlgorithm() throws {
        let result = try Ike.run(["selftest"])
        #expect(result.status == 0, "\(result.stdout)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        for name in ["aes128 ", "aes256 ", "aes128gcm16 ", "aes256gcm16 ", "chacha20poly1305 ", "sha1 ", "sha256 ", "sha384 ",
                     "sha512 ", "x25519 ", "x448 ", "ecp256 ", "ecp384 ", "ecp521 ", "modp2048 ", "modp3072 ", "modp4096 ",
                     "clock ", "counters ", "timer wheel "] {
            #expect(lines.contains { $0.hasPrefix("ok    " + name) }, "no passing line for \(name)")
        }
        #expect(lines.last == "\(lines.count - 1) passed, 0 failed")
    }

    @Test(arguments: [["bogus"], [], ["version", "extra"], ["selftest", "extra"], ["daemon", "--bogus"],
                      ["daemon", "--config"], ["daemon", "--socket", ""]])
    func usageErrorsExit2WithUsageOnStderr(arguments: [String]) throws {
        let result = try Ike.run(arguments)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("ike: "))
        #expect(result.stderr.contains("usage: ike daemon"))
    }

    @Test func helpGoesToStdout() throws {
        let result = try Ike.run(["help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("usage: ike daemon [--foreground] [--config PATH] [--socket PATH]"))
    }
}
