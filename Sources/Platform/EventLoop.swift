import CLibc
import IKEWire

/// The daemon's one loop: epoll over every descriptor it owns, a timerfd that drives
/// a `TimerWheel`, and nothing else. Handlers run on the loop; state is never shared
/// with another thread.
public final class EventLoop {
    public typealias Handler = () -> Void

    private let epollFD: Int32
    private let timerFD: Int32
    public let clock: MonotonicClock
    private var handlers: [Int32: Handler] = [:]
    private var timers: TimerWheel<Handler>
    private var armedDeadline: Instant? = nil
    private var running = false
    private var tokens = [UInt64](repeating: 0, count: 64)
    private var events = [UInt32](repeating: 0, count: 64)

    public init() throws(SystemError) {
        clock = MonotonicClock()
        timers = TimerWheel(start: clock.now)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw .last("epoll_create1") }
        timerFD = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        guard timerFD >= 0 else {
            let error = SystemError.last("timerfd_create")
            closeDescriptor(epollFD)
            throw error
        }
        let result = ike_epoll_ctl(epollFD, EPOLL_CTL_ADD, timerFD, EPOLLIN.rawValue, UInt64(timerFD))
        guard result == 0 else { throw SystemError("epoll_ctl", result: Int(result)) }
    }

    deinit {
        closeDescriptor(timerFD)
        closeDescriptor(epollFD)
    }

    /// Calls `handler` whenever `fd` is readable (level-triggered).
    public func watch(_ fd: Int32, _ handler: @escaping Handler) throws(SystemError) {
        precondition(handlers[fd] == nil, "descriptor \(fd) is already watched")
        let result = ike_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, EPOLLIN.rawValue, UInt64(UInt32(bitPattern: fd)))
        guard result == 0 else { throw SystemError("epoll_ctl", result: Int(result)) }
        handlers[fd] = handler
    }

    /// Calls `handler` whenever `fd` can be written to (level-triggered), or has failed.
    public func watchWritable(_ fd: Int32, _ handler: @escaping Handler) throws(SystemError) {
        precondition(handlers[fd] == nil, "descriptor \(fd) is already watched")
        let result = ike_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, EPOLLOUT.rawValue, UInt64(UInt32(bitPattern: fd)))
        guard result == 0 else { throw SystemError("epoll_ctl", result: Int(result)) }
        handlers[fd] = handler
    }

    /// Stops watching `fd`; the caller still owns and closes it.
    public func unwatch(_ fd: Int32) {
        guard handlers.removeValue(forKey: fd) != nil else { return }
        _ = ike_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0)
    }

    public var watchedCount: Int { handlers.count }

    /// Runs `action` on the loop once `interval` has passed.
    @discardableResult
    public func schedule(after interval: Interval, _ action: @escaping Handler) -> TimerID {
        timers.schedule(at: clock.now + interval, action)
    }

    /// Runs `action` on the loop at `deadline` (at once when it has passed).
    @discardableResult
    public func schedule(at deadline: Instant, _ action: @escaping Handler) -> TimerID {
        timers.schedule(at: deadline, action)
    }

    @discardableResult
    public func cancel(_ id: TimerID) -> Bool { timers.cancel(id) }

    public var scheduledTimers: Int { timers.count }

    /// Runs until `stop()` is called from a handler.
    public func run() throws(SystemError) {
        running = true
        while running { try runOnce(timeoutMilliseconds: -1) }
    }

    public func stop() { running = false }

    /// Waits up to `timeoutMilliseconds` (-1: until something happens) for readiness
    /// or a timer, and runs what became ready. Returns the number of handlers run.
    @discardableResult
    public func runOnce(timeoutMilliseconds: Int32) throws(SystemError) -> Int {
        try armTimer()
        let n = tokens.withUnsafeMutableBufferPointer { t in
            events.withUnsafeMutableBufferPointer { e in
                ike_epoll_wait(epollFD, t.baseAddress, e.baseAddress, Int32(t.count), timeoutMilliseconds)
            }
        }
        if n < 0 {
            if -n == EINTR { return 0 }
            throw SystemError("epoll_wait", result: Int(n))
        }
        var ran = 0
        for i in 0..<Int(n) {
            let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: tokens[i]))
            if fd == timerFD {
                _ = ike_timerfd_drain(timerFD)
                armedDeadline = nil
                ran += fireTimers()
            } else if let handler = handlers[fd] {
                handler()
                ran += 1
            }
        }
        return ran
    }

    private func fireTimers() -> Int {
        let due = timers.expire(upTo: clock.now)
        for timer in due { timer.event() }
        return due.count
    }

    private func armTimer() throws(SystemError) {
        let next = timers.nextDeadline
        guard next != armedDeadline else { return }
        // A deadline that moved later (or went) leaves the timerfd as it is: it wakes the
        // loop early once, and the wait after that arms the real deadline. A hub moves its
        // wake-up later with nearly every tunnel it sets up; this spares it a system call
        // each time.
        if let armed = armedDeadline, next.map({ $0 > armed }) ?? true { return }
        // A deadline of 0 would disarm the timerfd; one nanosecond is as good as now.
        let result = ike_timerfd_arm(timerFD, next.map { max($0.nanoseconds, 1) } ?? 0)
        guard result == 0 else { throw SystemError("timerfd_settime", result: Int(result)) }
        armedDeadline = next
    }
}
