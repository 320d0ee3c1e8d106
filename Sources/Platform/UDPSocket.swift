import CLibc
import IKEWire

extension Endpoint {
    var raw: ike_endpoint {
        var e = ike_endpoint()
        e.port = port
        switch address {
        case .v4:
            e.family = UInt8(AF_INET)
        case .v6:
            e.family = UInt8(AF_INET6)
        }
        withUnsafeMutableBytes(of: &e.addr) { dst in
            for (i, b) in address.bytes.enumerated() { dst[i] = b }
        }
        return e
    }

    init?(raw: ike_endpoint) {
        let length: Int
        switch Int32(raw.family) {
        case AF_INET: length = 4
        case AF_INET6: length = 16
        default: return nil
        }
        var copy = raw.addr
        let address = withUnsafeBytes(of: &copy) { IPAddress(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
        guard let address else { return nil }
        self.init(address, raw.port)
    }
}

/// One received datagram: its bytes in a pool buffer, who sent it, and the local
/// address it was sent to (so the answer leaves from that address).
public struct Datagram {
    public let payload: PacketView
    public let source: Endpoint
    public let destination: Endpoint
    /// The interface index it arrived on.
    public let interface: UInt32

    public init(payload: PacketView, source: Endpoint, destination: Endpoint, interface: UInt32) {
        self.payload = payload
        self.source = source
        self.destination = destination
        self.interface = interface
    }
}

/// A datagram to send: `bytes` to `to`, from local address `from` when given.
public struct OutgoingDatagram {
    public var bytes: [UInt8]
    public var to: Endpoint
    public var from: IPAddress?

    public init(_ bytes: [UInt8], to: Endpoint, from: IPAddress? = nil) {
        self.bytes = bytes
        self.to = to
        self.from = from
    }
}

/// What a non-blocking receive produced.
public enum ReceiveResult {
    case datagram(Datagram)
    /// Nothing is waiting.
    case empty
    /// A datagram arrived and was dropped: no pool buffer was free, or it was larger
    /// than a buffer.
    case dropped(SystemError?)
    case failed(SystemError)
}

/// A non-blocking UDP socket bound to one address and port that reports each
/// datagram's local address (IP_PKTINFO / IPV6_RECVPKTINFO) and sends from a chosen one.
public final class UDPSocket {
    public let fd: Int32
    /// The bound address and the actual port (when 0 was asked for).
    public let local: Endpoint

    public init(bind endpoint: Endpoint) throws(SystemError) {
        var raw = endpoint.raw
        let fd = ike_udp_open(&raw)
        guard fd >= 0 else { throw SystemError("bind", result: Int(fd)) }
        let port = ike_socket_port(fd)
        guard port >= 0 else {
            closeDescriptor(fd)
            throw SystemError("getsockname", result: Int(port))
        }
        self.fd = fd
        self.local = Endpoint(endpoint.address, UInt16(port))
    }

    deinit { closeDescriptor(fd) }

    /// Makes this the kernel's ESP-in-UDP socket (the NAT-T port, RFC 3948): the kernel
    /// decapsulates ESP arriving here; IKE behind the non-ESP marker still arrives.
    public func receiveESPInUDP() throws(SystemError) {
        let result = ike_udp_espinudp(fd)
        guard result == 0 else { throw SystemError("setsockopt UDP_ENCAP", result: Int(result)) }
    }

    /// Receives one datagram straight into a buffer from `pool`; no allocation.
    public func receive(into pool: PacketBufferPool) -> ReceiveResult {
        var from = ike_endpoint()
        var to = ike_endpoint()
        guard let buffer = pool.acquire() else {
            let n = ike_udp_recv(fd, pool.drain.storage.baseAddress, pool.drain.storage.count, &from, &to)
            if n == -Int(EAGAIN) { return .empty }
            pool.exhausted += 1
            return .dropped(nil)
        }
        let n = ike_udp_recv(fd, buffer.storage.baseAddress, buffer.storage.count, &from, &to)
        if n < 0 {
            if n == -Int(EAGAIN) { return .empty }
            if n == -Int(EMSGSIZE) { return .dropped(SystemError("recvmsg", result: n)) }
            return .failed(SystemError("recvmsg", result: n))
        }
        buffer.count = n
        guard let source = Endpoint(raw: from) else { return .dropped(nil) }
        to.port = local.port
        let destination = Endpoint(raw: to) ?? local
        return .datagram(Datagram(payload: buffer.view, source: source, destination: destination,
                                  interface: to.ifindex))
    }

    /// Sends an array; see `send(_:to:from:)`.
    public func send(_ bytes: [UInt8], to destination: Endpoint, from source: IPAddress? = nil) throws(SystemError) {
        let result: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
            do throws(SystemError) {
                try send(raw, to: destination, from: source)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        if case let .failure(e) = result { throw e }
    }

    /// Sends `bytes` to `destination`, from local address `source` when given.
    public func send(_ bytes: UnsafeRawBufferPointer, to destination: Endpoint, from source: IPAddress? = nil) throws(SystemError) {
        var to = destination.raw
        let n: Int
        if let source {
            var from = Endpoint(source, local.port).raw
            n = ike_udp_send(fd, bytes.baseAddress, bytes.count, &to, &from)
        } else {
            n = ike_udp_send(fd, bytes.baseAddress, bytes.count, &to, nil)
        }
        guard n >= 0 else { throw SystemError("sendmsg", result: n) }
    }

    /// The most datagrams one `sendmmsg` takes (`ike_udp_send_many`).
    public static let batchSize = 32

    /// Sends `datagrams` in order with as few system calls as the kernel allows
    /// (sendmmsg, `batchSize` at a time): what one turn of the loop produced leaves
    /// together. One the kernel refuses is skipped and reported by its index; the rest
    /// still go.
    public func send(_ datagrams: [OutgoingDatagram]) -> [(index: Int, error: SystemError)] {
        var failures: [(index: Int, error: SystemError)] = []
        var start = 0
        while start < datagrams.count {
            let batch = datagrams[start..<min(start + UDPSocket.batchSize, datagrams.count)]
            // One contiguous copy, so that every datagram's bytes stay put for the call.
            var staging: [UInt8] = []
            staging.reserveCapacity(batch.reduce(1) { $0 + $1.bytes.count })
            var offsets: [Int] = []
            for d in batch {
                offsets.append(staging.count)
                staging += d.bytes
            }
            staging.append(0)  // never empty: its address is every datagram's base
            let port = local.port
            let sent: Int = staging.withUnsafeBytes { raw in
                var descriptors: [ike_datagram] = []
                for (i, d) in batch.enumerated() {
                    var one = ike_datagram()
                    one.buf = UnsafeRawPointer(raw.baseAddress!) + offsets[i]
                    one.len = d.bytes.count
                    one.to = d.to.raw
                    if let from = d.from {
                        one.from = Endpoint(from, port).raw
                        one.has_from = 1
                    }
                    descriptors.append(one)
                }
                return ike_udp_send_many(fd, &descriptors, UInt32(descriptors.count))
            }
            if sent > 0 {
                start += sent
            } else {
                failures.append((start, SystemError("sendmmsg", result: sent == 0 ? -Int(EAGAIN) : sent)))
                start += 1
            }
        }
        return failures
    }
}
