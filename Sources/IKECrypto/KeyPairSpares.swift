import COpenSSL
import IKEWire

/// Key pairs made ahead, one per group an engine's negotiations have used: the next
/// IKE_SA_INIT, CREATE_CHILD_SA KE or Quick Mode of that group takes one instead of
/// generating its own between a request and its answer (an X25519 pair takes about 40 µs
/// on a 2-core x86_64, a MODP one milliseconds). The work is the same, done once the
/// daemon's answers are out (`prepare`), while nobody waits for it. Each pair is used once.
public final class KeyPairSpares {
    private var ready: [(group: DHGroup, key: OpaquePointer, publicValue: [UInt8])] = []
    /// The groups taken or asked for since the start: those `prepare` keeps a pair of.
    private var used: [DHGroup] = []

    public init() {}

    deinit { for spare in ready { EVP_PKEY_free(spare.key) } }

    /// The group's spare pair, which is no longer kept; nil when none is ready. Either way
    /// the group gets one at the next `prepare`.
    func take(_ group: DHGroup) -> (OpaquePointer, [UInt8])? {
        if !used.contains(group) { used.append(group) }
        guard let i = ready.firstIndex(where: { $0.group == group }) else { return nil }
        let spare = ready.remove(at: i)
        return (spare.key, spare.publicValue)
    }

    /// Makes a pair for each group used that has none ready.
    public func prepare() {
        for group in used where !ready.contains(where: { $0.group == group }) {
            guard let kind = KeyExchange.kind(group), let (key, value) = try? KeyExchange.generatePair(kind) else { continue }
            ready.append((group, key, value))
        }
    }

    /// How many pairs are ready.
    public var count: Int { ready.count }
}
