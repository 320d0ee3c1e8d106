import IKECore
import IKEWire

/// The messages between the daemon and cpsd over their socketpair: one request, one
/// answer. Integers are big-endian; byte strings and lists carry a 32-bit count first.
/// Nothing in them is a private key.
public enum ProxyRequest: Equatable {
    case load([CredentialSpec])
    /// The public part of loaded credential N (one at a time: a hub's answers stay small).
    case credential(Int)
    case sign(credential: Int, octets: [UInt8], peerHashes: [UInt16])
    case verify(credential: Int, certificates: [[UInt8]], identity: Identity, octets: [UInt8], method: UInt8, data: [UInt8])
    case signHash(credential: Int, hash: [UInt8])
    case verifyHash(credential: Int, certificates: [[UInt8]], identity: Identity, hash: [UInt8], method: UInt8, signature: [UInt8])
    case list
}

public enum ProxyAnswer {
    /// Per spec, its problems; none: loaded.
    case loaded([[CredentialProblem]])
    case credential(PublicKeyCredential?)
    case signed(Result<SignedAuthentication, CertificateFailure>)
    case verified(Result<String, CertificateFailure>)
    case listing([CertificateInfo])
}

/// cpsd's side: answers each request from the store.
public enum ProxyServer {
    /// The encoded answer to an encoded request; nil for a request that does not decode.
    public static func answer(_ request: [UInt8], store: CredentialStore) -> [UInt8]? {
        guard let r = ProxyCodec.decodeRequest(request) else { return nil }
        switch r {
        case let .load(specs):
            return ProxyCodec.encode(.loaded(store.load(specs).map { result in
                if case let .failure(e) = result { return e.problems }
                return []
            }))
        case let .credential(id): return ProxyCodec.encode(.credential(store.credential(at: id)))
        case let .sign(id, octets, hashes): return ProxyCodec.encode(.signed(store.sign(credential: id, octets: octets, peerHashes: hashes)))
        case let .verify(id, certificates, identity, octets, method, data):
            return ProxyCodec.encode(.verified(store.verify(credential: id, certificates: certificates, identity: identity,
                                                            octets: octets, method: method, data: data)))
        case let .signHash(id, hash): return ProxyCodec.encode(.signed(store.signHash(credential: id, hash: hash)))
        case let .verifyHash(id, certificates, identity, hash, method, signature):
            return ProxyCodec.encode(.verified(store.verifyHash(credential: id, certificates: certificates, identity: identity,
                                                                hash: hash, method: method, signature: signature)))
        case .list: return ProxyCodec.encode(.listing(store.listing()))
        }
    }
}

public enum ProxyCodec {
    struct Writer {
        var bytes: [UInt8] = []
        mutating func u8(_ v: UInt8) { bytes.append(v) }
        mutating func u32(_ v: Int) {
            let x = UInt32(truncatingIfNeeded: v)
            bytes += [UInt8(x >> 24), UInt8(x >> 16 & 0xFF), UInt8(x >> 8 & 0xFF), UInt8(x & 0xFF)]
        }
        mutating func i64(_ v: Int64) {
            u32(Int(UInt32(truncatingIfNeeded: UInt64(bitPattern: v) >> 32)))
            u32(Int(UInt32(truncatingIfNeeded: UInt64(bitPattern: v))))
        }
        mutating func data(_ d: [UInt8]) {
            u32(d.count)
            bytes += d
        }
        mutating func text(_ s: String) { data(Array(s.utf8)) }
        mutating func optionalText(_ s: String?) {
            u8(s == nil ? 0 : 1)
            if let s { text(s) }
        }
        mutating func texts(_ list: [String]) {
            u32(list.count)
            for s in list { text(s) }
        }
        mutating func datas(_ list: [[UInt8]]) {
            u32(list.count)
            for d in list { data(d) }
        }
        mutating func identity(_ id: Identity) {
            u8(id == .any ? 0 : id.idType)
            data(id.data)
        }
        mutating func identities(_ list: [Identity]) {
            u32(list.count)
            for id in list { identity(id) }
        }
        mutating func failure(_ f: CertificateFailure) {
            u8(f.reason.rawValue)
            text(f.detail)
            text(f.certificate)
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var at = 0
        var ok = true
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func u8() -> UInt8 {
            guard ok, at < bytes.count else { ok = false; return 0 }
            at += 1
            return bytes[at - 1]
        }
        mutating func u32() -> Int {
            guard ok, at + 4 <= bytes.count else { ok = false; return 0 }
            var v = 0
            for i in 0..<4 { v = v << 8 | Int(bytes[at + i]) }
            at += 4
            return v
        }
        mutating func i64() -> Int64 {
            let high = UInt64(u32()), low = UInt64(u32())
            return Int64(bitPattern: high << 32 | low)
        }
        mutating func data() -> [UInt8] {
            let n = u32()
            guard ok, n <= bytes.count - at else { ok = false; return [] }
            at += n
            return Array(bytes[(at - n)..<at])
        }
        mutating func text() -> String { String(decoding: data(), as: UTF8.self) }
        mutating func optionalText() -> String? { u8() == 1 ? text() : nil }
        /// A list count, refused when it could not fit in what is left.
        mutating func count() -> Int {
            let n = u32()
            if n > bytes.count - at { ok = false; return 0 }
            return n
        }
        mutating func texts() -> [String] { (0..<count()).map { _ in text() } }
        mutating func datas() -> [[UInt8]] { (0..<count()).map { _ in data() } }
        mutating func identity() -> Identity {
            let type = u8(), d = data()
            return type == 0 ? .any : Identity(idType: type, data: d) ?? .any
        }
        mutating func identities() -> [Identity] { (0..<count()).map { _ in identity() } }
        mutating func failure() -> CertificateFailure {
            let reason = CertificateFailure.Reason(rawValue: u8()) ?? .invalid
            let detail = text(), name = text()
            return CertificateFailure(reason, detail, certificate: name)
        }
    }

    public static func encode(_ request: ProxyRequest) -> [UInt8] {
        var w = Writer()
        switch request {
        case let .load(specs):
            w.u8(1)
            w.u32(specs.count)
            for s in specs {
                w.texts(s.tunnels)
                w.optionalText(s.certificate)
                w.optionalText(s.privateKey)
                w.texts(s.caCertificates)
                w.texts(s.crls)
                w.optionalText(s.remoteCertificate)
            }
        case let .credential(id):
            w.u8(5)
            w.u32(id)
        case let .sign(id, octets, hashes):
            w.u8(2)
            w.u32(id)
            w.data(octets)
            w.u32(hashes.count)
            for h in hashes { w.u32(Int(h)) }
        case let .verify(id, certificates, identity, octets, method, data):
            w.u8(3)
            w.u32(id)
            w.datas(certificates)
            w.identity(identity)
            w.data(octets)
            w.u8(method)
            w.data(data)
        case .list:
            w.u8(4)
        case let .signHash(id, hash):
            w.u8(6)
            w.u32(id)
            w.data(hash)
        case let .verifyHash(id, certificates, identity, hash, method, signature):
            w.u8(7)
            w.u32(id)
            w.datas(certificates)
            w.identity(identity)
            w.data(hash)
            w.u8(method)
            w.data(signature)
        }
        return w.bytes
    }

    public static func decodeRequest(_ bytes: [UInt8]) -> ProxyRequest? {
        var r = Reader(bytes)
        let request: ProxyRequest
        switch r.u8() {
        case 1:
            var specs: [CredentialSpec] = []
            for _ in 0..<r.count() {
                let tunnels = r.texts(), certificate = r.optionalText(), key = r.optionalText()
                let cas = r.texts(), crls = r.texts(), pinned = r.optionalText()
                var spec = CredentialSpec(tunnel: "", certificate: certificate, privateKey: key, caCertificates: cas,
                                          crls: crls, remoteCertificate: pinned)
                spec.tunnels = tunnels
                specs.append(spec)
            }
            request = .load(specs)
        case 2:
            let id = r.u32(), octets = r.data()
            let hashes = (0..<r.count()).map { _ in UInt16(truncatingIfNeeded: r.u32()) }
            request = .sign(credential: id, octets: octets, peerHashes: hashes)
        case 3:
            let id = r.u32(), certificates = r.datas(), identity = r.identity(), octets = r.data(), method = r.u8(), data = r.data()
            request = .verify(credential: id, certificates: certificates, identity: identity, octets: octets, method: method, data: data)
        case 4:
            request = .list
        case 5:
            request = .credential(r.u32())
        case 6:
            let id = r.u32(), hash = r.data()
            request = .signHash(credential: id, hash: hash)
        case 7:
            let id = r.u32(), certificates = r.datas(), identity = r.identity(), hash = r.data(), method = r.u8(), signature = r.data()
            request = .verifyHash(credential: id, certificates: certificates, identity: identity, hash: hash, method: method, signature: signature)
        default:
            return nil
        }
        return r.ok && r.at == bytes.count ? request : nil
    }

    public static func encode(_ answer: ProxyAnswer) -> [UInt8] {
        var w = Writer()
        switch answer {
        case let .loaded(results):
            w.u8(1)
            w.u32(results.count)
            for problems in results {
                w.u32(problems.count)
                for p in problems {
                    w.text(p.option)
                    w.text(p.message)
                }
            }
        case let .credential(credential):
            w.u8(5)
            guard let c = credential else {
                w.u8(1)
                break
            }
            w.u8(0)
            w.u32(c.id)
            w.datas(c.chain)
            w.identity(c.subject)
            w.identities(c.alternativeNames)
            w.datas(c.authorities)
            w.text(c.keyType)
            w.u8(c.ikev1Method ?? 0)
        case let .signed(result):
            w.u8(2)
            switch result {
            case let .success(s):
                w.u8(0)
                w.u8(s.method)
                w.data(s.data)
                w.text(s.scheme)
            case let .failure(f):
                w.u8(1)
                w.failure(f)
            }
        case let .verified(result):
            w.u8(3)
            switch result {
            case let .success(subject):
                w.u8(0)
                w.text(subject)
            case let .failure(f):
                w.u8(1)
                w.failure(f)
            }
        case let .listing(infos):
            w.u8(4)
            w.u32(infos.count)
            for i in infos {
                w.text(i.role)
                w.identity(i.subject)
                w.identity(i.issuer)
                w.text(i.serial)
                w.i64(i.notBefore)
                w.i64(i.notAfter)
                w.text(i.keyType)
                w.identities(i.alternativeNames)
                w.texts(i.tunnels)
            }
        }
        return w.bytes
    }

    public static func decodeAnswer(_ bytes: [UInt8]) -> ProxyAnswer? {
        var r = Reader(bytes)
        let answer: ProxyAnswer
        switch r.u8() {
        case 1:
            answer = .loaded((0..<r.count()).map { _ in (0..<r.count()).map { _ in CredentialProblem(option: r.text(), message: r.text()) } })
        case 5:
            if r.u8() == 0 {
                let id = r.u32(), chain = r.datas(), subject = r.identity(), names = r.identities()
                let authorities = r.datas(), keyType = r.text(), method = r.u8()
                answer = .credential(PublicKeyCredential(id: id, chain: chain, subject: subject, alternativeNames: names,
                                                         authorities: authorities, keyType: keyType, ikev1Method: method == 0 ? nil : method))
            } else {
                answer = .credential(nil)
            }
        case 2:
            if r.u8() == 0 {
                let method = r.u8(), data = r.data(), scheme = r.text()
                answer = .signed(.success(SignedAuthentication(method: method, data: data, scheme: scheme)))
            } else {
                answer = .signed(.failure(r.failure()))
            }
        case 3:
            answer = .verified(r.u8() == 0 ? .success(r.text()) : .failure(r.failure()))
        case 4:
            var infos: [CertificateInfo] = []
            for _ in 0..<r.count() {
                let role = r.text(), subject = r.identity(), issuer = r.identity(), serial = r.text()
                let notBefore = r.i64(), notAfter = r.i64(), keyType = r.text()
                let names = r.identities(), tunnels = r.texts()
                infos.append(CertificateInfo(role: role, subject: subject, issuer: issuer, serial: serial, notBefore: notBefore,
                                             notAfter: notAfter, keyType: keyType, alternativeNames: names, tunnels: tunnels))
            }
            answer = .listing(infos)
        default:
            return nil
        }
        return r.ok && r.at == bytes.count ? answer : nil
    }
}
