import IKECrypto
import IKEWire

/// The kernel as the Tunnel Manager sees it: the seed's "kernel tunnel cache" (SAs,
/// step 6) and "kernel dynamic filter table" (policies, step 7). Netlink implements it
/// over XFRM; `MemoryKernel` is the in-memory kernel of the tests; `NoKernel` serves
/// `option kernel 'none'`.
public protocol IPsecKernel: AnyObject {
    /// What `ike cmd=status` and the logs call this kernel.
    var name: String { get }
    func addSA(_ sa: SecurityAssociation) throws(KernelError)
    func deleteSA(_ id: SAIdentifier) throws(KernelError)
    func addPolicy(_ policy: Policy) throws(KernelError)
    func deletePolicy(_ id: PolicyIdentifier) throws(KernelError)
    /// Traffic through an SA so far; nil when the kernel keeps none (`kernel 'none'`).
    func counters(_ id: SAIdentifier) -> SACounters?
}

/// Bytes and packets an SA has carried.
public struct SACounters: Equatable, Sendable {
    public var bytes: UInt64
    public var packets: UInt64

    public init(bytes: UInt64, packets: UInt64) {
        self.bytes = bytes
        self.packets = packets
    }
}

/// A failed kernel operation: which one, and the errno text.
public struct KernelError: Error, Equatable, CustomStringConvertible {
    public let operation: String
    /// The kernel's errno, or with `libnl` one of libnl's own error codes (which are not
    /// errnos: libnl's 26 is "Protocol mismatch", errno 26 "Text file busy").
    public let errno: Int32
    public let message: String
    public let libnl: Bool

    public init(operation: String, errno: Int32, message: String, libnl: Bool = false) {
        self.operation = operation
        self.errno = errno
        self.message = message
        self.libnl = libnl
    }

    public var description: String { "\(operation): \(message) (\(libnl ? "libnl error" : "errno") \(errno))" }
}

public enum IPsecMode: String, Sendable {
    case tunnel, transport
}

/// An SA is found by its destination, SPI and protocol (ESP).
public struct SAIdentifier: Hashable, CustomStringConvertible, Sendable {
    public var destination: IPAddress
    public var spi: UInt32

    public init(destination: IPAddress, spi: UInt32) {
        self.destination = destination
        self.spi = spi
    }

    public var description: String { "esp spi \(Hex.prefixed(spi)) dst \(destination)" }
}

/// One ESP SA, in one direction.
public struct SecurityAssociation: CustomStringConvertible {
    public var id: SAIdentifier
    public var source: IPAddress
    /// Ties the SA to its policies; the daemon's own range marks its state as its own.
    public var reqid: UInt32
    public var mode: IPsecMode
    public var cipher: Cipher
    public var integrity: IntegrityAlgorithm?
    /// Encryption key, with the salt appended for AES-GCM and ChaCha20-Poly1305.
    public var encryptionKey: SecretBytes
    public var integrityKey: SecretBytes?
    /// UDP encapsulation ports (NAT-T), when negotiated.
    public var encapsulation: (source: UInt16, destination: UInt16)?
    public var softLifetimeSeconds: UInt32
    public var hardLifetimeSeconds: UInt32
    public var replayWindow: UInt32
    /// 64-bit extended sequence numbers (RFC 4303 §2.2.1).
    public var extendedSequenceNumbers = false

    public init(id: SAIdentifier, source: IPAddress, reqid: UInt32, mode: IPsecMode, cipher: Cipher,
                integrity: IntegrityAlgorithm?, encryptionKey: SecretBytes, integrityKey: SecretBytes?,
                encapsulation: (source: UInt16, destination: UInt16)?, softLifetimeSeconds: UInt32,
                hardLifetimeSeconds: UInt32, replayWindow: UInt32 = 64) {
        self.id = id
        self.source = source
        self.reqid = reqid
        self.mode = mode
        self.cipher = cipher
        self.integrity = integrity
        self.encryptionKey = encryptionKey
        self.integrityKey = integrityKey
        self.encapsulation = encapsulation
        self.softLifetimeSeconds = softLifetimeSeconds
        self.hardLifetimeSeconds = hardLifetimeSeconds
        self.replayWindow = replayWindow
    }

    public var description: String { "\(id) src \(source) reqid \(reqid) \(mode.rawValue) \(cipher)" }
}

public enum PolicyDirection: String, CaseIterable, Sendable {
    case outbound = "out", inbound = "in", forward = "fwd"
}

/// A policy is found by its selector and direction.
public struct PolicyIdentifier: Hashable, CustomStringConvertible, Sendable {
    public var source: Subnet
    public var destination: Subnet
    public var direction: PolicyDirection

    public init(source: Subnet, destination: Subnet, direction: PolicyDirection) {
        self.source = source
        self.destination = destination
        self.direction = direction
    }

    public var description: String { "\(source) -> \(destination) \(direction.rawValue)" }
}

/// A policy: traffic matching the selector must use the SAs of `reqid` between the
/// template's endpoints.
public struct Policy: Equatable, CustomStringConvertible, Sendable {
    public var id: PolicyIdentifier
    public var templateSource: IPAddress
    public var templateDestination: IPAddress
    public var reqid: UInt32
    public var mode: IPsecMode
    public var priority: UInt32
    /// The outbound policy of a `start 'trap'` tunnel, which takes over the selector from
    /// the tunnel's trap policy (and only from it).
    public var replacesTrap = false

    public init(id: PolicyIdentifier, templateSource: IPAddress, templateDestination: IPAddress, reqid: UInt32,
                mode: IPsecMode, priority: UInt32) {
        self.id = id
        self.templateSource = templateSource
        self.templateDestination = templateDestination
        self.reqid = reqid
        self.mode = mode
        self.priority = priority
    }

    public var description: String { "\(id) tmpl \(templateSource) -> \(templateDestination) reqid \(reqid)" }
}
