import IKEWire

/// The whole of `/etc/config/ike`, typed, validated and with every default filled in.
public struct Configuration: Equatable, Sendable {
    /// Where the daemon reads its configuration unless `--config` says otherwise.
    public static let defaultPath = "/etc/config/ike"

    public var global = GlobalSettings()
    /// Tunnels in file order; names are unique.
    public var tunnels: [TunnelConfig] = [] { didSet { indexNames() } }
    /// Each name's place in `tunnels` (the first, should two share one): a lookup by name
    /// costs the same with 20,000 tunnels as with one.
    private var places: [String: Int] = [:]

    public init() {}

    public func tunnel(named name: String) -> TunnelConfig? { place(of: name).map { tunnels[$0] } }

    /// Where the tunnel named `name` is in `tunnels`.
    public func place(of name: String) -> Int? { places[name] }

    private mutating func indexNames() {
        places.removeAll(keepingCapacity: true)
        for (i, t) in tunnels.enumerated() where places[t.name] == nil { places[t.name] = i }
    }
}

/// `config ike 'global'`.
public struct GlobalSettings: Equatable, Sendable {
    public var logLevel: LogLevel = .event
    public var syslogFacility = "daemon"
    /// Addresses to bind; empty means all (0.0.0.0 and ::).
    public var listen: [IPAddress] = []
    public var port: UInt16 = 500
    public var nattPort: UInt16 = 4500
    public var socket = "/var/run/ike.sock"
    public var kernel: KernelSetting = .xfrm
    /// What an unauthenticated sender may make the daemon hold (ike.conf(5), "Resources"):
    /// half-open SAs in all (per IKE version) and per source address, the half-open count
    /// from which IKEv2 asks for COOKIEs, IKEv1 Aggressive Modes begun per second, and log
    /// records per second (0: no limit).
    public var halfOpenMax: UInt32 = 1024
    public var halfOpenPerSource: UInt32 = 16
    public var cookieThreshold: UInt32 = 64
    /// RFC 7383: protected IKEv2 messages that would make an IP datagram larger than
    /// this go in fragments, when the peer supports them.
    public var fragmentSize: UInt32 = 1280
    public var aggressiveRate: UInt32 = 100
    public var logRate: UInt32 = 200

    public init() {}
}

/// `option kernel`: program XFRM, or negotiate and install nothing.
public enum KernelSetting: String, CaseIterable, Sendable {
    case xfrm, none
}

public enum IKEVersion: String, CaseIterable, Sendable {
    case v1 = "1", v2 = "2"
}

public enum AuthMethod: String, CaseIterable, Sendable {
    case psk, pubkey
}

/// When our certificate goes into IKE_AUTH.
public enum SendCert: String, CaseIterable, Sendable {
    case always, ifasked, never
}

public enum TunnelMode: String, CaseIterable, Sendable {
    case tunnel, transport
}

public enum StartAction: String, CaseIterable, Sendable {
    case auto, manual, trap
}

public enum DPDAction: String, CaseIterable, Sendable {
    case clear, restart, hold
}

public enum Phase1Exchange: String, CaseIterable, Sendable {
    case main, aggressive
}

/// A tunnel's peer: an address, or `any` for a responder template.
public enum RemoteAddress: Hashable, CustomStringConvertible, Sendable {
    case address(IPAddress)
    /// A DNS name, resolved at each attempt (dynamic DNS).
    case name(String)
    case any

    public var description: String {
        switch self {
        case let .address(a): return a.description
        case let .name(n): return n
        case .any: return "any"
        }
    }
}

/// A pre-shared key; prints as `<redacted>` so it cannot reach a log by accident.
public struct PresharedKey: Equatable, CustomStringConvertible, Sendable {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
}

/// `config tunnel 'NAME'`.
public struct TunnelConfig: Equatable, Sendable {
    public var name: String
    /// The line of its `config` statement, for messages about the whole section.
    public var line: SourceLine
    public var enabled = true
    public var version: IKEVersion = .v2
    /// nil: chosen by route when the tunnel starts.
    public var localAddress: IPAddress? = nil
    /// The OpenWrt logical interface (`wan`) the tunnel runs over: the init script and
    /// the hotplug handler start its `auto` tunnels when that interface comes up. The
    /// daemon itself does not use it.
    public var interface: String? = nil
    public var remoteAddress: RemoteAddress = .any
    /// nil: the local address.
    public var localID: Identity? = nil
    public var remoteID: Identity = .any
    public var auth: AuthMethod = .psk
    public var psk: PresharedKey? = nil
    public var certificate: String? = nil
    public var privateKey: String? = nil
    /// Trust anchors and intermediates: files, or directories of them.
    public var caCertificates: [String] = []
    /// Certificate revocation lists (files), read again on reload.
    public var crls: [String] = []
    public var sendCert: SendCert = .always
    /// A peer certificate to accept and no other (pinning), besides its chain.
    public var remoteCertificate: String? = nil
    /// Where each certificate option was written, for errors about the files they name.
    public var credentialLines: [String: SourceLine] = [:]
    public var ikeProposals: [Proposal] = TunnelConfig.defaultIKEProposals
    public var espProposals: [Proposal] = TunnelConfig.defaultESPProposals
    /// Empty: the tunnel endpoints' own addresses.
    public var localSubnets: [Subnet] = []
    public var remoteSubnets: [Subnet] = []
    public var mode: TunnelMode = .tunnel
    public var ikeLifetime: UInt32 = 28800
    public var lifetime: UInt32 = 3600
    public var start: StartAction = .manual
    public var dpdDelay: UInt32 = 30
    public var dpdAction: DPDAction = .restart
    public var exchange: Phase1Exchange = .main
    /// Negotiation attempts before the tunnel is given up; 0: never. nil (not written):
    /// `start 'auto'` tunnels and tunnels restarted by `dpd_action 'restart'` never give
    /// up, a manual activation is tried once.
    public var keyingTries: UInt32? = nil
    /// Seconds before the first retry of a failed negotiation, doubled each time (with
    /// jitter) up to `retryMaxDelay`.
    public var retryDelay: UInt32 = 5
    public var retryMaxDelay: UInt32 = 300

    public init(name: String, line: Int) {
        self.name = name
        self.line = SourceLine(line)
    }

    /// The modern default suite `ike check` shows when `ike_proposal` is omitted.
    public static let defaultIKEProposals: [Proposal] = [
        try! Proposal.parse("aes256gcm16-prfsha256-x25519-ecp256", kind: .ike).get(),
        try! Proposal.parse("aes256-sha256-x25519-ecp256-modp2048", kind: .ike).get(),
    ]

    /// The default for a `version '1'` tunnel: IKEv1 protects its messages with AES-CBC.
    public static let defaultIKEv1Proposals: [Proposal] = [
        try! Proposal.parse("aes256-sha256-x25519-ecp256-modp2048", kind: .ike).get(),
        try! Proposal.parse("aes128-sha1-modp2048", kind: .ike).get(),
    ]

    /// The default when `esp_proposal` is omitted: no PFS.
    public static let defaultESPProposals: [Proposal] = [
        try! Proposal.parse("aes256gcm16", kind: .esp).get(),
        try! Proposal.parse("aes256-sha256", kind: .esp).get(),
    ]
}

/// Where a section stands in its file. Two configurations that differ only in where
/// things are written are equal: moving a tunnel in the file does not change it.
public struct SourceLine: Equatable, CustomStringConvertible, Sendable {
    public let number: Int
    public init(_ number: Int) { self.number = number }
    public static func == (a: SourceLine, b: SourceLine) -> Bool { true }
    public var description: String { number.description }
}
