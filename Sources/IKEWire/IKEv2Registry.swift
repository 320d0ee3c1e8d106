/// IKEv2 registries (RFC 7296 §3, IANA "IKEv2 Parameters"): unknown values from the wire
/// stay representable; logs print the RFC names.

/// Next Payload / payload type values.
public struct PayloadType: RawRepresentable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let none = PayloadType(rawValue: 0)
    public static let securityAssociation = PayloadType(rawValue: 33)
    public static let keyExchange = PayloadType(rawValue: 34)
    public static let identificationInitiator = PayloadType(rawValue: 35)
    public static let identificationResponder = PayloadType(rawValue: 36)
    public static let certificate = PayloadType(rawValue: 37)
    public static let certificateRequest = PayloadType(rawValue: 38)
    public static let authentication = PayloadType(rawValue: 39)
    public static let nonce = PayloadType(rawValue: 40)
    public static let notify = PayloadType(rawValue: 41)
    public static let delete = PayloadType(rawValue: 42)
    public static let vendorID = PayloadType(rawValue: 43)
    public static let trafficSelectorInitiator = PayloadType(rawValue: 44)
    public static let trafficSelectorResponder = PayloadType(rawValue: 45)
    public static let encrypted = PayloadType(rawValue: 46)
    public static let configuration = PayloadType(rawValue: 47)
    public static let eap = PayloadType(rawValue: 48)
    public static let encryptedFragment = PayloadType(rawValue: 53)

    public var description: String {
        switch self {
        case .none: return "NONE"
        case .securityAssociation: return "SA"
        case .keyExchange: return "KE"
        case .identificationInitiator: return "IDi"
        case .identificationResponder: return "IDr"
        case .certificate: return "CERT"
        case .certificateRequest: return "CERTREQ"
        case .authentication: return "AUTH"
        case .nonce: return "Ni/Nr"
        case .notify: return "N"
        case .delete: return "D"
        case .vendorID: return "V"
        case .trafficSelectorInitiator: return "TSi"
        case .trafficSelectorResponder: return "TSr"
        case .encrypted: return "SK"
        case .configuration: return "CP"
        case .eap: return "EAP"
        case .encryptedFragment: return "SKF"
        default: return "payload(\(rawValue))"
        }
    }
}

public struct ExchangeType: RawRepresentable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let ikeSAInit = ExchangeType(rawValue: 34)
    public static let ikeAuth = ExchangeType(rawValue: 35)
    public static let createChildSA = ExchangeType(rawValue: 36)
    public static let informational = ExchangeType(rawValue: 37)

    public var description: String {
        switch self {
        case .ikeSAInit: return "IKE_SA_INIT"
        case .ikeAuth: return "IKE_AUTH"
        case .createChildSA: return "CREATE_CHILD_SA"
        case .informational: return "INFORMATIONAL"
        default: return "exchange(\(rawValue))"
        }
    }
}

/// Header flags (RFC 7296 §3.1).
public enum HeaderFlags {
    public static let initiator: UInt8 = 0x08
    public static let version: UInt8 = 0x10
    public static let response: UInt8 = 0x20
}

public struct NotifyType: RawRepresentable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let unsupportedCriticalPayload = NotifyType(rawValue: 1)
    public static let invalidIKESPI = NotifyType(rawValue: 4)
    public static let invalidMajorVersion = NotifyType(rawValue: 5)
    public static let invalidSyntax = NotifyType(rawValue: 7)
    public static let invalidMessageID = NotifyType(rawValue: 9)
    public static let invalidSPI = NotifyType(rawValue: 11)
    public static let noProposalChosen = NotifyType(rawValue: 14)
    public static let invalidKEPayload = NotifyType(rawValue: 17)
    public static let authenticationFailed = NotifyType(rawValue: 24)
    public static let singlePairRequired = NotifyType(rawValue: 34)
    public static let noAdditionalSAs = NotifyType(rawValue: 35)
    public static let internalAddressFailure = NotifyType(rawValue: 36)
    public static let failedCPRequired = NotifyType(rawValue: 37)
    public static let tsUnacceptable = NotifyType(rawValue: 38)
    public static let invalidSelectors = NotifyType(rawValue: 39)
    public static let temporaryFailure = NotifyType(rawValue: 43)
    public static let childSANotFound = NotifyType(rawValue: 44)
    public static let initialContact = NotifyType(rawValue: 16384)
    public static let setWindowSize = NotifyType(rawValue: 16385)
    public static let additionalTSPossible = NotifyType(rawValue: 16386)
    public static let natDetectionSourceIP = NotifyType(rawValue: 16388)
    public static let natDetectionDestinationIP = NotifyType(rawValue: 16389)
    public static let cookie = NotifyType(rawValue: 16390)
    public static let useTransportMode = NotifyType(rawValue: 16391)
    public static let rekeySA = NotifyType(rawValue: 16393)
    public static let espTFCPaddingNotSupported = NotifyType(rawValue: 16394)
    public static let mobikeSupported = NotifyType(rawValue: 16396)
    public static let fragmentationSupported = NotifyType(rawValue: 16430)
    public static let signatureHashAlgorithms = NotifyType(rawValue: 16431)

    /// Types below 16384 report errors (RFC 7296 §3.10.1).
    public var isError: Bool { rawValue < 16384 }

    public var description: String {
        switch self {
        case .unsupportedCriticalPayload: return "UNSUPPORTED_CRITICAL_PAYLOAD"
        case .invalidIKESPI: return "INVALID_IKE_SPI"
        case .invalidMajorVersion: return "INVALID_MAJOR_VERSION"
        case .invalidSyntax: return "INVALID_SYNTAX"
        case .invalidMessageID: return "INVALID_MESSAGE_ID"
        case .invalidSPI: return "INVALID_SPI"
        case .noProposalChosen: return "NO_PROPOSAL_CHOSEN"
        case .invalidKEPayload: return "INVALID_KE_PAYLOAD"
        case .authenticationFailed: return "AUTHENTICATION_FAILED"
        case .singlePairRequired: return "SINGLE_PAIR_REQUIRED"
        case .noAdditionalSAs: return "NO_ADDITIONAL_SAS"
        case .internalAddressFailure: return "INTERNAL_ADDRESS_FAILURE"
        case .failedCPRequired: return "FAILED_CP_REQUIRED"
        case .tsUnacceptable: return "TS_UNACCEPTABLE"
        case .invalidSelectors: return "INVALID_SELECTORS"
        case .temporaryFailure: return "TEMPORARY_FAILURE"
        case .childSANotFound: return "CHILD_SA_NOT_FOUND"
        case .initialContact: return "INITIAL_CONTACT"
        case .setWindowSize: return "SET_WINDOW_SIZE"
        case .additionalTSPossible: return "ADDITIONAL_TS_POSSIBLE"
        case .natDetectionSourceIP: return "NAT_DETECTION_SOURCE_IP"
        case .natDetectionDestinationIP: return "NAT_DETECTION_DESTINATION_IP"
        case .cookie: return "COOKIE"
        case .useTransportMode: return "USE_TRANSPORT_MODE"
        case .rekeySA: return "REKEY_SA"
        case .espTFCPaddingNotSupported: return "ESP_TFC_PADDING_NOT_SUPPORTED"
        case .mobikeSupported: return "MOBIKE_SUPPORTED"
        case .fragmentationSupported: return "IKEV2_FRAGMENTATION_SUPPORTED"
        case .signatureHashAlgorithms: return "SIGNATURE_HASH_ALGORITHMS"
        default: return "NOTIFY(\(rawValue))"
        }
    }
}

/// Protocol IDs in proposals, notifies and deletes.
public enum SecurityProtocol {
    public static let ike: UInt8 = 1
    public static let ah: UInt8 = 2
    public static let esp: UInt8 = 3
}

/// Transform types (RFC 7296 §3.3.2).
public enum TransformType {
    public static let encryption: UInt8 = 1
    public static let prf: UInt8 = 2
    public static let integrity: UInt8 = 3
    public static let dh: UInt8 = 4
    public static let esn: UInt8 = 5
}
