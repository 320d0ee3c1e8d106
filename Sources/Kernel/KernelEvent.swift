import IKEWire

/// What the kernel tells the daemon on its own.
public enum KernelEvent: Equatable, Sendable {
    /// A packet matched a policy that has no SA yet (a `start 'trap'` tunnel's).
    case acquire(source: Subnet, destination: Subnet)
    /// An SA reached its soft (rekey) or hard (gone) lifetime.
    case expire(SAIdentifier, reqid: UInt32, hard: Bool)
}
