/// How the daemon treats the kernel (`option kernel` of interface.md).
public enum KernelMode: CaseIterable, CustomStringConvertible, Sendable {
    /// Program SAs and policies through netlink XFRM.
    case xfrm
    /// Negotiate and report, install nothing: for tests and load benchmarks on kernels
    /// without ESP.
    case none

    public var description: String {
        switch self {
        case .xfrm: return "xfrm"
        case .none: return "none"
        }
    }
}
