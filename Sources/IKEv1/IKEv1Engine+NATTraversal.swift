import IKECore
import IKECrypto
import IKEWire

/// NAT traversal in phase 1 (RFC 3947): the NAT-D payloads, what they say about a NAT
/// between us, and the initiator's move to UDP 4500.
extension IKEv1Engine {
    /// RFC 3947 §3.2: the first NAT-D hashes the peer's address and port, the second ours.
    func natDiscovery(_ sa: ISAKMPSA) -> [ISAKMPPayload] {
        guard let hash = sa.choice?.hash else { return [] }
        return [.natDiscovery(IKEv1Identities.natDiscovery(hash, cookieI: sa.cookieI, cookieR: sa.cookieR, sa.remote)),
                .natDiscovery(IKEv1Identities.natDiscovery(hash, cookieI: sa.cookieI, cookieR: sa.cookieR, sa.local))]
    }

    /// A NAT is between us when the peer's hash of our address (its first NAT-D) or of
    /// its own (the others) differs from what we see.
    func detectNAT(_ sa: ISAKMPSA, _ payloads: [ISAKMPPayload]) {
        guard sa.peerNATT, let hash = sa.choice?.hash else { return }
        var hashes: [[UInt8]] = []
        for p in payloads { if case let .natDiscovery(h) = p { hashes.append(h) } }
        guard let first = hashes.first else { return }
        let ours = IKEv1Identities.natDiscovery(hash, cookieI: sa.cookieI, cookieR: sa.cookieR, sa.local)
        let theirs = IKEv1Identities.natDiscovery(hash, cookieI: sa.cookieI, cookieR: sa.cookieR, sa.remote)
        sa.behindNAT = first != ours
        sa.natDetected = sa.behindNAT || !hashes.dropFirst().contains(theirs)
        if sa.natDetected { log(.information, "NAT detected between \(sa.local) and \(sa.remote)") }
    }

    /// RFC 3947 §4: behind a NAT the initiator moves to UDP 4500 from its next message on.
    func floatIfNAT(_ sa: ISAKMPSA) {
        guard sa.natDetected, sa.local.port != nattPort else { return }
        sa.local = Endpoint(sa.local.address, nattPort)
        sa.remote = Endpoint(sa.remote.address, nattPort)
    }
}
