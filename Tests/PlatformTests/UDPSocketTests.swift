import IKEWire
import Platform
import Testing

/// Real sockets over loopback: the local address each datagram was sent to is reported,
/// and an answer leaves from the address it is told to use.
@Suite struct UDPSocketTests {
    func receiveOne(_ socket: UDPSocket, _ pool: PacketBufferPool, _ loop: EventLoop) throws -> Datagram? {
        var got: Datagram? = nil
        try loop.watch(socket.fd) {
            if case let .datagram(d) = socket.receive(into: pool) { got = d }
        }
        defer { loop.unwatch(socket.fd) }
        for _ in 0..<20 where got == nil { try loop.runOnce(timeoutMilliseconds: 100) }
        return got
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func ipv4RoundTripReportsAndUsesTheLocalAddress() throws {
        let loop = try EventLoop()
        let pool = PacketBufferPool(count: 4, bufferSize: 2048)
        let server = try UDPSocket(bind: Endpoint(.anyV4, 0))
        let client = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
        #expect(server.local.port != 0)

        // 127.0.0.7 is a local address the server did not bind to explicitly.
        let serverAddress = IPAddress("127.0.0.7")!
        try bytes("hello").withUnsafeBytes { try client.send($0, to: Endpoint(serverAddress, server.local.port)) }
        let request = try #require(try receiveOne(server, pool, loop))
        #expect(Array(request.payload.bytes) == bytes("hello"))
        #expect(request.source == client.local)
        #expect(request.destination == Endpoint(serverAddress, server.local.port))
        #expect(request.interface != 0)

        try bytes("world").withUnsafeBytes {
            try server.send($0, to: request.source, from: request.destination.address)
        }
        let answer = try #require(try receiveOne(client, pool, loop))
        #expect(Array(answer.payload.bytes) == bytes("world"))
        #expect(answer.source == Endpoint(serverAddress, server.local.port))
    }

    /// What one turn of the daemon produces leaves in sendmmsg batches: every datagram
    /// arrives, in order, each from the local address it names, past one batch's size.
    @Test func aBatchLeavesInOrderFromTheAddressesNamed() throws {
        let loop = try EventLoop()
        let pool = PacketBufferPool(count: 128, bufferSize: 2048)
        let server = try UDPSocket(bind: Endpoint(.anyV4, 0))
        let client = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
        let count = UDPSocket.batchSize + 8
        var batch: [OutgoingDatagram] = []
        for i in 0..<count {
            let from = IPAddress("127.0.0.\(i % 2 == 0 ? 5 : 6)")!
            batch.append(OutgoingDatagram(bytes("datagram \(i)") + [UInt8](repeating: UInt8(i), count: i), to: client.local, from: from))
        }
        // One to nowhere fails alone (no IPv6 route from an IPv4 socket).
        batch.insert(OutgoingDatagram(bytes("lost"), to: Endpoint(IPAddress("::1")!, 9)), at: 3)
        let failures = server.send(batch)
        #expect(failures.map { $0.index } == [3])
        for i in 0..<count {
            let d = try #require(try receiveOne(client, pool, loop))
            #expect(Array(d.payload.bytes) == bytes("datagram \(i)") + [UInt8](repeating: UInt8(i), count: i))
            #expect(d.source == Endpoint(IPAddress("127.0.0.\(i % 2 == 0 ? 5 : 6)")!, server.local.port))
        }
    }

    @Test func ipv6RoundTrip() throws {
        let loop = try EventLoop()
        let pool = PacketBufferPool(count: 4, bufferSize: 2048)
        let server = try UDPSocket(bind: Endpoint(.anyV6, 0))
        let client = try UDPSocket(bind: Endpoint(IPAddress("::1")!, 0))
        try bytes("v6").withUnsafeBytes { try client.send($0, to: Endpoint(IPAddress("::1")!, server.local.port)) }
        let request = try #require(try receiveOne(server, pool, loop))
        #expect(request.source == client.local)
        #expect(request.destination == Endpoint(IPAddress("::1")!, server.local.port))
        try bytes("ok").withUnsafeBytes { try server.send($0, to: request.source, from: request.destination.address) }
        let answer = try #require(try receiveOne(client, pool, loop))
        #expect(Array(answer.payload.bytes) == bytes("ok"))
    }

    @Test func bindingATakenPortFailsWithTheErrno() throws {
        let first = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
        // No SO_REUSEADDR: a second IKE daemon must not share port 500 silently.
        let error = #expect(throws: SystemError.self) {
            _ = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, first.local.port))
        }
        #expect(error?.description == "bind: Address already in use")
    }

    @Test func anExhaustedPoolDropsAndCountsWithoutWedgingTheSocket() throws {
        let pool = PacketBufferPool(count: 1, bufferSize: 512)
        let server = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
        let client = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
        var held: PacketBuffer? = pool.acquire()
        try bytes("one").withUnsafeBytes { try client.send($0, to: server.local) }
        try bytes("two").withUnsafeBytes { try client.send($0, to: server.local) }
        guard case .dropped = server.receive(into: pool) else {
            Issue.record("expected the first datagram to be dropped")
            return
        }
        #expect(pool.exhausted == 1)
        #expect(held != nil)
        held = nil
        let next = server.receive(into: pool)
        guard case let .datagram(d) = next else {
            Issue.record("expected the second datagram once the buffer was free")
            return
        }
        #expect(Array(d.payload.bytes) == bytes("two"))
        guard case .empty = server.receive(into: pool) else {
            Issue.record("expected nothing left")
            return
        }
    }

    @Test func anOversizedDatagramIsDroppedNotTruncated() throws {
        let pool = PacketBufferPool(count: 2, bufferSize: 16)
        let server = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
        let client = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
        try [UInt8](repeating: 7, count: 100).withUnsafeBytes { try client.send($0, to: server.local) }
        guard case let .dropped(error) = server.receive(into: pool) else {
            Issue.record("expected the oversized datagram to be dropped")
            return
        }
        #expect(error?.errno == 90)  // EMSGSIZE
    }
}
