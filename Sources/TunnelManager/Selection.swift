import IKECore
import IKEWire

/// Which tunnels an `activate` or `remove` is about (`numlist`, `namelist`, `remid`,
/// `ipaddr`; none of them, or `autostart`: the `start 'auto'` tunnels).
public struct Selection: Equatable, Sendable {
    public var numbers: [TunnelNumber] = []
    public var names: [String] = []
    public var remoteID: Identity? = nil
    public var addresses: (local: IPAddress, remote: IPAddress)? = nil
    public var autostart = false

    public init() {}

    public var isEmpty: Bool {
        numbers.isEmpty && names.isEmpty && remoteID == nil && addresses == nil
    }

    public static func == (a: Selection, b: Selection) -> Bool {
        a.numbers == b.numbers && a.names == b.names && a.remoteID == b.remoteID && a.autostart == b.autostart
            && a.addresses?.local == b.addresses?.local && a.addresses?.remote == b.addresses?.remote
    }
}

/// Why a tunnel operation was refused; the message says what to do.
public struct TunnelError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
