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
        lastRawCount = Int(n)
        return raw[0..<Int(n)].compactMap { XFRMEvents.event($0) }
    }

    /// The event in one netlink message (`bytes` from its header on), if the daemon acts
    /// on it; for the fixture tests and the fuzzer.
    public static func parse(_ bytes: [UInt8]) -> KernelEvent? {
        var raw = ike_xfrm_event()
        // Copied to aligned memory, as the kernel's messages are.
        var words = [UInt32](repeating: 0, count: (bytes.count + 3) / 4)
        let parsed: Int32 = words.withUnsafeMutableBytes { w in
            bytes.withUnsafeBytes { w.copyMemory(from: $0) }
            guard bytes.count >= 16 else { return 0 }
            let header = w.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
            guard UInt64(header.pointee.nlmsg_len) <= UInt64(bytes.count) else { return 0 }
            return ike_xfrm_event_parse(header, &raw)
        }
        return parsed == 1 ? event(raw) : nil
    }

    static func event(_ e: ike_xfrm_event) -> KernelEvent? {
        let length = e.family == 2 ? 4 : 16
        guard let src = address(e.src, length), let dst = address(e.dst, length) else { return nil }
        switch e.kind {
        case 1:
            guard let s = Subnet(address: src, prefixLength: e.src_prefix),
                  let d = Subnet(address: dst, prefixLength: e.dst_prefix) else { return nil }
            return .acquire(source: s, destination: d)
        case 2:
            return .expire(SAIdentifier(destination: dst, spi: e.spi), reqid: e.reqid, hard: e.hard != 0)
        case 3:
            let newLength = e.new_family == 2 ? 4 : 16
            guard let newSrc = address(e.new_src, newLength), let newDst = address(e.new_dst, newLength) else { return nil }
            return .migrate(reqid: e.reqid, from: .init(source: src, destination: dst), to: .init(source: newSrc, destination: newDst))
        default:
            return nil
        }
    }

    static func address(_ a: xfrm_address_t, _ length: Int) -> IPAddress? {
        var copy = a
        return withUnsafeBytes(of: &copy) { IPAddress(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }
}
