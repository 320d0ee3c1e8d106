import Foundation
import CertificateProxy
import IKECore
import IKEWire
import PKITestSupport
import Testing

@Suite struct CredentialStoreTests {
    /// Signs with `signer`'s key and verifies with `verifier`'s trust anchors, as the two
    /// sides of IKE_AUTH do.
    func roundTrip(_ signer: String, peerHashes: [UInt16], identity: Identity) throws -> (SignedAuthentication, Result<String, CertificateFailure>) {
        let (ours, credential) = try TestPKI.store(signer)
        let (theirs, _) = try TestPKI.store("peer")
        let octets = Array("the signed octets of IKE_AUTH".utf8)
        let signed = try ours.sign(credential: 0, octets: octets, peerHashes: peerHashes).get()
        let verdict = theirs.verify(credential: 0, certificates: credential.chain, identity: identity, octets: octets,
                                    method: signed.method, data: signed.data)
        return (signed, verdict)
    }

    @Test(arguments: [
        ("p256", [UInt16](), UInt8(9), "ECDSA with SHA256"),
        ("p256", [2, 3, 4, 5], 14, "ECDSA with SHA256"),
        ("p384", [], 10, "ECDSA with SHA384"),
        ("p384", [2, 3, 4], 14, "ECDSA with SHA384"),
        ("rsa", [], 1, "RSA PKCS#1 v1.5 with SHA1"),
        ("rsa", [2], 14, "RSA-PSS with SHA256"),
        ("rsa", [4], 14, "RSA-PSS with SHA512"),
        ("ed25519", [5], 14, "Ed25519"),
    ])
    func eachKeySignsWhatThePeerVerifies(leaf: String, hashes: [UInt16], method: UInt8, scheme: String) throws {
        let (signed, verdict) = try roundTrip(leaf, peerHashes: hashes, identity: .fqdn(IdentityName("\(leaf).ike.test")))
        #expect(signed.method == method && signed.scheme == scheme)
        #expect(try verdict.get() == "C=CH, O=ike test, CN=\(leaf).ike.test")
    }

    @Test func ed25519NeedsThePeersIdentityHash() throws {
        let (store, _) = try TestPKI.store("ed25519")
        let result = store.sign(credential: 0, octets: [1, 2, 3], peerHashes: [2])
        guard case let .failure(f) = result else { Issue.record("Ed25519 signed without RFC 8420"); return }
        #expect(f.reason == .unsupportedAlgorithm)
    }

    @Test func theCertificateMustProveThePresentedIdentity() throws {
        for good in [Identity.fqdn("P256.ike.test"), .address(IPAddress("192.0.2.1")!),
                     try Identity.parse("C=CH, O=ike test, CN=p256.ike.test").get()] {
            #expect(throws: Never.self) { try roundTrip("p256", peerHashes: [2], identity: good).1.get() }
        }
        for bad in [Identity.fqdn("peer.ike.test"), .address(IPAddress("192.0.2.2")!), .rfc822("p256@ike.test"),
                    try Identity.parse("C=CH, O=ike test, CN=other").get()] {
            let verdict = try roundTrip("p256", peerHashes: [2], identity: bad).1
            guard case let .failure(f) = verdict else { Issue.record("\(bad) accepted"); continue }
            #expect(f.reason == .identityMismatch && f.certificate == "C=CH, O=ike test, CN=p256.ike.test")
        }
    }

    @Test func aTamperedSignatureOrOtherOctetsFail() throws {
        let (ours, credential) = try TestPKI.store("p256")
        let (theirs, _) = try TestPKI.store("peer")
        var signed = try ours.sign(credential: 0, octets: [1, 2, 3], peerHashes: [2]).get()
        let other = theirs.verify(credential: 0, certificates: credential.chain, identity: .fqdn("p256.ike.test"), octets: [1, 2, 4],
                                  method: signed.method, data: signed.data)
        #expect(throws: CertificateFailure.self) { try other.get() }
        signed.data[signed.data.count - 3] ^= 0x40
        let tampered = theirs.verify(credential: 0, certificates: credential.chain, identity: .fqdn("p256.ike.test"), octets: [1, 2, 3],
                                     method: signed.method, data: signed.data)
        guard case let .failure(f) = tampered else { Issue.record("tampered signature accepted"); return }
        #expect(f.reason == .badSignature)
    }

    @Test(arguments: [
        ("expired", CertificateFailure.Reason.expired),
        ("future", .notYetValid),
        ("revoked", .revoked),
        ("foreign", .unknownCA),
    ])
    func badPeerCertificatesAreRefusedWithTheirReason(leaf: String, reason: CertificateFailure.Reason) throws {
        let (theirs, _) = try TestPKI.store("p256")
        let chain = [TestPKI.der("\(leaf).pem")] + (leaf == "foreign" ? [] : [TestPKI.der("intermediate.pem")])
        let verdict = theirs.verify(credential: 0, certificates: chain, identity: .fqdn(IdentityName("\(leaf).ike.test")), octets: [1],
                                    method: 14, data: [0])
        guard case let .failure(f) = verdict else { Issue.record("\(leaf) accepted"); return }
        #expect(f.reason == reason, "\(f)")
        #expect(f.certificate.hasSuffix("CN=\(leaf).ike.test"))
    }

    @Test func withoutItsIntermediateALeafDoesNotChain() throws {
        let store = CredentialStore(files: TestPKI.files)
        var spec = TestPKI.spec("p256")
        spec.caCertificates = [TestPKI.path("root.pem")]
        _ = try store.load([spec])[0].get()  // our own chain file carries the intermediate
        let verdict = store.verify(credential: 0, certificates: [TestPKI.der("peer.pem")], identity: .fqdn("peer.ike.test"),
                                   octets: [1], method: 14, data: [0])
        guard case let .failure(f) = verdict else { Issue.record("chain without its intermediate accepted"); return }
        #expect(f.reason == .unknownCA)
    }

    @Test func ourCredentialSendsTheChainWithoutTheRoot() throws {
        let (_, credential) = try TestPKI.store("p256")
        #expect(credential.chain == [TestPKI.der("p256.pem"), TestPKI.der("intermediate.pem")])
        #expect(credential.subject == (try Identity.parse("C=CH, O=ike test, CN=p256.ike.test").get()))
        #expect(credential.alternativeNames == [.fqdn("p256.ike.test"), .address(IPAddress("192.0.2.1")!)])
        #expect(credential.authorities.count == 2 && credential.authorities.allSatisfy { $0.count == 20 })
        #expect(credential.keyType == "ECDSA P-256")
    }

    @Test func brokenCredentialsAreRefusedAndTheOldOnesStay() throws {
        let (store, _) = try TestPKI.store("p256")
        var mismatched = TestPKI.spec("p256")
        mismatched.privateKey = TestPKI.path("rsa.key")
        var missing = TestPKI.spec("p256")
        missing.certificate = TestPKI.path("nothing.pem")
        var notPEM = TestPKI.spec("p256")
        notPEM.caCertificates = [TestPKI.path("ca.cnf")]
        var ownExpired = TestPKI.spec("expired")
        ownExpired.crls = []
        let results = store.load([mismatched, missing, notPEM, ownExpired])
        func problems(_ i: Int) -> [String] {
            guard case let .failure(e) = results[i] else { return [] }
            return e.problems.map { $0.description }
        }
        #expect(problems(0) == ["private_key: '\(TestPKI.path("rsa.key"))' is not the key of certificate '\(TestPKI.path("p256-chain.pem"))'"])
        #expect(problems(1) == ["certificate: '\(TestPKI.path("nothing.pem"))': No such file or directory"])
        #expect(problems(2) == ["ca_certificate: '\(TestPKI.path("ca.cnf"))' holds no X.509 certificate in PEM or DER"])
        #expect(problems(3).count == 1 && problems(3)[0].contains("expired"), "\(problems(3))")
        // The store still signs with what it had.
        #expect(store.count == 1)
        #expect(throws: Never.self) { try store.sign(credential: 0, octets: [1], peerHashes: [2]).get() }
    }

    @Test func aKeyOthersCanReadIsRefused() throws {
        let files = FileAccess(read: TestPKI.files.read, mode: { $0.hasSuffix(".key") ? 0o644 : 0o600 }, list: TestPKI.files.list)
        let results = CredentialStore(files: files).load([TestPKI.spec("p256")])
        guard case let .failure(e) = results[0] else { Issue.record("a 0644 key was loaded"); return }
        #expect(e.problems.map { $0.description } == ["private_key: '\(TestPKI.path("p256.key"))' is readable by others (mode 644); chmod 600 it"])
    }

    /// An encrypted key is refused with what to do, never with a passphrase prompt on the
    /// terminal of whoever runs `ike check`.
    @Test func anEncryptedKeyIsRefusedWithoutAPrompt() throws {
        let encrypted = TestPKI.path("encrypted.key")
        let made = Process()
        made.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        made.arguments = ["pkcs8", "-topk8", "-in", TestPKI.path("p256.key"), "-v2", "aes256", "-passout", "pass:secret", "-out", encrypted]
        made.standardInput = FileHandle.nullDevice
        try made.run()
        made.waitUntilExit()
        var spec = TestPKI.spec("p256")
        spec.privateKey = encrypted
        let results = CredentialStore(files: TestPKI.files).load([spec])
        guard case let .failure(e) = results[0] else { Issue.record("an encrypted key was loaded"); return }
        #expect(e.problems.count == 1 && e.problems[0].option == "private_key")
        #expect(e.problems[0].message.contains("an encrypted key needs a passphrase"))
    }

    @Test func theListingNamesEveryCertificateOnce() throws {
        let store = CredentialStore(files: TestPKI.files)
        _ = store.load([TestPKI.spec("p256", tunnel: "a"), TestPKI.spec("p256", tunnel: "b")])
        let infos = store.listing()
        #expect(infos.map { $0.role } == ["local", "intermediate", "ca"])
        #expect(infos[0].tunnels == ["a", "b"] && infos[0].keyType == "ECDSA P-256")
        #expect(infos[0].notAfter > infos[0].notBefore && infos[0].notBefore > 1_700_000_000)
        #expect(infos[2].subject == (try Identity.parse("C=CH, O=ike test, CN=ike test root").get()))
    }
}

@Suite struct ProxyProtocolTests {
    @Test func requestsAndAnswersSurviveTheSocketpair() throws {
        let requests: [ProxyRequest] = [
            .load([TestPKI.spec("p256"), CredentialSpec(tunnel: "x", certificate: nil, privateKey: "/k", caCertificates: [], crls: ["/c"], remoteCertificate: "/r")]),
            .sign(credential: 3, octets: [1, 2, 3], peerHashes: [2, 5]),
            .verify(credential: 1, certificates: [[1], [2, 3]], identity: .fqdn("gw.example"), octets: [9], method: 14, data: [7, 7]),
            .list,
            .credential(7),
        ]
        for r in requests { #expect(ProxyCodec.decodeRequest(ProxyCodec.encode(r)) == r) }
    }

    @Test func theServerAnswersThroughTheCodecAsTheStoreDoes() throws {
        let store = CredentialStore(files: TestPKI.files)
        var broken = TestPKI.spec("p256")
        broken.privateKey = TestPKI.path("rsa.key")
        guard case let .loaded(refused)? = ProxyServer.answer(ProxyCodec.encode(.load([TestPKI.spec("p256"), broken])), store: store).flatMap(ProxyCodec.decodeAnswer) else {
            Issue.record("no load answer"); return
        }
        #expect(refused.map { $0.count } == [0, 1] && refused[1][0].option == "private_key")
        guard case let .loaded(problems)? = ProxyServer.answer(ProxyCodec.encode(.load([TestPKI.spec("p256")])), store: store).flatMap(ProxyCodec.decodeAnswer),
              case let .credential(loaded)? = ProxyServer.answer(ProxyCodec.encode(.credential(0)), store: store).flatMap(ProxyCodec.decodeAnswer) else {
            Issue.record("no load answer"); return
        }
        #expect(problems == [[]])
        let credential = try #require(loaded)
        #expect(credential.chain.count == 2 && credential.keyType == "ECDSA P-256" && credential.id == 0)
        guard case .credential(nil)? = ProxyServer.answer(ProxyCodec.encode(.credential(1)), store: store).flatMap(ProxyCodec.decodeAnswer) else {
            Issue.record("a credential that is not there was answered"); return
        }
        guard case let .signed(signed)? = ProxyServer.answer(ProxyCodec.encode(.sign(credential: 0, octets: [1], peerHashes: [2])), store: store).flatMap(ProxyCodec.decodeAnswer) else {
            Issue.record("no sign answer"); return
        }
        #expect(try signed.get().method == 14)
        guard case let .verified(v)? = ProxyServer.answer(ProxyCodec.encode(.verify(credential: 0, certificates: [[0x30, 0x00]], identity: .any, octets: [], method: 14, data: [])), store: store).flatMap(ProxyCodec.decodeAnswer) else {
            Issue.record("no verify answer"); return
        }
        guard case let .failure(f) = v else { Issue.record("garbage certificate accepted"); return }
        #expect(f.reason == .malformed)
    }

    @Test func truncatedOrTrailingBytesAreRefused() {
        let bytes = ProxyCodec.encode(ProxyRequest.verify(credential: 1, certificates: [[1, 2]], identity: .fqdn("a"), octets: [3], method: 14, data: [4]))
        for n in 0..<bytes.count { #expect(ProxyCodec.decodeRequest(Array(bytes[0..<n])) == nil) }
        #expect(ProxyCodec.decodeRequest(bytes + [0]) == nil)
        #expect(ProxyCodec.decodeRequest([1, 0xFF, 0xFF, 0xFF, 0xFF]) == nil)
        #expect(ProxyCodec.decodeAnswer([9]) == nil)
    }
}
