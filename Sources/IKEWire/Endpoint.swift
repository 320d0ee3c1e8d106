/// An IP address and UDP port.
public struct Endpoint: Hashable, CustomStringConvertible, Sendable {
    public var address: IPAddress
    public var port: UInt16

    public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `192.0.2.1:500`, `[2001:db8::1]:500`.
    public var description: String {
        address.isV4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}
