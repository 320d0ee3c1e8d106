/// An index that keeps under each key almost always one value and now and then several:
/// the tunnel table's numbers by name, an engine's SAs by peer, one entry per tunnel on a
/// hub. The first value of each key is held in the dictionary itself (8 bytes of value
/// for an SA's SPI, where a one-or-a-set enum took 16), the others apart, for the few keys
/// that have them.
public struct MultiIndex<Key: Hashable, Element: Hashable> {
    private var firsts: [Key: Element] = [:]
    /// The values beyond the first, by key.
    private var others: [Key: Set<Element>] = [:]

    public init() {}

    /// The values under `key`, in no particular order.
    public func elements(under key: Key) -> [Element] {
        guard let first = firsts[key] else { return [] }
        guard let rest = others[key] else { return [first] }
        return [first] + Array(rest)
    }

    /// The first value under `key` that `matches`, without copying the others.
    public func first(under key: Key, where matches: (Element) -> Bool) -> Element? {
        guard let first = firsts[key] else { return nil }
        if matches(first) { return first }
        return others[key]?.first(where: matches)
    }

    public func contains(_ key: Key) -> Bool { firsts[key] != nil }

    /// Adds `element` to the values under `key`.
    public mutating func insert(_ element: Element, under key: Key) {
        guard let first = firsts[key] else {
            firsts[key] = element
            return
        }
        if first != element { others[key, default: []].insert(element) }
    }

    /// Removes `element` from the values under `key`, and the key with its last value.
    public mutating func remove(_ element: Element, under key: Key) {
        guard let first = firsts[key] else { return }
        // Out of the dictionary while it changes, so that the set is not copied.
        var rest = others.removeValue(forKey: key) ?? []
        if first == element {
            firsts[key] = rest.popFirst()
        } else {
            rest.remove(element)
        }
        if !rest.isEmpty { others[key] = rest }
    }
}
