/// The `/etc/config/ike` parser and canonical printer. Built by the configuration issue.
public enum UCI {
    /// Where the daemon reads its configuration unless `--config` says otherwise.
    public static let defaultPath = "/etc/config/ike"
}
