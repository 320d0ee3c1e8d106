import IKECore
import IKEWire

/// Which payloads each IKEv2 message carries (RFC 7296 §1.2-§1.4, §3): one table per
/// message that both checks what arrives and orders what is sent. Counts are bounds
/// per payload type; types a message does not list (a Vendor ID, an unknown
/// non-critical payload) are let through unless `strict`.
enum ExchangeRules {
    enum Message: CustomStringConvertible {
        case initRequest, initResponse, authRequest, authResponse
        case childRequest, childResponse, informationalRequest, informationalResponse

        var description: String {
            switch self {
            case .initRequest: return "IKE_SA_INIT request"
            case .initResponse: return "IKE_SA_INIT response"
            case .authRequest: return "IKE_AUTH request"
            case .authResponse: return "IKE_AUTH response"
            case .childRequest: return "CREATE_CHILD_SA request"
            case .childResponse: return "CREATE_CHILD_SA response"
            case .informationalRequest: return "INFORMATIONAL request"
            case .informationalResponse: return "INFORMATIONAL response"
            }
        }
    }

    struct Rule {
        let type: PayloadType
        let min: Int
        let max: Int
    }

    static let many = 64

    /// In sending order.
    static func rules(_ m: Message) -> [Rule] {
        switch m {
        case .initRequest, .initResponse:
            return [Rule(type: .notify, min: 0, max: 1),  // N(COOKIE) leads a retried request
                    Rule(type: .securityAssociation, min: 1, max: 1), Rule(type: .keyExchange, min: 1, max: 1),
                    Rule(type: .nonce, min: 1, max: 1), Rule(type: .certificateRequest, min: 0, max: many),
                    Rule(type: .notify, min: 0, max: many), Rule(type: .vendorID, min: 0, max: many)]
        case .authRequest:
            return [Rule(type: .identificationInitiator, min: 1, max: 1), Rule(type: .certificate, min: 0, max: many),
                    Rule(type: .certificateRequest, min: 0, max: many), Rule(type: .notify, min: 0, max: many),
                    Rule(type: .identificationResponder, min: 0, max: 1), Rule(type: .authentication, min: 1, max: 1),
                    Rule(type: .configuration, min: 0, max: 1), Rule(type: .securityAssociation, min: 0, max: 1),
                    Rule(type: .trafficSelectorInitiator, min: 0, max: 1), Rule(type: .trafficSelectorResponder, min: 0, max: 1),
                    Rule(type: .vendorID, min: 0, max: many)]
        case .authResponse:
            return [Rule(type: .identificationResponder, min: 1, max: 1), Rule(type: .certificate, min: 0, max: many),
                    Rule(type: .authentication, min: 1, max: 1), Rule(type: .configuration, min: 0, max: 1),
                    Rule(type: .notify, min: 0, max: many), Rule(type: .securityAssociation, min: 0, max: 1),
                    Rule(type: .trafficSelectorInitiator, min: 0, max: 1), Rule(type: .trafficSelectorResponder, min: 0, max: 1),
                    Rule(type: .vendorID, min: 0, max: many)]
        case .childRequest, .childResponse:
            return [Rule(type: .notify, min: 0, max: many), Rule(type: .securityAssociation, min: 1, max: 1),
                    Rule(type: .nonce, min: 1, max: 1), Rule(type: .keyExchange, min: 0, max: 1),
                    Rule(type: .trafficSelectorInitiator, min: 0, max: 1), Rule(type: .trafficSelectorResponder, min: 0, max: 1),
                    Rule(type: .vendorID, min: 0, max: many)]
        case .informationalRequest, .informationalResponse:
            return [Rule(type: .notify, min: 0, max: many), Rule(type: .delete, min: 0, max: many),
                    Rule(type: .configuration, min: 0, max: 1), Rule(type: .vendorID, min: 0, max: many)]
        }
    }

    /// A response made of notifies only, one an error or a COOKIE (§2.21), is valid in
    /// any exchange.
    static func isErrorAnswer(_ payloads: [IKEv2Payload]) -> Bool {
        var sawError = false
        for p in payloads {
            guard case let .notify(n) = p else { return false }
            if n.type.isError || n.type == .cookie { sawError = true }
        }
        return sawError
    }

    /// The message kind of an exchange and direction.
    static func message(_ exchange: ExchangeType, response: Bool) -> Message? {
        switch exchange {
        case .ikeSAInit: return response ? .initResponse : .initRequest
        case .ikeAuth: return response ? .authResponse : .authRequest
        case .createChildSA: return response ? .childResponse : .childRequest
        case .informational: return response ? .informationalResponse : .informationalRequest
        default: return nil
        }
    }

    /// Why `payloads` do not fit message `m`, nil when they do.
    static func violation(_ m: Message, _ payloads: [IKEv2Payload]) -> String? {
        if m == .initResponse || m == .authResponse || m == .childResponse, isErrorAnswer(payloads) { return nil }
        var counts: [UInt8: Int] = [:]
        for p in payloads { counts[p.type.rawValue, default: 0] += 1 }
        var limits: [UInt8: (min: Int, max: Int)] = [:]
        for r in rules(m) {
            let old = limits[r.type.rawValue] ?? (0, 0)
            limits[r.type.rawValue] = (old.min + r.min, Swift.min(old.max + r.max, many))
        }
        for (type, limit) in limits {
            let n = counts[type] ?? 0
            if n < limit.min { return "\(m) without \(PayloadType(rawValue: type))" }
            if n > limit.max { return "\(m) with \(n) \(PayloadType(rawValue: type)) payloads" }
        }
        return nil
    }

    /// `payloads` in the table's order (stable within a type; N(COOKIE) first).
    static func ordered(_ m: Message, _ payloads: [IKEv2Payload]) -> [IKEv2Payload] {
        let order = rules(m).map { $0.type }
        func rank(_ p: IKEv2Payload) -> Int {
            if case let .notify(n) = p, n.type == .cookie { return -1 }
            if case .notify = p, m == .initRequest || m == .initResponse { return order.count }
            return order.firstIndex(of: p.type) ?? order.count + 1
        }
        return payloads.enumerated().sorted { a, b in
            let ra = rank(a.element), rb = rank(b.element)
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map { $0.element }
    }
}

extension ExchangeRules.Message: Equatable {}
