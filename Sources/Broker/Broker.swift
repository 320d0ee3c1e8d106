import IKEWire
import Platform

/// The IKE broker (iked of the AIX flow): the one receive path for UDP 500 and 4500.
/// It strips the RFC 3948 non-ESP marker on the NAT-T port, reads the ISAKMP header and
/// routes the datagram by major version to the IKEv1 or IKEv2 engine. Every datagram
/// it does not pass on is counted by reason.
public final class Broker {
    /// Datagrams seen, by where they went or why they were dropped.
    public struct Counters {
        public var received: UInt64 = 0
        public var ikev1: UInt64 = 0
        public var ikev2: UInt64 = 0
        public var unsupportedVersion: UInt64 = 0
        public var malformed: UInt64 = 0
        public var natKeepalives: UInt64 = 0
        public var notIKE: UInt64 = 0
        /// Dropped on receive: no pool buffer free, or larger than a buffer.
        public var receiveDrops: UInt64 = 0
        public var receiveErrors: UInt64 = 0
    }

    private let log: Logger
    private let pool: PacketBufferPool
    public private(set) var counters = Counters()
    /// Where IKEv1 messages go: the message (marker stripped), its source and destination.
    public var ikev1: ((PacketView, Endpoint, Endpoint) -> Void)? = nil
    /// Where IKEv2 messages go: the message (marker stripped), its source and destination.
    public var ikev2: ((PacketView, Endpoint, Endpoint) -> Void)? = nil
    /// Where requests of an unsupported major version go, for the RFC 7296 §1.5 answer.
    public var unsupportedVersion: ((ISAKMPHeader, Endpoint, Endpoint) -> Void)? = nil

    public init(log: Logger, pool: PacketBufferPool) {
        self.log = log
        self.pool = pool
    }

    /// Datagrams handled per readiness of a socket: the loop then serves the other
    /// sockets, the control socket and the timers before it comes back (the socket is
    /// level-triggered), so a flood on UDP cannot starve `ike cmd=`.
    public static let batch = 64

    /// Receives the datagrams waiting on `socket` (at most `batch`) into the pool and
    /// handles them; the loop calls this when the socket is readable. Allocation-free
    /// unless debug logging is on (scripts/bench-receive measures it).
    public func receiveAll(from socket: UDPSocket, natt: Bool) {
        for _ in 0..<Broker.batch {
            switch socket.receive(into: pool) {
            case let .datagram(datagram):
                handle(datagram, natt: natt)
            case .empty:
                return
            case .dropped:
                counters.receiveDrops += 1
            case let .failed(error):
                counters.receiveErrors += 1
                log.error(.iked, "receive on \(socket.local): \(error)")
                return
            }
        }
    }

    /// Handles one datagram received on the IKE port (`natt` false) or the NAT-T port.
    public func handle(_ datagram: Datagram, natt: Bool) {
        counters.received += 1
        var message = datagram.payload
        if natt {
            // RFC 3948 §2.2: a single 0xFF octet is a NAT-keepalive, to be ignored.
            if message.count == 1 && message[0] == 0xff {
                counters.natKeepalives += 1
                return
            }
            // RFC 3948 §2.2: IKE on port 4500 is preceded by four zero octets.
            guard message.count >= 4, message[0] == 0, message[1] == 0, message[2] == 0, message[3] == 0 else {
                counters.notIKE += 1
                return
            }
            message = message.slice(from: 4, count: message.count - 4)
        }
        let header: ISAKMPHeader
        do throws(WireError) {
            var reader = ByteReader(message.bytes)
            header = try ISAKMPHeader(from: &reader)
        } catch {
            counters.malformed += 1
            log.debug(.iked, "dropped datagram from \(datagram.source): \(error)")
            return
        }
        route(header, message, datagram)
    }

    private func route(_ header: ISAKMPHeader, _ message: PacketView, _ datagram: Datagram) {
        switch header.majorVersion {
        case ISAKMPHeader.ikev2:
            counters.ikev2 += 1
            log.debug(.ikev2d, "message from \(datagram.source) to \(datagram.destination), \(header.length) bytes")
            ikev2?(message.slice(from: 0, count: Int(header.length)), datagram.source, datagram.destination)
        case ISAKMPHeader.ikev1:
            counters.ikev1 += 1
            log.debug(.isakmpd, "message from \(datagram.source) to \(datagram.destination), \(header.length) bytes")
            ikev1?(message.slice(from: 0, count: Int(header.length)), datagram.source, datagram.destination)
        default:
            counters.unsupportedVersion += 1
            log.debug(.iked, "unsupported IKE major version \(header.majorVersion) from \(datagram.source)")
            if header.majorVersion > ISAKMPHeader.ikev2 && header.flags & 0x20 == 0 {
                unsupportedVersion?(header, datagram.source, datagram.destination)
            }
        }
    }
}
