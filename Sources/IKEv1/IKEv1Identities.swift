import IKECore
import IKECrypto
import IKEWire

/// ID payloads in both roles IKEv1 gives them (RFC 2407 §4.6.2): the peers' identities in
/// phase 1, and the traffic selectors of Quick Mode (IDci, IDcr: addresses, subnets with
/// a mask, ranges).
enum IKEv1Identities {
    /// The phase 1 ID payload for an identity (protocol and port 0, as RFC 2407 §4.6.2
    /// allows and peers send).
    static func payload(_ id: Identity) -> ISAKMPIdentification {
        ISAKMPIdentification(type: id.idType, data: id.data)
    }

    /// A selector as an ID payload: a single address, a subnet (address and mask) or a range.
    static func payload(_ ts: TrafficSelector) -> ISAKMPIdentification {
        let v4 = ts.start.isV4
        let port = ts.startPort == ts.endPort ? ts.startPort : 0
        if ts.start == ts.end {
            return ISAKMPIdentification(type: v4 ? IKEv1Number.IDType.ipv4 : IKEv1Number.IDType.ipv6, protocolID: ts.ipProtocol, port: port,
                                        data: ts.start.bytes)
        }
        if let subnet = ts.subnet {
            return ISAKMPIdentification(type: v4 ? IKEv1Number.IDType.ipv4Subnet : IKEv1Number.IDType.ipv6Subnet, protocolID: ts.ipProtocol,
                                        port: port, data: subnet.first.bytes + mask(subnet.prefixLength, bytes: v4 ? 4 : 16))
        }
        return ISAKMPIdentification(type: v4 ? IKEv1Number.IDType.ipv4Range : IKEv1Number.IDType.ipv6Range, protocolID: ts.ipProtocol,
                                    port: port, data: ts.start.bytes + ts.end.bytes)
    }

    /// The selector an ID payload names; nil for other ID types or malformed data (a
    /// mask that is not contiguous, a range that runs backwards).
    static func selector(_ id: ISAKMPIdentification) -> TrafficSelector? {
        let lowPort = id.port, highPort = id.port == 0 ? 65535 : id.port
        func address(_ bytes: ArraySlice<UInt8>) -> IPAddress? { Array(bytes).withUnsafeBytes { IPAddress(bytes: $0) } }
        let size: Int
        switch id.type {
        case IKEv1Number.IDType.ipv4, IKEv1Number.IDType.ipv4Subnet, IKEv1Number.IDType.ipv4Range: size = 4
        case IKEv1Number.IDType.ipv6, IKEv1Number.IDType.ipv6Subnet, IKEv1Number.IDType.ipv6Range: size = 16
        default: return nil
        }
        switch id.type {
        case IKEv1Number.IDType.ipv4, IKEv1Number.IDType.ipv6:
            guard id.data.count == size, let a = address(id.data[...]) else { return nil }
            return TrafficSelector(ipProtocol: id.protocolID, startPort: lowPort, endPort: highPort, start: a, end: a)
        case IKEv1Number.IDType.ipv4Subnet, IKEv1Number.IDType.ipv6Subnet:
            guard id.data.count == 2 * size, let a = address(id.data[0..<size]), let length = prefixLength(Array(id.data[size...])),
                  let subnet = Subnet(address: Subnet.masked(a, length), prefixLength: length) else { return nil }
            return TrafficSelector(ipProtocol: id.protocolID, startPort: lowPort, endPort: highPort, start: subnet.first, end: subnet.last)
        default:
            guard id.data.count == 2 * size, let a = address(id.data[0..<size]), let b = address(id.data[size...]),
                  Selectors.compare(a, b) <= 0 else { return nil }
            return TrafficSelector(ipProtocol: id.protocolID, startPort: lowPort, endPort: highPort, start: a, end: b)
        }
    }

    static func mask(_ length: UInt8, bytes: Int) -> [UInt8] {
        (0..<bytes).map { i in
            let bits = max(0, min(8, Int(length) - 8 * i))
            return bits == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bits))
        }
    }

    /// The prefix length of a contiguous mask.
    static func prefixLength(_ mask: [UInt8]) -> UInt8? {
        var length = 0
        var ended = false
        for byte in mask {
            for bit in (0..<8).reversed() {
                if byte & (1 << bit) != 0 {
                    if ended { return nil }
                    length += 1
                } else {
                    ended = true
                }
            }
        }
        return UInt8(length)
    }

    /// RFC 3947 §3.2: HASH(CKY-I | CKY-R | IP | Port), with the negotiated hash.
    static func natDiscovery(_ hash: PRF, cookieI: UInt64, cookieR: UInt64, _ endpoint: Endpoint) -> [UInt8] {
        var data = cookieI.bigEndianBytes + cookieR.bigEndianBytes
        data += endpoint.address.bytes
        data += [UInt8(endpoint.port >> 8), UInt8(truncatingIfNeeded: endpoint.port)]
        return hash.hash(data)
    }
}
