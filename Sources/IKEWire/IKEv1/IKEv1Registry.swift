/// IKEv1 registries (RFC 2407, 2408, 2409, 3947, 3706; IANA "ISAKMP" and "IPsec DOI"
/// registries). Values from the wire stay representable; logs print the RFC names.

/// ISAKMP payload types (RFC 2408 §3.1, RFC 3947 §3).
public struct ISAKMPPayloadType: RawRepresentable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let none = ISAKMPPayloadType(rawValue: 0)
    public static let securityAssociation = ISAKMPPayloadType(rawValue: 1)
    public static let proposal = ISAKMPPayloadType(rawValue: 2)
    public static let transform = ISAKMPPayloadType(rawValue: 3)
    public static let keyExchange = ISAKMPPayloadType(rawValue: 4)
    public static let identification = ISAKMPPayloadType(rawValue: 5)
    public static let certificate = ISAKMPPayloadType(rawValue: 6)
    public static let certificateRequest = ISAKMPPayloadType(rawValue: 7)
    public static let hash = ISAKMPPayloadType(rawValue: 8)
    public static let signature = ISAKMPPayloadType(rawValue: 9)
    public static let nonce = ISAKMPPayloadType(rawValue: 10)
    public static let notification = ISAKMPPayloadType(rawValue: 11)
    public static let delete = ISAKMPPayloadType(rawValue: 12)
    public static let vendorID = ISAKMPPayloadType(rawValue: 13)
    public static let natDiscovery = ISAKMPPayloadType(rawValue: 20)
    public static let natOriginalAddress = ISAKMPPayloadType(rawValue: 21)

    public var description: String {
        switch self {
        case .none: return "NONE"
        case .securityAssociation: return "SA"
        case .proposal: return "P"
        case .transform: return "T"
        case .keyExchange: return "KE"
        case .identification: return "ID"
        case .certificate: return "CERT"
        case .certificateRequest: return "CR"
        case .hash: return "HASH"
        case .signature: return "SIG"
        case .nonce: return "NONCE"
        case .notification: return "N"
        case .delete: return "D"
        case .vendorID: return "VID"
        case .natDiscovery: return "NAT-D"
        case .natOriginalAddress: return "NAT-OA"
        default: return "payload(\(rawValue))"
        }
    }
}

/// ISAKMP exchange types (RFC 2408 §3.1, RFC 2409 §5).
public struct ISAKMPExchange: RawRepresentable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let main = ISAKMPExchange(rawValue: 2)
    public static let aggressive = ISAKMPExchange(rawValue: 4)
    public static let informational = ISAKMPExchange(rawValue: 5)
    public static let quick = ISAKMPExchange(rawValue: 32)

    public var description: String {
        switch self {
        case .main: return "Main Mode"
        case .aggressive: return "Aggressive Mode"
        case .informational: return "Informational"
        case .quick: return "Quick Mode"
        default: return "exchange(\(rawValue))"
        }
    }
}

/// ISAKMP header flags (RFC 2408 §3.1).
public enum ISAKMPFlags {
    public static let encryption: UInt8 = 0x01
    public static let commit: UInt8 = 0x02
    public static let authenticationOnly: UInt8 = 0x04
}

/// Notify message types (RFC 2408 §3.14.1, RFC 2407 §4.6.3, RFC 3706).
public struct ISAKMPNotifyType: RawRepresentable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let invalidPayloadType = ISAKMPNotifyType(rawValue: 1)
    public static let invalidCookie = ISAKMPNotifyType(rawValue: 4)
    public static let invalidExchangeType = ISAKMPNotifyType(rawValue: 7)
    public static let invalidMessageID = ISAKMPNotifyType(rawValue: 11)
    public static let noProposalChosen = ISAKMPNotifyType(rawValue: 14)
    public static let payloadMalformed = ISAKMPNotifyType(rawValue: 16)
    public static let invalidKeyInformation = ISAKMPNotifyType(rawValue: 17)
    public static let invalidIDInformation = ISAKMPNotifyType(rawValue: 18)
    public static let invalidHashInformation = ISAKMPNotifyType(rawValue: 23)
    public static let authenticationFailed = ISAKMPNotifyType(rawValue: 24)
    public static let responderLifetime = ISAKMPNotifyType(rawValue: 24576)
    public static let replayStatus = ISAKMPNotifyType(rawValue: 24577)
    public static let initialContact = ISAKMPNotifyType(rawValue: 24578)
    public static let rUThere = ISAKMPNotifyType(rawValue: 36136)
    public static let rUThereAck = ISAKMPNotifyType(rawValue: 36137)

    /// Error types are below 8192 (RFC 2408 §3.14.1).
    public var isError: Bool { rawValue < 8192 }

    public var description: String {
        switch self {
        case .invalidPayloadType: return "INVALID-PAYLOAD-TYPE"
        case .invalidCookie: return "INVALID-COOKIE"
        case .invalidExchangeType: return "INVALID-EXCHANGE-TYPE"
        case .invalidMessageID: return "INVALID-MESSAGE-ID"
        case .noProposalChosen: return "NO-PROPOSAL-CHOSEN"
        case .payloadMalformed: return "PAYLOAD-MALFORMED"
        case .invalidKeyInformation: return "INVALID-KEY-INFORMATION"
        case .invalidIDInformation: return "INVALID-ID-INFORMATION"
        case .invalidHashInformation: return "INVALID-HASH-INFORMATION"
        case .authenticationFailed: return "AUTHENTICATION-FAILED"
        case .responderLifetime: return "RESPONDER-LIFETIME"
        case .replayStatus: return "REPLAY-STATUS"
        case .initialContact: return "INITIAL-CONTACT"
        case .rUThere: return "R-U-THERE"
        case .rUThereAck: return "R-U-THERE-ACK"
        default: return "notify(\(rawValue))"
        }
    }
}

/// Numbers of the IPsec DOI and IKE (RFC 2407 §4, RFC 2409 Appendix A).
public enum IKEv1Number {
    /// The IPsec Domain of Interpretation (RFC 2407 §4.2), and its one situation.
    public static let doiIPsec: UInt32 = 1
    public static let situationIdentityOnly: UInt32 = 1

    /// Protocol IDs (RFC 2407 §4.4.1).
    public static let protocolISAKMP: UInt8 = 1
    public static let protocolESP: UInt8 = 3
    /// The one ISAKMP transform (RFC 2407 §4.4.2).
    public static let keyIKE: UInt8 = 1

    /// Phase 1 attribute types (RFC 2409 Appendix A).
    public enum Phase1 {
        public static let encryption: UInt16 = 1
        public static let hash: UInt16 = 2
        public static let authentication: UInt16 = 3
        public static let group: UInt16 = 4
        public static let lifeType: UInt16 = 11
        public static let lifeDuration: UInt16 = 12
        public static let keyLength: UInt16 = 14
    }

    /// Phase 1 encryption, hash and authentication values.
    public static let encryptionAESCBC: UInt16 = 7
    public static let hashSHA1: UInt16 = 2
    public static let hashSHA2_256: UInt16 = 4
    public static let hashSHA2_384: UInt16 = 5
    public static let hashSHA2_512: UInt16 = 6
    public static let authPreSharedKey: UInt16 = 1
    public static let authRSASignature: UInt16 = 3
    /// ECDSA with SHA-256 on P-256, SHA-384 on P-384, SHA-512 on P-521 (RFC 4754).
    public static let authECDSA256: UInt16 = 9
    public static let authECDSA384: UInt16 = 10
    public static let authECDSA521: UInt16 = 11

    /// IPsec SA attribute types (RFC 2407 §4.5, RFC 4304 for ESN).
    public enum Phase2 {
        public static let lifeType: UInt16 = 1
        public static let lifeDuration: UInt16 = 2
        public static let group: UInt16 = 3
        public static let encapsulationMode: UInt16 = 4
        public static let authentication: UInt16 = 5
        public static let keyLength: UInt16 = 6
        public static let extendedSequenceNumbers: UInt16 = 11
    }

    /// Life types (both phases).
    public static let lifeSeconds: UInt16 = 1
    public static let lifeKilobytes: UInt16 = 2

    /// Encapsulation modes (RFC 2407 §4.5, RFC 3947 §5 for the UDP ones).
    public static let modeTunnel: UInt16 = 1
    public static let modeTransport: UInt16 = 2
    public static let modeUDPTunnel: UInt16 = 3
    public static let modeUDPTransport: UInt16 = 4

    /// ESP transform IDs (RFC 2407 §4.4.4, RFC 4106 §8.1).
    public static let espAESCBC: UInt8 = 12
    public static let espAESGCM16: UInt8 = 20

    /// IPsec authentication algorithms (RFC 2407 §4.5, RFC 4868 §7.2).
    public static let authHMACSHA1: UInt16 = 2
    public static let authHMACSHA2_256: UInt16 = 5
    public static let authHMACSHA2_384: UInt16 = 6
    public static let authHMACSHA2_512: UInt16 = 7

    /// Identification types (RFC 2407 §4.6.2.1).
    public enum IDType {
        public static let ipv4: UInt8 = 1
        public static let fqdn: UInt8 = 2
        public static let userFQDN: UInt8 = 3
        public static let ipv4Subnet: UInt8 = 4
        public static let ipv6: UInt8 = 5
        public static let ipv6Subnet: UInt8 = 6
        public static let ipv4Range: UInt8 = 7
        public static let ipv6Range: UInt8 = 8
        public static let keyID: UInt8 = 11
    }
}

/// Vendor IDs the engine sends and recognises.
public enum IKEv1VendorID {
    /// RFC 3947 NAT-T: MD5("RFC 3947").
    public static let natT: [UInt8] = [0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f]
    /// RFC 3706 DPD: afcad71368a1f1c96b8696fc7757 with major version 1, minor 0.
    public static let deadPeerDetection: [UInt8] = [0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00]
}
