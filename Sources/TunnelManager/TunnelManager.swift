/// The Tunnel Manager (tmd of the AIX flow): owns the tunnel table and drives each
/// tunnel through the seed's seven steps. Built by the configuration/tmd issue.
public enum TunnelManager {}
