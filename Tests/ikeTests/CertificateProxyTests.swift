import Foundation
import PKITestSupport
import Testing

/// cpsd in the real daemon: two daemons authenticate with certificates (PKI from
/// scripts/test-pki); cpsd is a child process, and when it dies or hangs, tmd logs it,
/// starts it again, and tunnels still come up.
@Suite(.serialized, .enabled(if: isRoot, "network namespaces"))
struct CertificateProxyProcessTests {
    static var pki: String { TestPKI.directory }

    static func config(leaf: String, local: String, remote: String, peer: String, localNet: String, remoteNet: String,
                       version: Int = 2) -> String {
        """
        config ike 'global'
        \toption kernel 'none'
        \toption log_level 'debug'
        config tunnel 'peer'
        \toption local_address '\(local)'
        \toption remote_address '\(remote)'
        \toption version '\(version)'
        \toption auth 'pubkey'
        \toption certificate '\(pki)/\(leaf)-chain.pem'
        \toption private_key '\(pki)/\(leaf).key'
        \tlist ca_certificate '\(pki)/ca'
        \tlist crl '\(pki)/crl.pem'
        \toption local_id '@\(leaf).ike.test'
        \toption remote_id '@\(peer).ike.test'
        \tlist local_subnet '\(localNet)'
        \tlist remote_subnet '\(remoteNet)'

        """
    }

    func cpsdPID(_ daemon: RunningDaemon) throws -> String? {
        let status = try daemon.ike("cmd=status")
        return status.stdout.split(separator: "\n").first { $0.hasPrefix(" cpsd ") }?.split(separator: " ")[2].description
    }

    @Test func aDeadOrStuckProxyIsReplacedAndTunnelsStillComeUp() throws {
        let sites = try TwoSites("cpsd")
        let a = try RunningDaemon(config: Self.config(leaf: "p256", local: "192.0.2.1", remote: "192.0.2.2", peer: "peer",
                                                      localNet: "10.1.0.0/24", remoteNet: "10.2.0.0/24"), netns: sites.a)
        let b = try RunningDaemon(config: Self.config(leaf: "peer", local: "192.0.2.2", remote: "192.0.2.1", peer: "p256",
                                                      localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24"), netns: sites.b)
        let up = try a.ike("cmd=activate", "namelist=peer", "wait=10")
        #expect(up.status == 0, "\(up.stderr)\n\(a.stderr)")
        #expect(a.waitFor("signed with ECDSA with SHA256 (method 14)"))
        #expect(b.waitFor("authenticated as @p256.ike.test by certificate \"C=CH, O=ike test, CN=p256.ike.test\""))

        // The private key is opened by cpsd alone: the daemon holds no descriptor of it
        // and cpsd holds no socket of the daemon's.
        let first = try #require(try cpsdPID(b))
        let cpsdFDs = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(first)/fd")
        #expect(cpsdFDs.count == 4, "\(cpsdFDs)")  // stdio on /dev/null and its socketpair end
        let status = try String(contentsOfFile: "/proc/\(first)/status", encoding: .utf8)
        #expect(status.contains("NoNewPrivs:\t1"))
        #expect(status.contains("Seccomp:\t2"), "cpsd runs without its seccomp filter")

        // Killed: tmd notices at once, logs it and starts another.
        kill(pid_t(first)!, SIGKILL)
        #expect(b.waitFor("cpsd (pid \(first)) exited; starting it again"))
        let second = try #require(try cpsdPID(b))
        #expect(second != first)
        _ = try a.ike("cmd=remove", "namelist=peer")
        let again = try a.ike("cmd=activate", "namelist=peer", "wait=10")
        #expect(again.status == 0, "\(again.stderr)\n\(b.stderr)")

        // Stuck: a request times out, the negotiation fails cleanly, the next one works.
        kill(pid_t(second)!, SIGSTOP)
        _ = try a.ike("cmd=remove", "namelist=peer")
        let stuck = try a.ike("cmd=activate", "namelist=peer", "wait=8")
        #expect(stuck.status == 1)
        #expect(b.waitFor("cpsd (pid \(second)) did not answer in time; starting it again"))
        #expect(b.waitFor("cpsd unavailable"))
        let third = try #require(try cpsdPID(b))
        #expect(third != second)
        _ = try a.ike("cmd=remove", "namelist=peer")
        let last = try a.ike("cmd=activate", "namelist=peer", "wait=10")
        #expect(last.status == 0, "\(last.stderr)\n\(b.stderr)")
        #expect(try b.ike("cmd=status").stdout.contains("cpsd restarts (died or stuck):  2\n"))
        #expect(a.signal(SIGTERM) == 0 && b.signal(SIGTERM) == 0)
        // cpsd goes with its daemon.
        #expect(eventually(3) { !FileManager.default.fileExists(atPath: "/proc/\(third)") || ((try? String(contentsOfFile: "/proc/\(third)/stat", encoding: .utf8))?.contains(") Z ") ?? true) })
    }

    @Test func aReloadWithABrokenCertificateKeepsTheRunningOne() throws {
        let sites = try TwoSites("cpsdr")
        let good = Self.config(leaf: "p256", local: "192.0.2.1", remote: "192.0.2.2", peer: "peer", localNet: "10.1.0.0/24", remoteNet: "10.2.0.0/24")
        let a = try RunningDaemon(config: good, netns: sites.a)
        let b = try RunningDaemon(config: Self.config(leaf: "peer", local: "192.0.2.2", remote: "192.0.2.1", peer: "p256",
                                                      localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24"), netns: sites.b)
        let certs = try a.ike("cmd=list", "certs")
        #expect(certs.status == 0)
        let lines = certs.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "Role          Key Type      Not After   Tunnels             Subject")
        #expect(lines.dropFirst().map { String($0.prefix(28)) } == ["local         ECDSA P-256   ", "intermediate  ECDSA P-256   ", "ca            ECDSA P-384   "])
        #expect(lines[1].hasSuffix("peer                C=CH, O=ike test, CN=p256.ike.test"), "\(certs.stdout)")
        let json = try a.ike("cmd=list", "certs", "format=json")
        let items = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(items.count == 3)
        #expect(items[0]["alt_names"] as? [String] == ["@p256.ike.test", "192.0.2.1"])
        #expect(items[0]["issuer"] as? String == "C=CH, O=ike test, CN=ike test intermediate")
        #expect((items[0]["not_after"] as? String)?.hasSuffix("Z") == true && items[0]["tunnels"] as? [String] == ["peer"])
        let verbose = try a.ike("cmd=list", "certs", "verbose")
        #expect(verbose.stdout.contains("local certificate \"C=CH, O=ike test, CN=p256.ike.test\"\n  issuer:     C=CH, O=ike test, CN=ike test intermediate\n"))
        #expect(try a.ike("cmd=list", "certs", "namelist=peer").status == 2)
        try a.rewrite(good.replacingOccurrences(of: "p256.key", with: "rsa.key"))
        let refused = try a.ike("cmd=reload")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(a.configPath):10: tunnel 'peer' private_key '\(Self.pki)/rsa.key' is not the key of certificate '\(Self.pki)/p256-chain.pem'"), "\(refused.stderr)")
        let up = try a.ike("cmd=activate", "namelist=peer", "wait=10")
        #expect(up.status == 0, "\(up.stderr)\n\(a.stderr)\n\(b.stderr)")
        #expect(a.signal(SIGTERM) == 0 && b.signal(SIGTERM) == 0)
    }

    @Test func ikev1MainModeSignsThroughCpsd() throws {
        let sites = try TwoSites("cpsd1")
        let a = try RunningDaemon(config: Self.config(leaf: "rsa", local: "192.0.2.1", remote: "192.0.2.2", peer: "peer-rsa",
                                                      localNet: "10.1.0.0/24", remoteNet: "10.2.0.0/24", version: 1), netns: sites.a)
        let b = try RunningDaemon(config: Self.config(leaf: "peer-rsa", local: "192.0.2.2", remote: "192.0.2.1", peer: "rsa",
                                                      localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24", version: 1), netns: sites.b)
        let up = try a.ike("cmd=activate", "namelist=peer", "wait=10")
        #expect(up.status == 0, "\(up.stderr)\n\(a.stderr)\n\(b.stderr)")
        #expect(a.waitFor("SIG_I signed with RSA 3072 over HASH (method 3)"))
        #expect(b.waitFor("authenticated as @rsa.ike.test by certificate \"C=CH, O=ike test, CN=rsa.ike.test\""))
        let list = try a.ike("cmd=list")
        #expect(list.stdout.contains("@rsa.ike.test") && list.stdout.contains("@peer-rsa.ike.test"), "\(list.stdout)")
        #expect(a.signal(SIGTERM) == 0 && b.signal(SIGTERM) == 0)
    }

    @Test func checkRefusesAnEd25519KeyForIKEv1() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ike-check-\(UUID().uuidString).conf").path
        try Self.config(leaf: "ed25519", local: "192.0.2.1", remote: "192.0.2.2", peer: "peer", localNet: "10.1.0.0/24",
                        remoteNet: "10.2.0.0/24", version: 1).write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let result = try Ike.run(["check", "--config", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(path):10: tunnel 'peer' private_key is Ed25519, which IKEv1 cannot sign with (RSA or ECDSA); use version '2'"),
                "\(result.stderr)")
    }
}
