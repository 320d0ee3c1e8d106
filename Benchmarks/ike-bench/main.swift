import Broker
import CAllocCounter
import IKEWire
import IKEv2
import Platform

/// The receive-path benchmark: datagrams go over loopback into the daemon's real path
/// (epoll wakeup, recvmsg into a pool buffer, header check, dispatch by version, the
/// IKEv2 engine's stateless checks), and the process's allocator calls are counted
/// around that path only. The datagrams are IKE_AUTH requests for an IKE SA that does
/// not exist: the flood an attacker can send without doing any cryptography.
///
///   ike-bench [DATAGRAMS]
///   ike-bench memory [TUNNELS]    (Memory.swift)
func parseCount() -> Int {
    let args = Process.arguments
    guard args.count >= 2 else { return 200_000 }
    guard let n = Int(args[1]), n > 0 else {
        Process.printError("usage: ike-bench [DATAGRAMS]")
        Process.exit(2)
    }
    return n
}

/// Proves the interposed counter sees Swift's allocations, so a 0 below means 0.
func checkCounter() {
    let before = ike_alloc_count()
    let probe = [Int](repeating: 1, count: Int(before % 7) + 100)
    guard ike_alloc_count() > before, probe.count > 0 else {
        Process.printError("ike-bench: the allocation counter is not interposed; figures would be meaningless")
        Process.exit(1)
    }
}

func runBenchmark(total: Int, burst: Int) throws {
    checkCounter()
    let loop = try EventLoop()
    let pool = PacketBufferPool(count: 128, bufferSize: 8192)
    let broker = Broker(log: Logger(level: .event, sinks: []), pool: pool)
    let receiver = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
    let sender = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
    let engine = IKEv2Engine { _ in nil }
    broker.ikev2 = { message, _, _ in _ = engine.precheck(message.bytes) }
    try loop.watch(receiver.fd) { broker.receiveAll(from: receiver, natt: false) }

    // An IKE_SA_INIT-sized IKEv2 message: header plus 300 bytes of payload, IKE_AUTH
    // for SPIs nobody has.
    var message = [UInt8](repeating: 0xa5, count: 328)
    for i in 20..<28 { message[i] = 0 }
    message[16] = 46
    message[17] = 0x20
    message[18] = 35
    message[19] = 0x08
    message[23] = 1
    message[26] = UInt8(328 >> 8)
    message[27] = UInt8(328 & 0xff)

    func round(_ count: Int) throws -> (allocations: UInt64, nanoseconds: UInt64) {
        try message.withUnsafeBytes { bytes in
            for _ in 0..<count { try sender.send(bytes, to: receiver.local) }
        }
        let start = broker.counters.received
        let allocations = ike_alloc_count()
        let t0 = loop.clock.now
        while broker.counters.received - start < UInt64(count) {
            try loop.runOnce(timeoutMilliseconds: 100)
        }
        let t1 = loop.clock.now
        return (ike_alloc_count() - allocations, (t1 - t0).nanoseconds)
    }

    _ = try round(burst)  // warm-up: first-use allocations of the loop and dictionaries
    var allocations: UInt64 = 0
    var nanoseconds: UInt64 = 0
    var sent = 0
    let wall0 = loop.clock.now
    while sent < total {
        let n = min(burst, total - sent)
        let r = try round(n)
        allocations += r.allocations
        nanoseconds += r.nanoseconds
        sent += n
    }
    let wall = (loop.clock.now - wall0).nanoseconds
    let received = broker.counters.ikev2 - UInt64(burst)
    let perDatagram = Double(allocations) / Double(received)
    let receiveRate = UInt64(Double(received) / (Double(nanoseconds) / 1e9))
    let overallRate = UInt64(Double(received) / (Double(wall) / 1e9))
    Process.printOut("datagrams: \(received) of \(total) sent, 328 bytes, bursts of \(burst)")
    Process.printOut("dropped: \(broker.counters.receiveDrops) (pool exhausted: \(pool.exhausted)), unknown SPI: \(engine.counters.unknownSPI)")
    Process.printOut("receive path (epoll to dispatch): \(receiveRate) datagrams/s")
    Process.printOut("with the sender in the same thread: \(overallRate) datagrams/s")
    Process.printOut("heap allocations per received datagram (recvmsg to dispatch): \(allocations) / \(received) = \(perDatagram)")
}

if Process.arguments.count >= 2, Process.arguments[1] == "memory" {
    let args = Process.arguments
    guard args.count <= 3, let n = args.count == 3 ? Int(args[2]) : 2000, n > 0 else {
        Process.printError("usage: ike-bench memory [TUNNELS]")
        Process.exit(2)
    }
    MemoryBenchmark.run(count: n)
    Process.exit(0)
}

do {
    try runBenchmark(total: parseCount(), burst: 64)
} catch {
    Process.printError("ike-bench: \(error)")
    Process.exit(1)
}
