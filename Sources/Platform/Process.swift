import CLibc

/// The running process: its arguments, environment, exit, files it owns.
public enum Process {
    /// argv, including the program name as element 0.
    public static var arguments: [String] {
        var all: [String] = []
        for i in 0..<ike_argc() {
            if let arg = ike_argv(i) { all.append(String(cString: arg)) }
        }
        return all
    }

    public static func environment(_ name: String) -> String? {
        guard let value = name.withCString({ getenv($0) }) else { return nil }
        return String(cString: value)
    }

    public static var id: Int32 { getpid() }

    public static func exit(_ status: Int32) -> Never { CLibc.exit(status) }

    /// A closed pipe or socket becomes an EPIPE error on write, never a SIGPIPE death:
    /// a control client that goes away must not take the daemon and its tunnels along.
    public static func ignoreBrokenPipes() { _ = ike_ignore_sigpipe() }

    /// Returns the heap that a large transient allocation (a long listing) left free to
    /// the system, so the daemon's RSS goes back to what it holds.
    public static func releaseFreedMemory() { ike_release_freed_memory() }

    /// Detaches from the terminal (`ike daemon` without `--foreground`). The parent
    /// stays until the child says it is ready (`daemonReady`) or failed (`daemonFailed`),
    /// and exits with that: a taken port or an unwritable pid file is a failed start.
    public static func daemonize() throws(SystemError) {
        let result = ike_daemonize()
        guard result == 0 else { throw SystemError("fork", result: Int(result)) }
    }

    /// Notes the descriptors inherited from whoever started us; `daemonize` closes them
    /// in the detached child. Call it before opening anything.
    public static func noteInheritedDescriptors() { ike_note_inherited_descriptors() }

    /// The daemon serves: the waiting parent exits 0, standard I/O goes to /dev/null.
    public static func daemonReady() { ike_daemon_report(nil) }

    /// The daemon cannot start: the waiting parent prints `message` and exits 1 (without
    /// a parent, `message` goes to standard error).
    public static func daemonFailed(_ message: String) { message.withCString { ike_daemon_report($0) } }

    /// Writes a line (or, with `newline` false, the text as it is) to standard output.
    public static func printOut(_ text: String, newline: Bool = true) { writeAll(1, newline ? text + "\n" : text) }

    /// Writes a line to standard error.
    public static func printError(_ text: String) { writeAll(2, text + "\n") }

    private static func writeAll(_ fd: Int32, _ text: String) {
        var copy = text
        copy.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

/// Whole-file reads and writes for configuration and pid files.
public enum FileSystem {
    /// The file's bytes, or the error (ENOENT when it does not exist).
    public static func read(_ path: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
        let fd = path.withCString { ike_open($0, O_RDONLY, 0) }
        guard fd >= 0 else { throw .last("open") }
        defer { closeDescriptor(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { CLibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw .last("read") }
            if n == 0 { return data }
            data.append(contentsOf: chunk[0..<n])
            if data.count > limit { throw SystemError("read", errno: EFBIG) }
        }
    }

    /// Replaces the file's content with `text` (mode 0644).
    public static func write(_ path: String, _ text: String) throws(SystemError) {
        let fd = path.withCString { ike_open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        guard fd >= 0 else { throw .last("open") }
        defer { closeDescriptor(fd) }
        var copy = text
        let ok = copy.withUTF8 { bytes in CLibc.write(fd, bytes.baseAddress, bytes.count) == bytes.count }
        guard ok else { throw .last("write") }
    }

    public static func remove(_ path: String) {
        _ = path.withCString { unlink($0) }
    }

    /// The permission bits (stat(2), following links); nil when it cannot be read.
    public static func mode(_ path: String) -> UInt32? {
        let m = path.withCString { ike_file_mode($0) }
        return m < 0 ? nil : UInt32(m)
    }

    /// The names in a directory (no dot files), or nil when `path` is not a directory.
    public static func list(_ path: String) -> [String]? {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let n = path.withCString { p in buffer.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { ike_directory_names(p, $0, Int32(b.count)) }
        } }
        guard n >= 0 else { return nil }
        return buffer[0..<Int(n)].split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// A pid file held with an exclusive flock(2) for the life of the process: a second
/// daemon with the same pid file is refused while the first runs, whatever socket it
/// names, and a file left by a killed daemon is simply taken over (its lock died with it).
public final class PidFile {
    public let path: String
    private var fd: Int32

    public enum Problem: Error {
        /// Another process holds the lock; its pid, as the file says.
        case held(by: String)
        case system(SystemError)
    }

    /// Opens and locks `path` and writes our pid into it.
    public init(_ path: String) throws(Problem) {
        self.path = path
        fd = path.withCString { ike_open($0, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw .system(.last("open")) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = SystemError.last("flock")
            let holder = (try? FileSystem.read(path, limit: 64)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            closeDescriptor(fd)
            if error.errno == EWOULDBLOCK {
                throw .held(by: holder.split(separator: "\n").first.map(String.init) ?? "unknown")
            }
            throw .system(error)
        }
        var text = "\(Process.id)\n"
        let written = text.withUTF8 { bytes in ftruncate(fd, 0) == 0 && pwrite(fd, bytes.baseAddress, bytes.count, 0) == bytes.count }
        guard written else {
            let error = SystemError.last("write")
            closeDescriptor(fd)
            throw .system(error)
        }
    }

    /// Removes the file and releases the lock.
    public func release() {
        guard fd >= 0 else { return }
        FileSystem.remove(path)
        closeDescriptor(fd)
        fd = -1
    }
}
