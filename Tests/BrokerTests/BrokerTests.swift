import Broker
import IKEWire
import Platform
import Testing

/// The broker over real loopback sockets: what it routes where, and what it drops.
@Suite struct BrokerTests {
    let pool = PacketBufferPool(count: 8, bufferSize: 1024)
    let log = Logger(level: .debug, sinks: [])

    func header(version: UInt8, length: Int = 28) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: length)
        bytes[0] = 0x42                     // initiator SPI, non-zero
        bytes[16] = 33                      // next payload: SA
        bytes[17] = version << 4
        bytes[18] = 34                      // IKE_SA_INIT
        bytes[27] = UInt8(length)
        return bytes
    }

    func deliver(_ datagrams: [[UInt8]], natt: Bool, to broker: Broker) throws {
        let server = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
        let client = try UDPSocket(bind: Endpoint(IPAddress("127.0.0.1")!, 0))
        for d in datagrams { try d.withUnsafeBytes { try client.send($0, to: server.local) } }
        broker.receiveAll(from: server, natt: natt)
    }

    @Test func routesByMajorVersionOnPort500() throws {
        let broker = Broker(log: log, pool: pool)
        try deliver([header(version: 2), header(version: 1), header(version: 2, length: 60),
                     header(version: 3), [1, 2, 3, 4, 5]], natt: false, to: broker)
        #expect(broker.counters.received == 5)
        #expect(broker.counters.ikev2 == 2)
        #expect(broker.counters.ikev1 == 1)
        #expect(broker.counters.unsupportedVersion == 1)
        #expect(broker.counters.malformed == 1)
        #expect(pool.available == pool.capacity)
    }

    @Test func stripsTheNonESPMarkerAndIgnoresKeepalivesOnPort4500() throws {
        let broker = Broker(log: log, pool: pool)
        let esp: [UInt8] = [0, 0, 0x10, 0x01, 0, 0, 0, 1, 9, 9, 9, 9]
        try deliver([[0, 0, 0, 0] + header(version: 2), [0xff], esp, header(version: 2)],
                    natt: true, to: broker)
        #expect(broker.counters.ikev2 == 1)
        #expect(broker.counters.natKeepalives == 1)
        // ESP belongs to the kernel; an IKE message without its marker is not IKE here.
        #expect(broker.counters.notIKE == 2)
    }

    @Test func aHeaderClaimingMoreThanTheDatagramIsMalformed() throws {
        let broker = Broker(log: log, pool: pool)
        var lying = header(version: 2)
        lying[27] = 200
        try deliver([lying], natt: false, to: broker)
        #expect(broker.counters.malformed == 1)
        #expect(broker.counters.ikev2 == 0)
    }

    @Test func poolExhaustionIsCountedAndTheRestStillArrives() throws {
        let tiny = PacketBufferPool(count: 1, bufferSize: 1024)
        let broker = Broker(log: log, pool: tiny)
        var held: PacketBuffer? = tiny.acquire()
        try deliver([header(version: 2)], natt: false, to: broker)
        #expect(broker.counters.receiveDrops == 1)
        #expect(tiny.exhausted == 1)
        #expect(held != nil)
        held = nil
        try deliver([header(version: 2)], natt: false, to: broker)
        #expect(broker.counters.ikev2 == 1)
    }
}
