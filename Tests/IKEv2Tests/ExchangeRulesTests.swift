import IKEWire
import Testing
@testable import IKEv2

@Suite struct ExchangeRulesTests {
    let ts = [TrafficSelector(start: IPAddress("10.1.0.0")!, end: IPAddress("10.1.0.255")!)]

    @Test func whatIsSentFollowsTheTable() {
        let shuffled: [IKEv2Payload] = [
            .trafficSelectors(initiator: false, ts), .authentication(method: 2, data: [1]),
            .notify(NotifyPayload(.initialContact)), .trafficSelectors(initiator: true, ts),
            .identification(initiator: true, type: 1, data: [192, 0, 2, 1]), .securityAssociation([]),
        ]
        #expect(ExchangeRules.ordered(.authRequest, shuffled).map { $0.type } ==
                [.identificationInitiator, .notify, .authentication, .securityAssociation, .trafficSelectorInitiator, .trafficSelectorResponder])
        let init_: [IKEv2Payload] = [.nonce([UInt8](repeating: 1, count: 16)), .notify(NotifyPayload(.natDetectionSourceIP)),
                                     .keyExchange(group: 31, data: [1]), .notify(NotifyPayload(.cookie, data: [9])), .securityAssociation([])]
        #expect(ExchangeRules.ordered(.initRequest, init_).map { $0.type } == [.notify, .securityAssociation, .keyExchange, .nonce, .notify])
        guard case let .notify(first) = ExchangeRules.ordered(.initRequest, init_)[0] else { return }
        #expect(first.type == .cookie)
    }

    @Test func whatArrivesIsChecked() {
        let nonce = IKEv2Payload.nonce([UInt8](repeating: 1, count: 16))
        #expect(ExchangeRules.violation(.initRequest, [.securityAssociation([]), .keyExchange(group: 31, data: [1]), nonce]) == nil)
        #expect(ExchangeRules.violation(.initRequest, [.securityAssociation([]), nonce]) == "IKE_SA_INIT request without KE")
        #expect(ExchangeRules.violation(.initRequest, [.securityAssociation([]), .keyExchange(group: 31, data: [1]),
                                                       .keyExchange(group: 19, data: [1]), nonce]) == "IKE_SA_INIT request with 2 KE payloads")
        #expect(ExchangeRules.violation(.authRequest, [.identification(initiator: true, type: 1, data: [1, 2, 3, 4])]) == "IKE_AUTH request without AUTH")
        #expect(ExchangeRules.violation(.informationalRequest, []) == nil)
        // An answer of error notifies only fits any response.
        #expect(ExchangeRules.violation(.authResponse, [.notify(NotifyPayload(.authenticationFailed))]) == nil)
        #expect(ExchangeRules.violation(.initResponse, [.notify(NotifyPayload(.cookie, data: [1]))]) == nil)
        #expect(ExchangeRules.violation(.authResponse, [.notify(NotifyPayload(.initialContact))]) != nil)
    }
}
