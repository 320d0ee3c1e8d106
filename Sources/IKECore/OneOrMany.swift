/// What an index keeps under one key: almost always one value, held inline (no
/// allocation of its own), now and then a set of them. The tunnel table's numbers by name
/// and an engine's SAs by peer are indexes of this kind: one entry per tunnel on a hub.
public enum OneOrMany<Element: Hashable> {
    case one(Element)
    case many(Set<Element>)

    /// The values, in no particular order.
    public var elements: [Element] {
        switch self {
        case let .one(e): return [e]
        case let .many(set): return Array(set)
        }
    }

    /// The first value that `matches`, without copying the others.
    public func first(where matches: (Element) -> Bool) -> Element? {
        switch self {
        case let .one(e): return matches(e) ? e : nil
        case let .many(set): return set.first(where: matches)
        }
    }
}

extension Dictionary {
    /// Adds `element` to the values under `key`.
    public mutating func insert<E>(_ element: E, under key: Key) where Value == OneOrMany<E> {
        switch self[key] {
        case nil: self[key] = .one(element)
        case let .one(e)?: if e != element { self[key] = .many([e, element]) }
        case var .many(set)?:
            // Out of the dictionary while it changes, so that the set is not copied.
            self[key] = nil
            set.insert(element)
            self[key] = .many(set)
        }
    }

    /// Removes `element` from the values under `key`, and the key with its last value.
    public mutating func remove<E>(_ element: E, under key: Key) where Value == OneOrMany<E> {
        switch self[key] {
        case nil: return
        case let .one(e)?: if e == element { self[key] = nil }
        case var .many(set)?:
            self[key] = nil
            set.remove(element)
            if set.count == 1, let last = set.first {
                self[key] = .one(last)
            } else if !set.isEmpty {
                self[key] = .many(set)
            }
        }
    }
}
