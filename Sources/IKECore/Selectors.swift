import IKEWire

/// Traffic selectors: our offer, and the narrowing of RFC 7296 §2.9 (IKEv1's Quick Mode
/// takes what lies inside what is allowed, unnarrowed).
public enum Selectors {
    public static func host(_ a: IPAddress) -> TrafficSelector { TrafficSelector(start: a, end: a) }

    /// The intersection of two selectors, nil when empty.
    public static func intersect(_ a: TrafficSelector, _ b: TrafficSelector) -> TrafficSelector? {
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
    public static func narrow(offered: [TrafficSelector], allowed: [TrafficSelector]) -> [TrafficSelector] {
        var out: [TrafficSelector] = []
        for o in offered {
            for a in allowed {
                if let i = intersect(o, a), !out.contains(i) { out.append(i) }
            }
        }
        return out
    }

    public static func compare(_ a: IPAddress, _ b: IPAddress) -> Int {
        let x = a.bytes, y = b.bytes
        for i in 0..<min(x.count, y.count) where x[i] != y[i] { return x[i] < y[i] ? -1 : 1 }
        return 0
    }

    /// Whether every selector of `inner` lies inside one of `outer`.
    public static func within(_ inner: [TrafficSelector], _ outer: [TrafficSelector]) -> Bool {
        inner.allSatisfy { i in outer.contains { o in intersect(i, o) == i } }
    }
}

extension Selectors {
    /// `selectors` as `held` (the policy's) when they are the same: a hub's own side is
    /// the same for each of its thousands of CHILD_SAs, which then share the policy's one
    /// array instead of holding a copy each.
    public static func interned(_ selectors: [TrafficSelector], _ held: [TrafficSelector]) -> [TrafficSelector] {
        selectors == held ? held : selectors
    }
}
