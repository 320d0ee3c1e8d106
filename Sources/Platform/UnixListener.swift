import CLibc

/// A Unix stream socket listener, created with mode 0600 by default (the control socket
/// must be reachable by root only). A stale socket file at the path is replaced.
public final class UnixListener {
    public let fd: Int32
    public let path: String

    public init(path: String, mode: UInt32 = 0o600) throws(SystemError) {
        let fd = path.withCString { ike_unix_listen($0, mode) }
        guard fd >= 0 else { throw SystemError("bind", result: Int(fd)) }
        self.fd = fd
        self.path = path
    }

    deinit {
        closeDescriptor(fd)
        _ = path.withCString { unlink($0) }
    }

    /// Accepts one pending connection as a non-blocking descriptor; nil when none is waiting.
    public func accept() throws(SystemError) -> Int32? {
        let c = ike_accept(fd)
        if c >= 0 { return c }
        if -c == EAGAIN { return nil }
        throw SystemError("accept", result: Int(c))
    }

    /// Closes an accepted or connected descriptor.
    public static func closeConnection(_ fd: Int32) { closeDescriptor(fd) }

    /// A blocking client connection to the listener at `path` (the `ike cmd=` side).
    public static func connect(path: String) throws(SystemError) -> Int32 {
        let fd = path.withCString { ike_unix_connect($0) }
        guard fd >= 0 else { throw SystemError("connect", result: Int(fd)) }
        return fd
    }
}
