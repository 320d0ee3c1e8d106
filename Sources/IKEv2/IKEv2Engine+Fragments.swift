import IKECore
import IKECrypto
import IKEWire

/// IKEv2 fragmentation (RFC 7383): announced in IKE_SA_INIT; protected messages longer
/// than `fragmentSize` (the IP datagram) leave in SKF fragments, each encrypted on its
/// own; fragments that arrive are authenticated one by one and reassembled within
/// bounds (`IKESA.maxFragments`, `IKESA.maxReassembledOctets`, 30 seconds).
extension IKEv2Engine {
    static let fragmentationSupported = NotifyPayload(.fragmentationSupported)
    /// A reassembly that has not completed in this long is dropped.
    static let reassemblyLifetime: Interval = .seconds(30)

    /// Both sides announced fragmentation: the largest IKE message we send whole. IP and
    /// UDP headers and the non-ESP marker come off the datagram size.
    func agreeOnFragmentation(_ sa: IKESA, _ peerPayloads: [IKEv2Payload]) {
        let announced = peerPayloads.contains { if case let .notify(n) = $0 { return n.type == .fragmentationSupported }; return false }
        guard announced else { return }
        sa.fragmentLimit = UInt16(clamping: fragmentSize - (sa.remote.address.isV4 ? 20 : 40) - 8 - 4)
    }

    /// Takes one SKF fragment. True when it completed its message (the payloads wait in
    /// `sa.reassembled` for `decrypt`); false when there is nothing more to do now.
    func reassemble(_ sa: IKESA, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) -> Bool {
        guard case let .encryptedFragment(first, number, total, _)? = message.payloads.first else { return false }
        let id = message.header.messageID, response = message.isResponse
        counters.fragmentsReceived += 1
        if !response, let last = sa.lastResponse, last.messageID == id {
            // §2.6.1: a retransmitted request is answered once, on its first fragment.
            if number == 1 { answerAgain(sa, last) }
            return false
        }
        guard sa.fragmentLimit != nil, Int(total) <= IKESA.maxFragments else {
            counters.fragmentsDropped += 1
            log(.debug, "fragment \(number)/\(total) from \(sa.remote) dropped: \(sa.fragmentLimit == nil ? "fragmentation was not negotiated" : "too many fragments")")
            return false
        }
        if response ? sa.pending?.messageID != id : id != sa.peerRequestID {
            counters.badMessageID += 1
            return false
        }
        let piece: [UInt8]
        do throws(IKEv2Error) { piece = try sa.openFragment(raw, message) } catch {
            counters.integrityFailures += 1
            log(.debug, "fragment \(number)/\(total) from \(sa.remote) refused: \(error)")
            return false
        }
        var r = sa.reassembly ?? IKESA.Reassembly(messageID: id, response: response, total: total, startedAt: now)
        if r.messageID != id || r.response != response || r.total != total {
            // Another message, or the peer fragmented it anew (smaller, §2.5.4): start over.
            if !r.pieces.isEmpty { counters.fragmentsDropped += UInt64(r.pieces.count) }
            r = IKESA.Reassembly(messageID: id, response: response, total: total, startedAt: now)
        }
        guard r.pieces[number] == nil else { return false }  // a duplicate
        r.octets += piece.count
        guard r.octets <= IKESA.maxReassembledOctets else {
            counters.fragmentsDropped += UInt64(r.pieces.count + 1)
            log(.information, "message \(id) from \(sa.remote) exceeds \(IKESA.maxReassembledOctets) octets in fragments; dropped")
            sa.reassembly = nil
            return false
        }
        r.pieces[number] = piece
        if number == 1 { r.first = first }
        sa.lastHeard = now
        guard r.pieces.count == Int(total) else {
            sa.reassembly = r
            return false
        }
        sa.reassembly = nil
        var inner: [UInt8] = []
        for n in 1...total { inner += r.pieces[n] ?? [] }
        do throws(IKEv2Error) {
            sa.reassembled = try IKESA.parseChain(inner, first: r.first)
        } catch {
            counters.malformed += 1
            log(.debug, "reassembled message \(id) from \(sa.remote) does not parse: \(error)")
            return false
        }
        return true
    }

    /// Drops a reassembly that has waited too long.
    func expireReassembly(_ sa: IKESA, now: Instant) {
        guard let r = sa.reassembly, now - r.startedAt >= IKEv2Engine.reassemblyLifetime else { return }
        counters.fragmentsDropped += UInt64(r.pieces.count)
        sa.reassembly = nil
    }
}

/// The length field of the IKE header at `at`; 0 when there is no whole header.
func ikeMessageLength(_ bytes: [UInt8], at: Int = 0) -> Int {
    guard bytes.count - at >= ISAKMPHeader.size else { return 0 }
    return Int(bytes[at + 24]) << 24 | Int(bytes[at + 25]) << 16 | Int(bytes[at + 26]) << 8 | Int(bytes[at + 27])
}

/// The IKE messages in `bytes`, one after another (the fragments of one message, as
/// sealed and kept for retransmission): each header gives its length.
func ikeMessages(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var out: [ArraySlice<UInt8>] = []
    var at = 0
    while bytes.count - at >= ISAKMPHeader.size {
        let length = ikeMessageLength(bytes, at: at)
        guard length >= ISAKMPHeader.size, length <= bytes.count - at else { break }
        out.append(bytes[at..<(at + length)])
        at += length
    }
    if at == 0 { return [bytes[...]] }
    return out
}
