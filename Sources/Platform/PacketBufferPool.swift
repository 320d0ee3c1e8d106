/// One receive buffer of the pool: fixed storage, allocated once when the pool is.
///
/// A buffer is in use while anything besides the pool holds a reference to it (a
/// `PacketView`, a retransmission); Swift's reference count is the pool's use count,
/// so a buffer returns to the pool exactly when its last view is gone.
public final class PacketBuffer {
    public let storage: UnsafeMutableRawBufferPointer
    /// How many bytes of `storage` hold the datagram (or the message being built).
    public var count: Int = 0 {
        didSet { precondition(count >= 0 && count <= storage.count, "buffer count out of range") }
    }

    init(storage: UnsafeMutableRawBufferPointer) { self.storage = storage }

    /// A view of the received bytes.
    public var view: PacketView { PacketView(buffer: self, offset: 0, count: count) }
}

/// A borrowed range of a pool buffer; keeping a view keeps its buffer out of the pool.
public struct PacketView {
    public let buffer: PacketBuffer
    public let offset: Int
    public let count: Int

    public init(buffer: PacketBuffer, offset: Int, count: Int) {
        precondition(offset >= 0 && count >= 0 && offset + count <= buffer.storage.count, "view out of range")
        self.buffer = buffer
        self.offset = offset
        self.count = count
    }

    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer.storage[offset..<(offset + count)])
    }

    public subscript(index: Int) -> UInt8 {
        precondition(index >= 0 && index < count, "view index out of range")
        return buffer.storage[offset + index]
    }

    /// A narrower view of the same buffer; no bytes are copied.
    public func slice(from start: Int, count length: Int) -> PacketView {
        precondition(start >= 0 && length >= 0 && start + length <= count, "slice out of range")
        return PacketView(buffer: buffer, offset: offset + start, count: length)
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { body(bytes) }
}

/// A fixed set of datagram buffers allocated at start, so that receiving never
/// allocates. When every buffer is in use, `acquire()` returns nil and the receive path
/// drops the datagram and counts it in `exhausted`: under overload the daemon sheds
/// datagrams, it never blocks or grows.
public final class PacketBufferPool {
    public let bufferSize: Int
    private let slab: UnsafeMutableRawBufferPointer
    private var buffers: [PacketBuffer]
    private var cursor = 0
    /// Datagrams dropped because no buffer was free.
    public internal(set) var exhausted: UInt64 = 0
    /// A buffer outside the pool, for draining a datagram that is being dropped.
    public let drain: PacketBuffer

    public init(count: Int, bufferSize: Int = 4096) {
        precondition(count > 0 && bufferSize > 0, "pool needs at least one non-empty buffer")
        self.bufferSize = bufferSize
        slab = UnsafeMutableRawBufferPointer.allocate(byteCount: (count + 1) * bufferSize, alignment: 16)
        var all: [PacketBuffer] = []
        all.reserveCapacity(count)
        for i in 0..<count {
            all.append(PacketBuffer(storage: UnsafeMutableRawBufferPointer(
                rebasing: slab[(i * bufferSize)..<((i + 1) * bufferSize)])))
        }
        buffers = all
        drain = PacketBuffer(storage: UnsafeMutableRawBufferPointer(
            rebasing: slab[(count * bufferSize)..<((count + 1) * bufferSize)]))
    }

    deinit { slab.deallocate() }

    public var capacity: Int { buffers.count }

    /// Buffers not referenced outside the pool.
    public var available: Int {
        var free = 0
        for i in 0..<buffers.count where isKnownUniquelyReferenced(&buffers[i]) { free += 1 }
        return free
    }

    /// A free buffer, or nil when all are in use. Buffers are
    /// handed out round-robin, so the usual case finds the next one free at once.
    public func acquire() -> PacketBuffer? {
        let n = buffers.count
        for step in 0..<n {
            let i = (cursor + step) % n
            if isKnownUniquelyReferenced(&buffers[i]) {
                cursor = (i + 1) % n
                buffers[i].count = 0
                return buffers[i]
            }
        }
        return nil
    }
}
