/// The control-socket protocol between `ike cmd=...` and the daemon.
public enum Control {
    /// The daemon's control socket unless `--socket`, `socket=` or `IKE_SOCKET` says otherwise.
    public static let defaultSocketPath = "/var/run/ike.sock"
}
