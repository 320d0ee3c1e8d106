import CLibc

/// A helper process on the other end of a socketpair of datagrams (SOCK_SEQPACKET): one
/// request, one answer, message boundaries kept. The certificate proxy (cpsd) runs so.
public final class ProxyChannel {
    public let fd: Int32
    /// The helper's PID in the parent; 0 in the helper itself.
    public let pid: Int32
    /// The largest message either side sends.
    public static let maxMessage = 1 << 20

    init(fd: Int32, pid: Int32) {
        self.fd = fd
        self.pid = pid
    }

    /// Forks the helper. In the parent it returns the channel to it; in the child, with
    /// only the channel, stdio and no new privileges left, `child` runs and the process
    /// exits with its status.
    public static func spawn(_ child: (ProxyChannel) -> Int32) throws(SystemError) -> ProxyChannel {
        var fd: Int32 = -1
        let pid = ike_spawn_proxy(&fd)
        if pid < 0 { throw SystemError("fork", errno: -pid) }
        if pid == 0 { _exit(child(ProxyChannel(fd: fd, pid: 0))) }
        return ProxyChannel(fd: fd, pid: pid)
    }

    public func send(_ message: [UInt8]) -> Bool {
        message.withUnsafeBytes { CLibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == $0.count }
    }

    /// The next message, waiting at most `timeoutMilliseconds` (-1: for ever); nil on a
    /// timeout, an error or when the other side is gone.
    public func receive(timeoutMilliseconds: Int32) -> [UInt8]? {
        guard ike_wait_readable(fd, timeoutMilliseconds) == 1 else { return nil }
        // The message's length first (a peek with MSG_TRUNC), then the message itself.
        let length = recv(fd, nil, 0, Int32(MSG_PEEK | MSG_TRUNC))
        guard length > 0, length <= ProxyChannel.maxMessage else {
            if length > 0 { _ = recv(fd, nil, 0, 0) }  // drop what cannot be ours
            return nil
        }
        var buffer = [UInt8](repeating: 0, count: length)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n == length else { return nil }
        return buffer
    }

    /// Ends the helper: closes the channel, sends SIGKILL if asked, and reaps it.
    public func close(kill force: Bool) {
        closeDescriptor(fd)
        guard pid > 0 else { return }
        if force { _ = CLibc.kill(pid, SIGKILL) }
        for _ in 0..<100 {
            if ike_reap(pid) != 0 { return }
            usleep(10_000)
        }
        _ = CLibc.kill(pid, SIGKILL)
        _ = ike_reap(pid)
    }

    /// Whether the helper has exited (and is reaped now).
    public var exited: Bool { pid > 0 && ike_reap(pid) != 0 }
}
