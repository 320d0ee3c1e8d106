import CertificateProxy
import IKECore
import IKECrypto
import IKEWire
import PKITestSupport
import Testing
@testable import IKEv1

/// Main Mode with RSA and ECDSA signatures, the engines back to back, each signing and
/// verifying through its own cpsd store (in process here) made from scripts/test-pki.
@Suite struct SignatureTests {
    static let subject = { (cn: String) in try! Identity.parse("C=CH, O=ike test, CN=\(cn).ike.test").get() }

    /// `engine`'s policy with `leaf`'s certificate; the responder's side when `responder`.
    func side(_ engine: IKEv1Engine, leaf: String, responder: Bool, remoteID: Identity, send: SendCertificate = .ifAsked,
              ike: [AlgorithmSet] = Pair.ikeDefault, crl: Bool = true) throws -> EnginePolicy {
        let store = CredentialStore(files: TestPKI.files)
        var credential = try store.load([TestPKI.spec(leaf, tunnel: responder ? "site_a" : "site_b", crl: crl)])[0].get()
        credential.send = send
        engine.certificates = store
        var p = responder
            ? Pair.policy("site_a", local: "198.51.100.7", remote: "192.0.2.1", psk: "", ike: ike, localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24")
            : Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7", psk: "", ike: ike)
        p.remoteID = remoteID
        p.certificate = credential
        return p
    }

    func events(_ events: [EngineOutput], _ level: LogLevel) -> [String] {
        events.compactMap { if case let .log(l, text) = $0, l == level { return text }; return nil }
    }

    func transformAuthentication(_ bytes: [UInt8]) -> UInt64? {
        guard let m = try? bytes.withUnsafeBytes({ b throws(WireError) in try ISAKMPMessage.parse(b) }) else { return nil }
        for case let .securityAssociation(sa) in m.payloads {
            return sa.proposals.first?.transforms.first?.attribute(IKEv1Number.Phase1.authentication)?.integer
        }
        return nil
    }

    @Test(arguments: [("rsa", "peer-rsa", IKEv1Number.authRSASignature), ("p256", "peer", IKEv1Number.authECDSA256)])
    func mainModeWithSignaturesComesUp(initiator: String, responder: String, method: UInt16) throws {
        let p = Pair()
        p.b.policies = [try side(p.b, leaf: responder, responder: true, remoteID: .any)]
        let a = try side(p.a, leaf: initiator, responder: false, remoteID: SignatureTests.subject(responder))
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        // The offer names the key's method.
        let offer = try #require(p.a.takeOutput().compactMap { if case let .send(b, _, _) = $0 { return b }; return nil }.first)
        #expect(transformAuthentication(offer) == UInt64(method))
        p.b.receive(offer, from: Endpoint(IPAddress("192.0.2.1")!, 500), to: Endpoint(IPAddress("198.51.100.7")!, 500), now: p.now)
        p.run()
        #expect(failures(p.aEvents).isEmpty && failures(p.bEvents).isEmpty, "\(failures(p.aEvents)) \(failures(p.bEvents))")
        try expectMatchingChildren(p)
        // Each side named its certificate's subject and proved it.
        let ikeA = p.aEvents.compactMap { if case let .report(.phase1Created(_, sa)) = $0 { return sa }; return nil }.first
        #expect(ikeA?.localID == SignatureTests.subject(initiator))
        #expect(ikeA?.remoteID == SignatureTests.subject(responder))
        #expect(logs(p.bEvents).contains { $0.contains("by certificate \"C=CH, O=ike test, CN=\(initiator).ike.test\"") })
        #expect(logs(p.aEvents).contains { $0.contains("by certificate \"C=CH, O=ike test, CN=\(responder).ike.test\"") })
    }

    @Test func aRevokedPeerIsRefusedWithAnEvent() throws {
        let p = Pair()
        p.b.policies = [try side(p.b, leaf: "peer", responder: true, remoteID: .any)]
        // The revoked side does not load the CRL that names it.
        let a = try side(p.a, leaf: "revoked", responder: false, remoteID: SignatureTests.subject("peer"), crl: false)
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(!established(p.bEvents).ike && established(p.aEvents).child == nil)
        #expect(events(p.bEvents, .event).contains { $0.contains("CN=revoked.ike.test\" refused: revoked") }, "\(logs(p.bEvents))")
        #expect(p.b.saCount == 0)
    }

    @Test func aPeerThatSendsNoCertificateIsRefused() throws {
        let p = Pair()
        // The initiator sends its certificate only when asked; the responder asks (CR in
        // MM4), so this comes up; with `never` the responder has nothing to verify.
        p.b.policies = [try side(p.b, leaf: "peer", responder: true, remoteID: .any)]
        let a = try side(p.a, leaf: "p256", responder: false, remoteID: SignatureTests.subject("peer"), send: .never)
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(!established(p.bEvents).ike)
        #expect(events(p.bEvents, .event).contains { $0.contains("no certificate") }, "\(logs(p.bEvents))")
    }

    @Test func aWrongIdentityIsRefused() throws {
        let p = Pair()
        p.b.policies = [try side(p.b, leaf: "peer", responder: true, remoteID: .any)]
        // The initiator expects another responder than the one that answers.
        let a = try side(p.a, leaf: "p256", responder: false, remoteID: SignatureTests.subject("somebody-else"))
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(failures(p.aEvents).contains { $0.contains("not remote_id") }, "\(failures(p.aEvents))")
        #expect(established(p.aEvents).child == nil)
    }

    @Test func differentKeyTypesFindNoProposal() throws {
        // IKEv1 negotiates one authentication method for both sides: RSA and ECDSA do not meet.
        let p = Pair()
        p.b.policies = [try side(p.b, leaf: "peer", responder: true, remoteID: .any)]
        let a = try side(p.a, leaf: "rsa", responder: false, remoteID: .any)
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        p.run()
        #expect(!established(p.aEvents).ike && !established(p.bEvents).ike)
        #expect(logs(p.bEvents).contains { $0.contains("no phase 1 proposal we accept") })
    }

    @Test func aPSKInitiatorDoesNotReachACertificateTunnel() throws {
        let p = Pair()
        p.b.policies = [try side(p.b, leaf: "peer", responder: true, remoteID: .any)]
        p.start(Pair.policy("site_b", local: "192.0.2.1", remote: "198.51.100.7"))
        p.run()
        #expect(!established(p.aEvents).ike && !established(p.bEvents).ike)
        // The PSK offer (method 1) meets a tunnel that signs: no proposal, said so.
        #expect(logs(p.bEvents).contains { $0.contains("no phase 1 proposal we accept") }, "\(logs(p.bEvents))")
    }

    @Test func ed25519CannotSignIKEv1() throws {
        let p = Pair()
        let a = try side(p.a, leaf: "ed25519", responder: false, remoteID: .any)
        p.a.initiate(tunnel: 1, policy: a, remote: IPAddress("198.51.100.7")!, now: p.now)
        #expect(failures(p.a.takeOutput()).contains { $0.contains("IKEv1 signs with RSA or ECDSA keys, not Ed25519") })
    }

    @Test func theCredentialCarriesItsIKEv1Method() throws {
        let (_, rsa) = try TestPKI.store("rsa")
        let (_, p384) = try TestPKI.store("p384")
        let (_, ed) = try TestPKI.store("ed25519")
        #expect(rsa.ikev1Method == 3 && p384.ikev1Method == 10 && ed.ikev1Method == nil)
        // And through cpsd's codec.
        let decoded = ProxyCodec.decodeAnswer(ProxyCodec.encode(.credential(p384)))
        guard case let .credential(c)? = decoded else { Issue.record("no credential"); return }
        #expect(c?.ikev1Method == 10)
    }
}
