import CLibc

/// The signals the daemon acts on, delivered through a signalfd on the loop rather
/// than by asynchronous handlers.
public enum Signal: Int32, CustomStringConvertible, CaseIterable, Sendable {
    case hangup = 1
    case interrupt = 2
    case terminate = 15

    public var description: String {
        switch self {
        case .hangup: return "SIGHUP"
        case .interrupt: return "SIGINT"
        case .terminate: return "SIGTERM"
        }
    }
}

/// Blocks SIGTERM, SIGINT and SIGHUP and reads them from a signalfd on the loop.
public final class SignalSource {
    public let fd: Int32

    public init() throws(SystemError) {
        var numbers: [Int32] = []
        for signal in Signal.allCases { numbers.append(signal.rawValue) }
        let result = numbers.withUnsafeBufferPointer { ike_signalfd_open($0.baseAddress, Int32($0.count)) }
        guard result >= 0 else { throw SystemError("signalfd", result: Int(result)) }
        fd = result
    }

    deinit { closeDescriptor(fd) }

    /// Delivers each pending signal to `handler` when the loop sees the signalfd readable.
    public func attach(to loop: EventLoop, _ handler: @escaping (Signal) -> Void) throws(SystemError) {
        let fd = self.fd
        try loop.watch(fd) {
            while true {
                let number = ike_signalfd_read(fd)
                guard number > 0 else { return }
                if let signal = Signal(rawValue: number) { handler(signal) }
            }
        }
    }
}
