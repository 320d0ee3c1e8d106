import CertificateProxy
import IKECore
import IKEWire
import Platform
import UCI

/// cpsd: the certificate proxy in a process of its own. The daemon forks it at start; it
/// alone opens the private keys and parses certificates and CRLs, and answers "sign
/// this" and "verify that" over a socketpair. If it dies it is started again with the
/// same credentials; a request it cannot answer fails (the negotiation fails cleanly).
final class CertificateProxyProcess: CertificateAuthority {
    private var channel: ProxyChannel? = nil
    /// What it was last told to load: a restarted cpsd loads the same.
    private var specs: [CredentialSpec] = []
    private let log: Logger
    /// Called when the channel changes (start, restart), to watch its descriptor.
    var onChannel: (ProxyChannel) -> Void = { _ in }
    private(set) var restarts = 0
    /// A signature with RSA 4096 takes a few milliseconds; an answer later than this
    /// means cpsd is stuck.
    static let answerTimeoutMilliseconds: Int32 = 3000
    /// Loading reads and checks every file (chains, a CA directory, CRLs that may hold
    /// many thousand entries) in a cpsd just started: on a slow board that took more than
    /// 3 s, and the daemon refused to start.
    static let loadTimeoutMilliseconds: Int32 = 30_000

    init(log: Logger) { self.log = log }

    var pid: Int32? { channel?.pid }

    func start() throws(SystemError) {
        let c = try ProxyChannel.spawn { CertificateProxyProcess.serve($0) }
        channel = c
        log.information(.cpsd, "cpsd started (pid \(c.pid))")
        onChannel(c)
    }

    func stop() {
        channel?.close(kill: false)
        channel = nil
    }

    /// cpsd died or stopped answering: the old one is killed and a new one loads the
    /// same credentials.
    func restart(_ why: String) {
        if let c = channel {
            log.error(.cpsd, "cpsd (pid \(c.pid)) \(why); starting it again")
            c.close(kill: true)
        }
        channel = nil
        restarts += 1
        do throws(SystemError) { try start() } catch {
            log.error(.cpsd, "cannot start cpsd: \(error)")
            return
        }
        if !specs.isEmpty, case .loaded? = exchange(.load(specs)) {} else if !specs.isEmpty {
            log.error(.cpsd, "the restarted cpsd did not load the credentials")
        }
    }

    /// Whether the process behind the channel is gone (its end of the socketpair closed).
    func checkAlive() {
        guard let c = channel, c.exited else { return }
        restart("exited")
    }

    private func exchange(_ request: ProxyRequest) -> ProxyAnswer? {
        guard let c = channel else { return nil }
        let timeout: Int32
        switch request {
        case .load: timeout = CertificateProxyProcess.loadTimeoutMilliseconds
        case .credential, .list, .sign, .verify, .signHash, .verifyHash: timeout = CertificateProxyProcess.answerTimeoutMilliseconds
        }
        guard c.send(ProxyCodec.encode(request)),
              let bytes = c.receive(timeoutMilliseconds: timeout),
              let answer = ProxyCodec.decodeAnswer(bytes) else { return nil }
        return answer
    }

    private func call(_ request: ProxyRequest) -> ProxyAnswer? {
        if channel == nil { restart("is not running") }
        if let answer = exchange(request) { return answer }
        restart(channel?.exited ?? true ? "exited" : "did not answer in time")
        return nil
    }

    /// Loads the credentials; nil when cpsd cannot be reached. cpsd keeps what it had
    /// when any of them fails.
    func load(_ newSpecs: [CredentialSpec]) -> [Result<PublicKeyCredential, CredentialErrors>]? {
        guard case let .loaded(problems)? = call(.load(newSpecs)), problems.count == newSpecs.count else { return nil }
        guard problems.allSatisfy({ $0.isEmpty }) else {
            return problems.map { $0.isEmpty ? .failure(CredentialErrors([])) : .failure(CredentialErrors($0)) }
        }
        specs = newSpecs
        var results: [Result<PublicKeyCredential, CredentialErrors>] = []
        for id in newSpecs.indices {
            guard case let .credential(credential?)? = call(.credential(id)) else { return nil }
            results.append(.success(credential))
        }
        return results
    }

    func listing() -> [CertificateInfo]? {
        guard case let .listing(infos)? = call(.list) else { return nil }
        return infos
    }

    func sign(credential: Int, octets: [UInt8], peerHashes: [UInt16]) -> Result<SignedAuthentication, CertificateFailure> {
        guard case let .signed(result)? = call(.sign(credential: credential, octets: octets, peerHashes: peerHashes)) else {
            return .failure(CertificateFailure(.unavailable, "cpsd did not answer"))
        }
        return result
    }

    func verify(credential: Int, certificates: [[UInt8]], identity: Identity, octets: [UInt8], method: UInt8,
                data: [UInt8]) -> Result<String, CertificateFailure> {
        let request = ProxyRequest.verify(credential: credential, certificates: certificates, identity: identity, octets: octets,
                                          method: method, data: data)
        guard case let .verified(result)? = call(request) else { return .failure(CertificateFailure(.unavailable, "cpsd did not answer")) }
        return result
    }

    func signHash(credential: Int, hash: [UInt8]) -> Result<SignedAuthentication, CertificateFailure> {
        guard case let .signed(result)? = call(.signHash(credential: credential, hash: hash)) else {
            return .failure(CertificateFailure(.unavailable, "cpsd did not answer"))
        }
        return result
    }

    func verifyHash(credential: Int, certificates: [[UInt8]], identity: Identity, hash: [UInt8], method: UInt8,
                    signature: [UInt8]) -> Result<String, CertificateFailure> {
        let request = ProxyRequest.verifyHash(credential: credential, certificates: certificates, identity: identity, hash: hash,
                                              method: method, signature: signature)
        guard case let .verified(result)? = call(request) else { return .failure(CertificateFailure(.unavailable, "cpsd did not answer")) }
        return result
    }

    /// cpsd's loop, in the child: one answer per request until the daemon goes.
    static func serve(_ channel: ProxyChannel) -> Int32 {
        let store = CredentialStore(files: Credentials.files)
        while let request = channel.receive(timeoutMilliseconds: -1) {
            // A request that does not decode gets an empty answer, which the daemon refuses.
            guard channel.send(ProxyServer.answer(request, store: store) ?? []) else { return 1 }
        }
        return 0
    }
}

/// The certificate options of a configuration, as cpsd loads them and as `ike check` and
/// the daemon report them (`FILE:LINE:`).
enum Credentials {
    static var files: FileAccess { FileAccess(
        read: { path in
            do throws(SystemError) { return .success(try FileSystem.read(path, limit: 1 << 20)) } catch {
                return .failure(CredentialFileError(error.message))
            }
        },
        mode: { FileSystem.mode($0) },
        list: { FileSystem.list($0) }) }

    static func tunnels(_ c: Configuration) -> [TunnelConfig] { c.tunnels.filter { $0.auth == .pubkey } }

    /// One spec per distinct set of files, naming every tunnel that uses it: a hub whose
    /// thousand tunnels share a certificate loads it once.
    static func specs(_ c: Configuration) -> [CredentialSpec] {
        var specs: [CredentialSpec] = []
        for t in tunnels(c) {
            let spec = CredentialSpec(tunnel: t.name, certificate: t.certificate, privateKey: t.privateKey, caCertificates: t.caCertificates,
                                      crls: t.crls, remoteCertificate: t.remoteCertificate)
            if let i = specs.firstIndex(where: { $0.sameFiles(spec) }) { specs[i].tunnels.append(t.name) } else { specs.append(spec) }
        }
        return specs
    }

    /// One `FILE:LINE:` error per problem, at the line of the option that names the file,
    /// for the first tunnel that names it.
    static func diagnostics(_ c: Configuration, file: String, _ specs: [CredentialSpec],
                            _ results: [Result<PublicKeyCredential, CredentialErrors>]) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for (spec, result) in zip(specs, results) {
            if case let .success(credential) = result, credential.ikev1Method == nil,
               let t = c.tunnels.first(where: { spec.tunnels.contains($0.name) && $0.version == .v1 }) {
                // RFC 2409 and RFC 4754 sign with RSA and ECDSA only.
                let line = t.credentialLines["private_key"]?.number ?? t.line.number
                out.append(Diagnostic(file: file, line: line, message: "tunnel '\(t.name)' private_key is \(credential.keyType), which IKEv1 cannot sign with (RSA or ECDSA); use version '2'"))
            }
            guard case let .failure(errors) = result, let t = c.tunnels.first(where: { $0.name == spec.tunnels.first }) else { continue }
            for p in errors.problems {
                let line = t.credentialLines[p.option]?.number ?? t.line.number
                out.append(Diagnostic(file: file, line: line, message: "tunnel '\(t.name)' \(p.option == "auth" ? "" : p.option + " ")\(p.message)"))
            }
        }
        return out.sorted { $0.line < $1.line }
    }

    /// The loaded credentials by tunnel name.
    static func byTunnel(_ specs: [CredentialSpec], _ results: [Result<PublicKeyCredential, CredentialErrors>]) -> [String: PublicKeyCredential] {
        var map: [String: PublicKeyCredential] = [:]
        for (spec, result) in zip(specs, results) {
            guard case let .success(credential) = result else { continue }
            for name in spec.tunnels { map[name] = credential }
        }
        return map
    }

    /// `ike check`: the credentials loaded in this process (no cpsd needed to check).
    static func check(_ c: Configuration, file: String) -> [Diagnostic] {
        let specs = specs(c)
        guard !specs.isEmpty else { return [] }
        return diagnostics(c, file: file, specs, CredentialStore(files: files).load(specs))
    }
}
