import CLibc
import IKEWire

/// Route lookups: which local address the kernel would send from.
public enum Routing {
    /// The source address toward `remote`, nil when there is no route.
    public static func sourceAddress(toward remote: IPAddress) -> IPAddress? {
        var to = Endpoint(remote, 500).raw
        var from = ike_endpoint()
        guard ike_route_source(&to, &from) == 0 else { return nil }
        return Endpoint(raw: from)?.address
    }
}
