import Control
import IKEWire
import Platform

/// The daemon's end of the control socket: accepts connections, reads one framed
/// request from each (bounded in size, count and time), answers and closes. A
/// malformed, oversized or unknown request gets an error answer; the daemon carries on.
/// Nothing here blocks the loop: answers are written as clients read them, within a
/// deadline and a bound on the bytes waiting, and idle clients make room for new ones.
final class ControlServer {
    /// What the daemon does with a request: answer now, or once tunnels are up.
    enum Outcome {
        case respond(ControlResponse)
        case wait(until: Instant, check: () -> ControlResponse?, timeout: () -> ControlResponse)
    }

    static let maxConnections = 16
    static let requestTimeout: Interval = .seconds(5)
    /// How long a client has to read its whole answer before it is dropped.
    static let answerTimeout: Interval = .seconds(10)
    /// Answers waiting for clients that read slowly, in all; past it a new answer is dropped.
    static let maxQueuedBytes = 16 << 20

    private struct Client {
        let connection: StreamConnection
        var buffer: [UInt8] = []
        let timer: TimerID
        let since: Instant
    }

    private struct Waiter {
        let connection: StreamConnection
        let check: () -> ControlResponse?
        let timeout: () -> ControlResponse
        let timer: TimerID
    }

    /// An answer the client has not read all of yet; written as the socket drains.
    private struct Writer {
        let connection: StreamConnection
        let bytes: [UInt8]
        var offset: Int
        let timer: TimerID
    }

    private let listener: UnixListener
    private let loop: EventLoop
    private let log: Logger
    private let execute: (ControlRequest) -> Outcome
    private var clients: [Int32: Client] = [:]
    private var waiters: [UInt64: Waiter] = [:]
    private var nextWaiter: UInt64 = 0
    private var writers: [Int32: Writer] = [:]
    private var queuedBytes = 0
    private(set) var malformed: UInt64 = 0
    private(set) var served: UInt64 = 0
    /// Answers given up on: the client did not read them within `answerTimeout`, or too
    /// many bytes already waited for slow clients.
    private(set) var abandoned: UInt64 = 0

    init(path: String, loop: EventLoop, log: Logger, execute: @escaping (ControlRequest) -> Outcome) throws(SystemError) {
        listener = try UnixListener(path: path)
        self.loop = loop
        self.log = log
        self.execute = execute
        try loop.watch(listener.fd) { [self] in self.acceptAll() }
    }

    func close() {
        loop.unwatch(listener.fd)
        for (fd, client) in clients {
            loop.unwatch(fd)
            loop.cancel(client.timer)
        }
        for fd in Array(writers.keys) { finish(fd) }
        for w in waiters.values { loop.cancel(w.timer) }
        clients.removeAll()
        waiters.removeAll()
    }

    private func acceptAll() {
        while true {
            let fd: Int32?
            do throws(SystemError) { fd = try listener.accept() } catch {
                log.error(.tmd, "control socket accept: \(error)")
                return
            }
            guard let fd else { return }
            let connection = StreamConnection(adopting: fd)
            // Clients still reading their answer are bounded by `maxQueuedBytes`, not here.
            if clients.count + waiters.count >= ControlServer.maxConnections {
                // A client that has not sent its request yet makes room for a new one, so
                // that idle connections cannot lock the operator out.
                guard let idle = clients.min(by: { $0.value.since < $1.value.since })?.key else {
                    send(.failed("ike: the daemon is busy with \(ControlServer.maxConnections) control connections; try again"), to: connection)
                    continue
                }
                log.information(.tmd, "control connection closed: no request yet, and \(ControlServer.maxConnections) connections are open")
                drop(idle)
            }
            let timer = loop.schedule(after: ControlServer.requestTimeout) { [self] in self.timedOut(fd) }
            clients[fd] = Client(connection: connection, timer: timer, since: loop.clock.now)
            do throws(SystemError) { try loop.watch(fd) { [self] in self.readable(fd) } } catch {
                drop(fd)
            }
        }
    }

    private func timedOut(_ fd: Int32) {
        guard clients[fd] != nil else { return }
        log.information(.tmd, "control connection closed: no complete request within \(ControlServer.requestTimeout)")
        drop(fd)
    }

    private func drop(_ fd: Int32) {
        guard let client = clients.removeValue(forKey: fd) else { return }
        loop.unwatch(fd)
        loop.cancel(client.timer)
    }

    private func readable(_ fd: Int32) {
        guard var client = clients[fd] else { return }
        let limit = ControlFrame.headerSize + ControlFrame.maxRequest
        switch client.connection.read(into: &client.buffer, max: limit - client.buffer.count + 1) {
        case .wouldBlock, .data(0): return
        case .closed, .failed:
            drop(fd)
            return
        case .data:
            clients[fd] = client
        }
        switch ControlFrame.decode(client.buffer, limit: ControlFrame.maxRequest) {
        case .incomplete:
            return
        case let .malformed(reason):
            reject(fd, client, reason)
        case let .frame(kind, body, consumed):
            guard kind == .request, consumed == client.buffer.count else {
                reject(fd, client, kind == .request ? "bytes after the request" : "expected a request")
                return
            }
            drop(fd)
            switch ControlRequest.decode(body: body) {
            case let .failure(problem):
                malformed += 1
                send(.usage("ike: \(problem)"), to: client.connection)
            case let .success(request):
                served += 1
                run(request, client.connection)
            }
        }
    }

    private func reject(_ fd: Int32, _ client: Client, _ reason: String) {
        malformed += 1
        log.information(.tmd, "control request refused: \(reason)")
        drop(fd)
        send(.usage("ike: malformed control request: \(reason)"), to: client.connection)
    }

    private func run(_ request: ControlRequest, _ connection: StreamConnection) {
        switch execute(request) {
        case let .respond(response):
            send(response, to: connection)
            tunnelsChanged()  // a remove or deactivate may answer someone's wait=
        case let .wait(deadline, check, timeout):
            if let response = check() {
                send(response, to: connection)
                return
            }
            nextWaiter += 1
            let id = nextWaiter
            let timer = loop.schedule(at: deadline) { [self] in
                guard let w = self.waiters.removeValue(forKey: id) else { return }
                self.send(w.check() ?? w.timeout(), to: w.connection)
            }
            waiters[id] = Waiter(connection: connection, check: check, timeout: timeout, timer: timer)
        }
    }

    /// Tunnels may have changed: answers every waiting `activate wait=` whose tunnels are
    /// now up (or gone). The daemon calls it after each batch of engine output, so the
    /// answer leaves in the same loop turn as the last message that completed the tunnel.
    func tunnelsChanged() {
        guard !waiters.isEmpty else { return }
        for (id, w) in waiters {
            guard let response = w.check() else { continue }
            waiters.removeValue(forKey: id)
            loop.cancel(w.timer)
            send(response, to: w.connection)
        }
    }

    /// Answers without blocking the loop: what the socket does not take now is written as
    /// the client reads, within `answerTimeout` and `maxQueuedBytes`.
    private func send(_ response: ControlResponse, to connection: StreamConnection) {
        let bytes = ControlFrame.encode(.response, response.body)
        if bytes.count >= ControlServer.largeAnswer { releaseMemoryLater() }
        do throws(SystemError) { try connection.setBlocking(false) } catch {
            log.information(.tmd, "control client: \(error)")
            return
        }
        var offset = 0
        switch connection.write(bytes, from: 0) {
        case let .wrote(n):
            if n == bytes.count { return }
            offset = n
        case .wouldBlock:
            break
        case let .failed(error):
            log.information(.tmd, "control client went away before its answer: \(error)")
            return
        }
        let remaining = bytes.count - offset
        guard queuedBytes + remaining <= ControlServer.maxQueuedBytes else {
            abandoned += 1
            log.information(.tmd, "control answer of \(bytes.count) bytes dropped: \(queuedBytes) bytes already wait for slow clients")
            return
        }
        let fd = connection.fd
        let timer = loop.schedule(after: ControlServer.answerTimeout) { [self] in
            guard self.writers[fd] != nil else { return }
            self.abandoned += 1
            self.log.information(.tmd, "control client dropped: it did not read its answer within \(ControlServer.answerTimeout)")
            self.finish(fd)
        }
        do throws(SystemError) { try loop.watchWritable(fd) { [self] in self.flush(fd) } } catch {
            loop.cancel(timer)
            log.information(.tmd, "control client: \(error)")
            return
        }
        writers[fd] = Writer(connection: connection, bytes: bytes, offset: offset, timer: timer)
        queuedBytes += remaining
    }

    private func flush(_ fd: Int32) {
        guard var w = writers[fd] else { return }
        switch w.connection.write(w.bytes, from: w.offset) {
        case let .wrote(n):
            w.offset += n
            queuedBytes -= n
            writers[fd] = w
            if w.offset == w.bytes.count { finish(fd) }
        case .wouldBlock:
            return
        case let .failed(error):
            log.information(.tmd, "control client went away before its answer: \(error)")
            finish(fd)
        }
    }

    /// An answer this large (a listing of thousands of tunnels) leaves its memory to the
    /// system once it is gone, not to the allocator's free lists.
    static let largeAnswer = 256 << 10
    private var releasePending = false

    private func releaseMemoryLater() {
        guard !releasePending else { return }
        releasePending = true
        loop.schedule(after: .milliseconds(0)) { [self] in
            self.releasePending = false
            Process.releaseFreedMemory()
        }
    }

    /// Forgets a writer; its connection closes with it.
    private func finish(_ fd: Int32) {
        guard let w = writers.removeValue(forKey: fd) else { return }
        if w.bytes.count >= ControlServer.largeAnswer { releaseMemoryLater() }
        queuedBytes -= w.bytes.count - w.offset
        loop.unwatch(fd)
        loop.cancel(w.timer)
    }
}
