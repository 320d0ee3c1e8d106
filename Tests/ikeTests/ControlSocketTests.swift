import Foundation
import Testing

/// Raw clients on the control socket: what a broken or hostile client gets, and that
/// the daemon carries on serving.
@Suite(.serialized, .enabled(if: isRoot, "starts the daemon in a private network namespace"))
struct ControlSocketTests {
    /// Connects, sends `bytes`, half-closes, and returns everything the daemon answers.
    func exchange(_ path: String, _ bytes: [UInt8]) throws -> [UInt8] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { p in
            for (i, b) in path.utf8.enumerated() { p[i] = b }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(connected == 0)
        var tv = timeval(tv_sec: 8, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        shutdown(fd, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        return answer
    }

    /// The status byte and the standard-error text of a response frame.
    func decode(_ frame: [UInt8]) -> (status: UInt8, error: String)? {
        guard frame.count >= 13, frame[0] == 0x49, frame[1] == 0x4b, frame[3] == 2 else { return nil }
        let body = Array(frame[8...])
        var n = 0
        for i in 1..<5 { n = n << 8 | Int(body[i]) }
        return (body[0], String(decoding: body[(5 + n)...], as: UTF8.self))
    }

    func frame(version: UInt8 = 1, kind: UInt8 = 1, length: UInt32? = nil, _ body: String) -> [UInt8] {
        let b = Array(body.utf8)
        let n = length ?? UInt32(b.count)
        return [0x49, 0x4b, version, kind, UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16),
                UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + b
    }

    @Test func malformedOversizedAndUnknownRequestsGetAnErrorAnswer() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        let cases: [([UInt8], String)] = [
            (Array("GET / HTTP/1.0\r\n\r\n".utf8), "ike: malformed control request: not an ike control message"),
            (frame(version: 9, "cmd=status"), "ike: malformed control request: control protocol version 9 is not supported; this daemon speaks version 1"),
            (frame(kind: 2, "cmd=status"), "ike: malformed control request: expected a request"),
            (frame(length: 1 << 20, "cmd=status"), "ike: malformed control request: message of 1048576 bytes exceeds the limit of 16384"),
            (frame("cmd=frobnicate"), "ike: unknown subcommand 'frobnicate': expected activate, remove, rekey, list, log, reload or status"),
            (frame("cmd=list\nphase=7"), "ike: phase=7: expected 1, 1+ or 2"),
            (frame("cmd=status") + [1, 2, 3], "ike: malformed control request: bytes after the request"),
        ]
        for (request, message) in cases {
            let answer = try #require(decode(try exchange(daemon.socketPath, request)), "an answer to \(message)")
            #expect(answer.status == 2)
            #expect(answer.error == message)
        }
        // A truncated request: the client gives up, the daemon is not stuck on it.
        #expect(try exchange(daemon.socketPath, Array(frame("cmd=status").prefix(5))).isEmpty)
        let status = try daemon.ike("cmd=status")
        #expect(status.status == 0)
        #expect(status.stdout.contains("control requests:               1 served, 7 malformed, 0 answers not read in time\n"))
        #expect(daemon.signal(SIGTERM) == 0)
    }

    /// A connected raw client on `path`.
    func connectRaw(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { p in
            for (i, b) in path.utf8.enumerated() { p[i] = b }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return fd
    }

    /// Listings of thousands of tunnels are megabytes; once answered, their memory goes
    /// back to the system: the daemon's anonymous RSS after them is what it was before.
    @Test func largeListingsGiveTheirMemoryBack() throws {
        var config = "config ike 'global'\n\toption log_level 'event'\n\n"
        for i in 0..<5000 {
            config += "config tunnel 't\(i)'\n\toption remote_address '192.0.2.9'\n\toption psk 'a long enough key'\n"
            config += "\tlist local_subnet '10.\(1 + i / 256).\(i % 256).0/24'\n\tlist remote_subnet '10.200.0.0/24'\n\n"
        }
        let daemon = try RunningDaemon(config: config)
        func anonymousKiB() throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") })
            return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        }
        _ = try daemon.ike("cmd=status")
        usleep(100_000)
        let before = try anonymousKiB()
        for _ in 0..<3 {
            let listing = try daemon.ike("cmd=list", "configured", "format=json")
            #expect(listing.status == 0 && listing.stdout.utf8.count > 1 << 19, "\(listing.stdout.utf8.count) bytes")
        }
        usleep(100_000)
        let after = try anonymousKiB()
        #expect(after <= before + 256, "RssAnon \(before) KiB before three listings, \(after) KiB after")
    }

    @Test func anIdleClientDoesNotBlockOthers() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        let idle = connectRaw(daemon.socketPath)
        defer { close(idle) }
        let list = try daemon.ike("cmd=list")
        #expect(list.status == 0)
    }

    /// Sixteen connections that never send a request do not lock the operator out: the
    /// oldest makes room for the CLI, which gets its answer at once.
    @Test func idleConnectionsMakeRoomForTheCLI() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        var idle: [Int32] = []
        for _ in 0..<16 { idle.append(connectRaw(daemon.socketPath)) }
        defer { for fd in idle { close(fd) } }
        Thread.sleep(forTimeInterval: 0.2)
        let started = Date()
        let list = try daemon.ike("cmd=list")
        #expect(list.status == 0, "\(list.stderr)")
        #expect(Date().timeIntervalSince(started) < 1)
        // The oldest idle connection was closed by the daemon.
        var byte: UInt8 = 0
        #expect(read(idle[0], &byte, 1) == 0)
        #expect(daemon.signal(SIGTERM) == 0)
    }

    /// Sixteen clients that ask for a large `list verbose` (1500 tunnels trying to reach
    /// peers that are not there) and read nothing hold neither
    /// the loop nor the other clients: `cmd=status` answers at once, and the slow clients
    /// are dropped after the answer deadline.
    @Test func clientsThatDoNotReadDoNotStallTheDaemon() throws {
        var config = "config ike\n\toption kernel 'none'\n\toption log_level 'none'\n"
        for i in 0..<1500 {
            config += "\nconfig tunnel 'branch_\(i)'\n\toption remote_address '10.\(100 + i / 250).\(i % 250 + 1).1'\n\toption psk 'secret'\n\toption start 'auto'\n"
            config += "\tlist local_subnet '10.1.0.0/24'\n\tlist remote_subnet '172.\(16 + i / 250).\(i % 250).0/24'\n"
        }
        let daemon = try RunningDaemon(config: config)
        var slow: [Int32] = []
        for _ in 0..<16 {
            let fd = connectRaw(daemon.socketPath)
            let bytes = frame("cmd=list\nverbose")
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            slow.append(fd)
        }
        defer { for fd in slow { close(fd) } }
        // Time to build the sixteen answers (0.2 s each in a debug build); a daemon that
        // blocked on its writes (2 s each, before) would still be stuck.
        Thread.sleep(forTimeInterval: 5)
        let started = Date()
        let status = try daemon.ike("cmd=status")
        #expect(status.status == 0, "\(status.stderr)")
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(daemon.process.isRunning)
        var last = ""
        #expect(try eventually(15) {
            last = try daemon.ike("cmd=status").stdout
            return last.contains(" 0 malformed, 16 answers not read in time\n")
        }, "\(last)")
        #expect(daemon.signal(SIGTERM) == 0)
    }

    /// An administrator's Ctrl-C on `ike cmd=activate wait=`: the client is gone when the
    /// answer is written. The daemon (and every tunnel) must live on: no SIGPIPE death.
    @Test func aClientThatClosesBeforeItsAnswerLeavesTheDaemonRunning() throws {
        let daemon = try RunningDaemon(config: twoTunnels)
        for request in ["cmd=activate\nnamelist=site_b\nwait=1", "cmd=list\nverbose", "cmd=status"] {
            let fd = connectRaw(daemon.socketPath)
            let bytes = frame(request)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        Thread.sleep(forTimeInterval: 2)
        #expect(daemon.process.isRunning)
        let status = try daemon.ike("cmd=status")
        #expect(status.status == 0)
        #expect(status.stdout.contains("tmd "))
        #expect(daemon.signal(SIGTERM) == 0)
        #expect(daemon.stderr.contains("event tmd: ike stopped"))
    }
}
