import IKEWire

/// An engine's policies by the peer address they name, and the `remote_address 'any'`
/// templates apart: what a responder considers for a peer's first message costs the same
/// with 20,000 configured peers as with one.
public struct PolicyIndex {
    private var byPeer: [IPAddress: [EnginePolicy]] = [:]
    private var templates: [EnginePolicy] = []

    public init(_ policies: [EnginePolicy] = []) {
        for p in policies {
            if let peer = p.remoteAddress { byPeer[peer, default: []].append(p) } else { templates.append(p) }
        }
    }

    /// The policies that may apply to `peer`: those naming its address first, then the
    /// templates, each in configuration order.
    public func candidates(for peer: IPAddress) -> [EnginePolicy] {
        guard let named = byPeer[peer] else { return templates }
        return templates.isEmpty ? named : named + templates
    }

    /// Whether a tunnel names `peer` (room is kept for it when a flood fills the
    /// half-open table).
    public func names(_ peer: IPAddress) -> Bool { byPeer[peer] != nil }
}
