import CLibc
import IKEWire
import Platform
import Testing

@Suite struct EventLoopTests {
    @Test func timersFireInOrderOnTheRealClock() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        let start = loop.clock.now
        loop.schedule(after: .milliseconds(30)) { fired.append("30") }
        loop.schedule(after: .milliseconds(10)) { fired.append("10") }
        let cancelled = loop.schedule(after: .milliseconds(15)) { fired.append("15") }
        loop.schedule(after: .milliseconds(20)) { fired.append("20") }
        #expect(loop.cancel(cancelled))
        while loop.scheduledTimers > 0 { try loop.runOnce(timeoutMilliseconds: 1000) }
        #expect(fired == ["10", "20", "30"])
        #expect(loop.clock.now - start >= .milliseconds(30))
    }

    @Test func aTimerCanStopTheLoop() throws {
        let loop = try EventLoop()
        var ran = false
        loop.schedule(after: .milliseconds(5)) {
            ran = true
            loop.stop()
        }
        try loop.run()
        #expect(ran)
    }

    @Test func signalsArriveThroughTheLoop() throws {
        let loop = try EventLoop()
        let signals = try SignalSource()
        var received: [Signal] = []
        try signals.attach(to: loop) { received.append($0) }
        // raise() directs the signal at this thread, which SignalSource has blocked it in.
        #expect(raise(SIGHUP) == 0)
        #expect(raise(SIGTERM) == 0)
        for _ in 0..<10 where received.count < 2 { try loop.runOnce(timeoutMilliseconds: 200) }
        #expect(received.sorted { $0.rawValue < $1.rawValue } == [.hangup, .terminate])
    }

    @Test func unwatchedDescriptorsAreNotReported() throws {
        let loop = try EventLoop()
        let socket = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
        var calls = 0
        try loop.watch(socket.fd) { calls += 1 }
        loop.unwatch(socket.fd)
        try socket.send(UnsafeRawBufferPointer(start: nil, count: 0), to: socket.local)
        try loop.runOnce(timeoutMilliseconds: 50)
        #expect(calls == 0)
        #expect(loop.watchedCount == 0)
    }
}
