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

    /// A timer moved later fires at its new deadline: the early wake-up it leaves fires
    /// nothing.
    @Test func aTimerMovedLaterFiresAtItsNewDeadline() throws {
        let loop = try EventLoop()
        let start = loop.clock.now
        var firedAt: [Interval] = []
        let early = loop.schedule(after: .milliseconds(10)) { firedAt.append(.milliseconds(0)) }
        // The loop arms the timerfd for 10 ms, then the timer moves to 40 ms.
        try loop.runOnce(timeoutMilliseconds: 0)
        #expect(loop.cancel(early))
        loop.schedule(after: .milliseconds(40)) { firedAt.append(loop.clock.now - start) }
        var waits = 0
        while loop.scheduledTimers > 0 && waits < 10 {
            try loop.runOnce(timeoutMilliseconds: 1000)
            waits += 1
        }
        #expect(firedAt.count == 1)
        #expect(firedAt.allSatisfy { $0 >= .milliseconds(40) })
        // One early wake-up at most, then the real one.
        #expect(waits <= 2)
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
