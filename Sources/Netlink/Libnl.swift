import CNetlink

/// libnl, through which the Netlink module programs XFRM states and policies.
public enum Libnl {
    /// The linked library's version, e.g. `libnl 3.7.0`.
    public static var version: String { "libnl \(nl_ver_maj).\(nl_ver_min).\(nl_ver_mic)" }
}
