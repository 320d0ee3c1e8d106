import IKECore
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
        var pad = keyPad
        let padded = prf.secret(key: psk, wiping: &pad)
        return prf.compute(key: padded, data: message + nonce + macedID)
    }

    /// The ID payload for an identity (never `%any`).
    static func payload(_ id: Identity, initiator: Bool) -> IKEv2Payload {
        .identification(initiator: initiator, type: id.idType, data: id.data)
    }

    static func identity(type: UInt8, data: [UInt8]) -> Identity? { Identity(idType: type, data: data) }

    /// Whether `presented` satisfies what the policy expects of the peer.
    static func matches(_ expected: Identity, _ presented: Identity) -> Bool { expected.accepts(presented) }
}

/// NAT detection hashes (RFC 7296 §2.23): SHA-1(SPIi | SPIr | IP | Port).
enum NATDetection {
    static func hash(spiI: UInt64, spiR: UInt64, _ endpoint: Endpoint) -> [UInt8] {
        var data = spiI.bigEndianBytes + spiR.bigEndianBytes
        data += endpoint.address.bytes
        data += [UInt8(endpoint.port >> 8), UInt8(truncatingIfNeeded: endpoint.port)]
        return Digest.sha1(data)
    }

    static func payloads(spiI: UInt64, spiR: UInt64, local: Endpoint, remote: Endpoint) -> [IKEv2Payload] {
        [.notify(NotifyPayload(.natDetectionSourceIP, data: hash(spiI: spiI, spiR: spiR, local))),
         .notify(NotifyPayload(.natDetectionDestinationIP, data: hash(spiI: spiI, spiR: spiR, remote)))]
    }

    /// What the peer's hashes show: a NAT between us (either side translated), and
    /// whether it is in front of us (the peer saw another address than ours).
    static func detected(_ message: IKEv2Message, spiI: UInt64, spiR: UInt64, local: Endpoint, remote: Endpoint) -> (any: Bool, local: Bool) {
        let sources = message.notifies().filter { $0.type == .natDetectionSourceIP }.map { $0.data }
        guard let destination = message.notify(.natDetectionDestinationIP)?.data, !sources.isEmpty else { return (false, false) }
        let peerBehindNAT = !sources.contains(hash(spiI: spiI, spiR: spiR, remote))
        let weBehindNAT = destination != hash(spiI: spiI, spiR: spiR, local)
        return (peerBehindNAT || weBehindNAT, weBehindNAT)
    }
}
