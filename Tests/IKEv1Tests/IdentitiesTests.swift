import IKECore
import IKEWire
import Testing
@testable import IKEv1

/// Quick Mode selectors as ID payloads (RFC 2407 §4.6.2): what strongSwan and Libreswan
/// send for subnets, ranges and single addresses.
@Suite struct IdentitiesTests {
    @Test func subnetsGoAsAddressAndMask() throws {
        let ts = TrafficSelector(try Subnet.parse("10.1.0.0/24").get())
        let id = IKEv1Identities.payload(ts)
        #expect(id.type == IKEv1Number.IDType.ipv4Subnet && id.data == [10, 1, 0, 0, 255, 255, 255, 0])
        #expect(IKEv1Identities.selector(id) == ts)
        let v6 = TrafficSelector(try Subnet.parse("2001:db8:1::/64").get())
        let id6 = IKEv1Identities.payload(v6)
        #expect(id6.type == IKEv1Number.IDType.ipv6Subnet && Array(id6.data[16...]) == [UInt8](repeating: 255, count: 8) + [UInt8](repeating: 0, count: 8))
        #expect(IKEv1Identities.selector(id6) == v6)
    }

    @Test func rangesAndAddresses() {
        let range = TrafficSelector(start: IPAddress("10.0.0.5")!, end: IPAddress("10.0.0.9")!)
        let id = IKEv1Identities.payload(range)
        #expect(id.type == IKEv1Number.IDType.ipv4Range && IKEv1Identities.selector(id) == range)
        let host = TrafficSelector(start: IPAddress("192.0.2.1")!, end: IPAddress("192.0.2.1")!)
        #expect(IKEv1Identities.payload(host).type == IKEv1Number.IDType.ipv4)
        #expect(IKEv1Identities.selector(IKEv1Identities.payload(host)) == host)
    }

    @Test func malformedSelectorsAreRefused() {
        // A mask with a hole, a backwards range, a wrong length, and a phase 1 type.
        #expect(IKEv1Identities.selector(ISAKMPIdentification(type: IKEv1Number.IDType.ipv4Subnet, data: [10, 1, 0, 0, 255, 0, 255, 0])) == nil)
        #expect(IKEv1Identities.selector(ISAKMPIdentification(type: IKEv1Number.IDType.ipv4Range, data: [10, 0, 0, 9, 10, 0, 0, 5])) == nil)
        #expect(IKEv1Identities.selector(ISAKMPIdentification(type: IKEv1Number.IDType.ipv4, data: [10, 0, 0])) == nil)
        #expect(IKEv1Identities.selector(ISAKMPIdentification(type: IKEv1Number.IDType.fqdn, data: Array("gw".utf8))) == nil)
    }

    @Test func aSubnetSentWithHostBitsIsMasked() {
        let id = ISAKMPIdentification(type: IKEv1Number.IDType.ipv4Subnet, data: [10, 1, 0, 7, 255, 255, 255, 0])
        #expect(IKEv1Identities.selector(id)?.description == "10.1.0.0/24")
    }
}

/// Lifetimes as peers send them: seconds, kilobytes, both, in TV or TLV form.
@Suite struct LifetimeAttributeTests {
    func transform(_ attributes: [ISAKMPAttribute]) -> ISAKMPTransform {
        ISAKMPTransform(number: 1, id: IKEv1Number.espAESCBC, attributes: attributes + [
            .basic(IKEv1Number.Phase2.authentication, IKEv1Number.authHMACSHA2_256), .basic(IKEv1Number.Phase2.keyLength, 256),
        ])
    }

    @Test func secondsAndKilobytesInEitherOrder() {
        let kbFirst = transform([.basic(1, IKEv1Number.lifeKilobytes), .number(2, 4_608_000),
                                 .basic(1, IKEv1Number.lifeSeconds), .number(2, 86_400)])
        #expect(IKEv1Proposals.phase2Choice(kbFirst)?.lifetimeSeconds == 86_400)
        let secondsFirst = transform([.basic(1, IKEv1Number.lifeSeconds), .basic(2, 3600),
                                      .basic(1, IKEv1Number.lifeKilobytes), .number(2, 4_608_000)])
        #expect(IKEv1Proposals.phase2Choice(secondsFirst)?.lifetimeSeconds == 3600)
        #expect(IKEv1Proposals.phase2Choice(transform([.basic(1, IKEv1Number.lifeKilobytes), .number(2, 1000)]))?.lifetimeSeconds == 0)
        // A TLV duration of four bytes.
        #expect(ISAKMPAttribute.number(2, 86_400).isBasic == false)
    }
}
