import IKEWire

/// One loaded certificate as `ike cmd=list certs` shows it.
public struct CertificateInfo: Equatable, Sendable {
    /// local, intermediate, ca or remote (a pinned peer certificate).
    public var role: String
    public var subject: Identity
    public var issuer: Identity
    public var serial: String
    /// Validity, seconds since 1970 (UTC).
    public var notBefore: Int64
    public var notAfter: Int64
    public var keyType: String
    public var alternativeNames: [Identity]
    public var tunnels: [String]

    public init(role: String, subject: Identity, issuer: Identity, serial: String, notBefore: Int64, notAfter: Int64,
                keyType: String, alternativeNames: [Identity], tunnels: [String]) {
        self.role = role
        self.subject = subject
        self.issuer = issuer
        self.serial = serial
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.keyType = keyType
        self.alternativeNames = alternativeNames
        self.tunnels = tunnels
    }
}
