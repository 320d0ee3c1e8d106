import IKECore
import IKEWire
import TunnelManager
import UCI

/// `ike cmd=list configured`: every tunnel of the configuration, whether or not it is in
/// the tunnel table (as `swanctl --list-conns` lists connections), with the numbers and
/// status of the tunnels it has now.
public enum ConfiguredListing {
    public static let header = "Name                Version  Start   Remote Address            Tun Id  Status"
    static let columns = [0, 20, 29, 37, 63, 71]

    /// One configured tunnel and what runs of it now.
    public struct Row {
        public let config: TunnelConfig
        public let tunnels: [Tunnel]
        /// The number of the tunnel when `dpd_action 'hold'` holds its traffic.
        public let held: TunnelNumber?

        /// `Disabled`, `Held` (its peer died and a trap holds its traffic), `Inactive`
        /// (nothing in the table), the one tunnel's status (phase 2's when it was
        /// requested), or how many instances a responder template has.
        public var status: String {
            if !config.enabled { return "Disabled" }
            guard let first = tunnels.first else { return held == nil ? "Inactive" : "Held" }
            if tunnels.count > 1 { return "\(tunnels.count) tunnels" }
            return (first.phase1Status == .active ? first.phase2Status ?? .active : first.phase1Status).rawValue
        }
    }

    public static func rows(_ configuration: Configuration, _ tunnels: [Tunnel], held: [String: TunnelNumber] = [:],
                            names: [String]) -> [Row] {
        var byName: [String: [Tunnel]] = [:]
        for t in tunnels { byName[t.name, default: []].append(t) }
        return configuration.tunnels.filter { names.isEmpty || names.contains($0.name) }
            .map { Row(config: $0, tunnels: byName[$0.name] ?? [], held: held[$0.name]) }
    }

    /// The numbers of what runs of the tunnel now: its tunnels, or the held one.
    static func numbers(_ row: Row) -> [TunnelNumber] {
        row.tunnels.isEmpty ? (row.held.map { [$0] } ?? []) : row.tunnels.map { $0.number }
    }

    public static func table(_ rows: [Row]) -> String {
        var out = header + "\n"
        for row in rows {
            let c = row.config
            let running = numbers(row)
            let column = running.isEmpty ? "-" : running.map { $0.description }.joined(separator: ",")
            out += TunnelListing.line([c.name, c.version.rawValue, c.start.rawValue, c.remoteAddress.description, column, row.status],
                                      columns: columns)
        }
        return out
    }

    public static func json(_ rows: [Row]) -> String {
        let items = rows.map { row -> String in
            let c = row.config
            return JSON.object([
                ("name", JSON.string(c.name)),
                ("enabled", c.enabled ? "true" : "false"),
                ("version", c.version.rawValue),
                ("start", JSON.string(c.start.rawValue)),
                ("remote_address", JSON.string(c.remoteAddress.description)),
                ("local_address", JSON.optional(c.localAddress?.description)),
                ("remote_id", JSON.string(c.remoteID.description)),
                ("tunnels", "[" + numbers(row).map { $0.description }.joined(separator: ", ") + "]"),
                ("status", JSON.string(row.status)),
            ])
        }
        return "[" + items.joined(separator: ",\n ") + "]\n"
    }
}
