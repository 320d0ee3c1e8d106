import CNetlink
import IKEWire
import Kernel

/// The kernel's acquire and expire notifications, from a non-blocking netlink socket the
/// event loop watches.
public final class XFRMEvents {
    private let socket: OpaquePointer
    public let fd: Int32
    /// Notifications read by the last `read()`, parsed or not (for the debug log).
    public private(set) var lastRawCount = 0

    public init() throws(KernelError) {
        guard let socket = ike_xfrm_events_open() else {
            throw KernelError(operation: "XFRM event socket", errno: 1, message: "cannot join the XFRM acquire and expire groups")
        }
        self.socket = socket
        fd = nl_socket_get_fd(socket)
    }

    deinit { nl_socket_free(socket) }

    /// The events waiting now.
    public func read() -> [KernelEvent] {
        var raw = [ike_xfrm_event](repeating: ike_xfrm_event(), count: 32)
        let n = raw.withUnsafeMutableBufferPointer { ike_xfrm_events_read(socket, $0.baseAddress, Int32($0.count)) }
        var out: [KernelEvent] = []
        lastRawCount = Int(n)
        for e in raw[0..<Int(n)] {
            let length = e.family == 2 ? 4 : 16
            guard let src = XFRMEvents.address(e.src, length), let dst = XFRMEvents.address(e.dst, length) else { continue }
            switch e.kind {
            case 1:
                guard let s = Subnet(address: src, prefixLength: e.src_prefix),
                      let d = Subnet(address: dst, prefixLength: e.dst_prefix) else { continue }
                out.append(.acquire(source: s, destination: d))
            case 2:
                out.append(.expire(SAIdentifier(destination: dst, spi: e.spi), reqid: e.reqid, hard: e.hard != 0))
            default:
                continue
            }
        }
        return out
    }

    static func address(_ a: xfrm_address_t, _ length: Int) -> IPAddress? {
        var copy = a
        return withUnsafeBytes(of: &copy) { IPAddress(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }
}
