import IKEWire

/// What the kernel tells the daemon on its own.
public enum KernelEvent: Equatable, Sendable {
    /// A packet matched a policy that has no SA yet (a `start 'trap'` tunnel's).
    case acquire(source: Subnet, destination: Subnet)
    /// An SA reached its soft (rekey) or hard (gone) lifetime.
    case expire(SAIdentifier, reqid: UInt32, hard: Bool)
    /// The SAs and policies of `reqid` were moved (XFRM_MSG_MIGRATE, by another program
    /// such as a mobility daemon) from the tunnel endpoints `from` to `to`.
    case migrate(reqid: UInt32, from: Endpoints, to: Endpoints)

    /// A tunnel's outer addresses, as one of its policy templates names them.
    public struct Endpoints: Equatable, Sendable, CustomStringConvertible {
        public var source: IPAddress
        public var destination: IPAddress

        public init(source: IPAddress, destination: IPAddress) {
            self.source = source
            self.destination = destination
        }

        public var description: String { "\(source) -> \(destination)" }
    }
}
