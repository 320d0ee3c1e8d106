import CLibc

/// One Unix stream connection (the control socket, either end). Owns its descriptor.
public final class StreamConnection {
    public let fd: Int32

    /// Takes ownership of an accepted descriptor.
    public init(adopting fd: Int32) { self.fd = fd }

    deinit { closeDescriptor(fd) }

    /// A blocking connection to the listener at `path`, with send and receive timeouts.
    public static func connect(path: String, timeoutMilliseconds: UInt32) throws(SystemError) -> StreamConnection {
        let fd = try UnixListener.connect(path: path)
        let connection = StreamConnection(adopting: fd)
        try connection.setTimeouts(milliseconds: timeoutMilliseconds)
        return connection
    }

    public func setBlocking(_ blocking: Bool) throws(SystemError) {
        let r = ike_set_nonblocking(fd, blocking ? 0 : 1)
        guard r == 0 else { throw SystemError("fcntl", result: Int(r)) }
    }

    public func setTimeouts(milliseconds: UInt32) throws(SystemError) {
        let r = ike_set_timeouts(fd, milliseconds, milliseconds)
        guard r == 0 else { throw SystemError("setsockopt", result: Int(r)) }
    }

    public enum ReadResult: Equatable {
        case data(Int)
        case wouldBlock
        case closed
        case failed(SystemError)

        /// Nothing more will come: the connection is closed, failed or timed out.
        public var isEnd: Bool {
            switch self {
            case .data: return false
            case .wouldBlock, .closed, .failed: return true
            }
        }
    }

    /// Appends what one read(2) returns, at most `max` bytes, to `buffer`.
    public func read(into buffer: inout [UInt8], max: Int) -> ReadResult {
        var chunk = [UInt8](repeating: 0, count: max)
        let n = chunk.withUnsafeMutableBytes { CLibc.read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
            return .data(n)
        }
        if n == 0 { return .closed }
        let e = ike_errno()
        if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
        if e == EINTR { return .data(0) }
        return .failed(SystemError("read", errno: e))
    }

    public enum WriteResult: Equatable {
        case wrote(Int)
        case wouldBlock
        case failed(SystemError)
    }

    /// One send(2) of `bytes` from `offset` on a non-blocking descriptor: how much went.
    /// A reader that has gone away is an EPIPE failure, never a SIGPIPE.
    public func write(_ bytes: [UInt8], from offset: Int) -> WriteResult {
        while true {
            let n = bytes.withUnsafeBytes { CLibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n >= 0 { return .wrote(n) }
            let e = ike_errno()
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
            return .failed(SystemError("send", errno: e))
        }
    }

    /// Writes all of `bytes` (the descriptor must be blocking; its send timeout bounds it).
    /// A reader that has gone away is an EPIPE error (MSG_NOSIGNAL), never a SIGPIPE.
    public func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { CLibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if ike_errno() == EINTR { continue }
                throw .last("send")
            }
            offset += n
        }
    }
}
