import Platform
import Testing

@Suite struct PacketBufferPoolTests {
    @Test func exhaustionReturnsNil() {
        let pool = PacketBufferPool(count: 2, bufferSize: 64)
        let a = pool.acquire()
        let b = pool.acquire()
        #expect(a != nil && b != nil && a !== b)
        #expect(pool.available == 0)
        #expect(pool.acquire() == nil)
        // Only a datagram actually dropped counts (UDPSocketTests).
        #expect(pool.exhausted == 0)
        withExtendedLifetime((a, b)) {}
    }

    @Test func aBufferReturnsWhenItsLastViewIsGone() {
        let pool = PacketBufferPool(count: 1, bufferSize: 64)
        var slice: PacketView? = nil
        do {
            let buffer = pool.acquire()!
            buffer.storage.storeBytes(of: 0xabcd_ef01, as: UInt32.self)
            let whole = PacketView(buffer: buffer, offset: 0, count: 4)
            slice = whole.slice(from: 1, count: 2)
        }
        // Only the slice holds the buffer now.
        #expect(pool.available == 0)
        #expect(pool.acquire() == nil)
        #expect(slice?.count == 2)
        slice = nil
        #expect(pool.available == 1)
        #expect(pool.acquire() != nil)
    }

    @Test func slicesShareBytesWithoutCopying() {
        let pool = PacketBufferPool(count: 1, bufferSize: 64)
        let buffer = pool.acquire()!
        for i in 0..<8 { buffer.storage[i] = UInt8(i) }
        let view = PacketView(buffer: buffer, offset: 0, count: 8)
        let inner = view.slice(from: 2, count: 4).slice(from: 1, count: 2)
        #expect(Array(inner.bytes) == [3, 4])
        let expected = UnsafeRawPointer(buffer.storage.baseAddress! + 3)
        #expect(inner.bytes.baseAddress == expected)
        buffer.storage[3] = 99
        #expect(inner[0] == 99)
    }

    @Test func buffersAreReusedRoundRobin() {
        let pool = PacketBufferPool(count: 3, bufferSize: 64)
        var seen: [UnsafeMutableRawPointer] = []
        for _ in 0..<6 { seen.append(pool.acquire()!.storage.baseAddress!) }
        #expect(seen[0] == seen[3] && seen[1] == seen[4] && seen[2] == seen[5])
        #expect(Set(seen).count == 3)
        #expect(pool.exhausted == 0)
    }
}
