import IKECrypto
import IKEWire

/// Pre-shared key authentication (RFC 7296 §2.15):
///
///     AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
///     InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload)
///     ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload)
enum Authentication {
    static let sharedKeyMIC: UInt8 = 2
    static let keyPad = Array("Key Pad for IKEv2".utf8)

    static func psk(prf: PRF, psk: SecretBytes, message: [UInt8], nonce: [UInt8], idKey: SecretBytes, idBody: [UInt8]) -> [UInt8] {
        let macedID = prf.compute(key: idKey, data: idBody)
        let padded = SecretBytes(prf.compute(key: psk, data: keyPad))
        return prf.compute(key: padded, data: message + nonce + macedID)
    }

    /// The ID payload for an identity (never `%any`).
    static func payload(_ id: Identity, initiator: Bool) -> IKEv2Payload {
        let data: [UInt8]
        switch id {
        case let .address(a): data = a.bytes
        case let .fqdn(name): data = Array(name.utf8)
        case let .rfc822(mail): data = Array(mail.utf8)
        case let .distinguishedName(dn): data = Array(dn.utf8)
        case let .keyID(bytes): data = bytes
        case .any: data = []
        }
        return .identification(initiator: initiator, type: id.idType, data: data)
    }

    /// The identity an ID payload carries; nil for a type we do not take (DER DNs come
    /// with cpsd).
    static func identity(type: UInt8, data: [UInt8]) -> Identity? {
        switch type {
        case 1, 5: return data.withUnsafeBytes { IPAddress(bytes: $0) }.map { .address($0) }
        case 2: return .fqdn(String(decoding: data, as: UTF8.self))
        case 3: return .rfc822(String(decoding: data, as: UTF8.self))
        case 11: return .keyID(data)
        default: return nil
        }
    }

    /// Whether `presented` satisfies what the policy expects of the peer.
    static func matches(_ expected: Identity, _ presented: Identity) -> Bool {
        expected == .any || expected == presented
    }
}

/// NAT detection hashes (RFC 7296 §2.23): SHA-1(SPIi | SPIr | IP | Port).
enum NATDetection {
    static func hash(spiI: UInt64, spiR: UInt64, _ endpoint: Endpoint) -> [UInt8] {
        var data: [UInt8] = []
        for spi in [spiI, spiR] { for k in 0..<8 { data.append(UInt8(truncatingIfNeeded: spi >> (56 - 8 * UInt64(k)))) } }
        data += endpoint.address.bytes
        data += [UInt8(endpoint.port >> 8), UInt8(truncatingIfNeeded: endpoint.port)]
        return Digest.sha1(data)
    }

    static func payloads(spiI: UInt64, spiR: UInt64, local: Endpoint, remote: Endpoint) -> [IKEv2Payload] {
        [.notify(NotifyPayload(.natDetectionSourceIP, data: hash(spiI: spiI, spiR: spiR, local))),
         .notify(NotifyPayload(.natDetectionDestinationIP, data: hash(spiI: spiI, spiR: spiR, remote)))]
    }

    /// True when the peer's hashes show a NAT between us (either side translated).
    static func detected(_ message: IKEv2Message, spiI: UInt64, spiR: UInt64, local: Endpoint, remote: Endpoint) -> Bool {
        let sources = message.notifies().filter { $0.type == .natDetectionSourceIP }.map { $0.data }
        guard let destination = message.notify(.natDetectionDestinationIP)?.data, !sources.isEmpty else { return false }
        let peerBehindNAT = !sources.contains(hash(spiI: spiI, spiR: spiR, remote))
        let weBehindNAT = destination != hash(spiI: spiI, spiR: spiR, local)
        return peerBehindNAT || weBehindNAT
    }
}

/// Traffic selectors: our offer, and the narrowing of RFC 7296 §2.9.
enum Selectors {
    static func host(_ a: IPAddress) -> TrafficSelector { TrafficSelector(start: a, end: a) }

    /// The intersection of two selectors, nil when empty.
    static func intersect(_ a: TrafficSelector, _ b: TrafficSelector) -> TrafficSelector? {
        guard a.start.isV4 == b.start.isV4 else { return nil }
        guard a.ipProtocol == 0 || b.ipProtocol == 0 || a.ipProtocol == b.ipProtocol else { return nil }
        let start = compare(a.start, b.start) >= 0 ? a.start : b.start
        let end = compare(a.end, b.end) <= 0 ? a.end : b.end
        guard compare(start, end) <= 0 else { return nil }
        let lowPort = max(a.startPort, b.startPort), highPort = min(a.endPort, b.endPort)
        guard lowPort <= highPort else { return nil }
        return TrafficSelector(ipProtocol: max(a.ipProtocol, b.ipProtocol), startPort: lowPort, endPort: highPort, start: start, end: end)
    }

    /// Narrows what the peer offered to what we allow; empty when nothing is common.
    static func narrow(offered: [TrafficSelector], allowed: [TrafficSelector]) -> [TrafficSelector] {
        var out: [TrafficSelector] = []
        for o in offered {
            for a in allowed {
                if let i = intersect(o, a), !out.contains(i) { out.append(i) }
            }
        }
        return out
    }

    static func compare(_ a: IPAddress, _ b: IPAddress) -> Int {
        let x = a.bytes, y = b.bytes
        for i in 0..<min(x.count, y.count) where x[i] != y[i] { return x[i] < y[i] ? -1 : 1 }
        return 0
    }

    /// Whether every selector of `inner` lies inside one of `outer`.
    static func within(_ inner: [TrafficSelector], _ outer: [TrafficSelector]) -> Bool {
        inner.allSatisfy { i in outer.contains { o in intersect(i, o) == i } }
    }
}
