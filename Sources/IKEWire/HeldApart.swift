/// A stored property that is rarely set, kept in an object of its own: its owner pays one
/// pointer for it rather than its whole size (an IKE SA's request in flight is 65 bytes,
/// and an established SA has none most of the time). Reads and writes are the value's,
/// copies too: a write reuses the box only when no copy shares it.
@propertyWrapper
public struct HeldApart<Value> {
    private final class Box {
        var value: Value
        init(_ value: Value) { self.value = value }
    }

    private var box: Box?

    public init(wrappedValue: Value?) {
        box = wrappedValue.map { Box($0) }
    }

    public var wrappedValue: Value? {
        get { box?.value }
        set {
            guard let newValue else { box = nil; return }
            if box != nil, isKnownUniquelyReferenced(&box!) { box!.value = newValue } else { box = Box(newValue) }
        }
    }
}
