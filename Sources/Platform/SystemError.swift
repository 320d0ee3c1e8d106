import CLibc

/// A failed system call: the operation that failed and the errno it returned.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public let operation: StaticString
    public let errno: Int32

    public init(_ operation: StaticString, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    /// EADDRINUSE for `operation`: what was to be bound is someone else's.
    public static func inUse(_ operation: StaticString) -> SystemError { SystemError(operation, errno: EADDRINUSE) }

    /// The error for a C helper's negative-errno return value.
    init(_ operation: StaticString, result: Int) {
        self.init(operation, errno: Int32(truncatingIfNeeded: -result))
    }

    /// The error for the current `errno` after a libc call returned -1.
    static func last(_ operation: StaticString) -> SystemError {
        SystemError(operation, errno: ike_errno())
    }

    public static func == (a: SystemError, b: SystemError) -> Bool {
        a.errno == b.errno && a.operation.description == b.operation.description
    }

    /// strerror(3) text, e.g. "Address already in use".
    public var message: String {
        guard let text = strerror(errno) else { return "errno \(errno)" }
        return String(cString: text)
    }

    public var description: String { "\(operation.description): \(message)" }
}

/// Closes a file descriptor, retrying on EINTR is wrong on Linux (the fd is gone), so once.
func closeDescriptor(_ fd: Int32) {
    if fd >= 0 { _ = close(fd) }
}
