import Foundation
import Testing

/// Two network namespaces joined by a veth pair, 192.0.2.1 (site A) and 192.0.2.2 and
/// .3 (site B), for two real daemons (`kernel 'none'`) that negotiate with each other.
final class TwoSites {
    let a: String
    let b: String

    init(_ tag: String) throws {
        a = "ike-\(tag)-a-\(getpid())"
        b = "ike-\(tag)-b-\(getpid())"
        for ns in [a, b] { _ = try? TwoSites.ip(["netns", "del", ns]) }
        _ = try TwoSites.ip(["netns", "add", a])
        _ = try TwoSites.ip(["netns", "add", b])
        let link = "ike\(getpid() % 100000)"
        _ = try TwoSites.ip(["link", "add", link + "a", "netns", a, "type", "veth", "peer", "name", link + "b", "netns", b])
        for (ns, dev, addresses) in [(a, link + "a", ["192.0.2.1/24"]), (b, link + "b", ["192.0.2.2/24", "192.0.2.3/24"])] {
            _ = try TwoSites.ip(["-n", ns, "link", "set", "lo", "up"])
            _ = try TwoSites.ip(["-n", ns, "link", "set", dev, "up"])
            for address in addresses { _ = try TwoSites.ip(["-n", ns, "addr", "add", address, "dev", dev]) }
        }
    }

    deinit {
        for ns in [a, b] {
            _ = try? TwoSites.ip(["netns", "del", ns])
            try? FileManager.default.removeItem(atPath: "/etc/netns/\(ns)")
        }
    }

    @discardableResult
    static func ip(_ words: [String]) throws -> Ike.Result { try Ike.run(words, executable: "/usr/sbin/ip") }
}

/// Polls `condition` every 100 ms for up to `seconds`.
func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return try condition()
}

/// Field behaviour with two real daemons: a peer found by DNS name (dnsmasq answers in
/// site A's namespace) and retries that never give up.
@Suite(.serialized, .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq"),
                             "network namespaces and dnsmasq"))
struct TwoSitesTests {
    static let responder = """
        config ike 'global'
        \toption kernel 'none'
        \toption log_level 'debug'
        config tunnel 'site_a'
        \toption remote_address 'any'
        \toption psk 'a long secret for the dns test'
        \tlist local_subnet '10.2.0.0/24'
        \tlist remote_subnet '10.1.0.0/24'

        """

    /// `remote_address` as a DNS name: no answer yet is a failed attempt, retried; once
    /// the name resolves the tunnel comes up; a later activation follows a changed answer.
    @Test func aPeerFoundByNameIsResolvedAtEachAttempt() throws {
        let sites = try TwoSites("dns")
        let etc = "/etc/netns/\(sites.a)"
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        try "nameserver 127.0.0.1\n".write(toFile: etc + "/resolv.conf", atomically: true, encoding: .utf8)
        let hostsFile = FileManager.default.temporaryDirectory.appendingPathComponent("ike-dns-\(getpid()).hosts").path
        defer { try? FileManager.default.removeItem(atPath: hostsFile) }
        // dnsmasq closes every inherited descriptor, which Foundation's Process takes for
        // an exit: it runs as a daemon of its own, found again by its pid file. It
        // inherits the test runner's blocked signals, so it is replaced, not sent SIGHUP.
        let pidFile = hostsFile + ".pid"
        var dnsPID: pid_t = 0
        func startDNS(_ hosts: String) throws {
            if dnsPID > 0 { kill(dnsPID, SIGKILL) }
            try hosts.write(toFile: hostsFile, atomically: true, encoding: .utf8)
            try? FileManager.default.removeItem(atPath: pidFile)
            let started = try TwoSites.ip(["netns", "exec", sites.a, "/usr/sbin/dnsmasq", "--no-resolv", "--no-hosts", "--bind-interfaces",
                                           "--listen-address=127.0.0.1", "--addn-hosts=\(hostsFile)", "--pid-file=\(pidFile)",
                                           "--local=/example/", "--user=root"])
            try #require(started.status == 0, "\(started.stderr)")
            #expect(eventually(2) { FileManager.default.fileExists(atPath: pidFile) })
            dnsPID = pid_t((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            try #require(dnsPID > 0)
        }
        try startDNS("")
        defer {
            kill(dnsPID, SIGKILL)
            try? FileManager.default.removeItem(atPath: pidFile)
        }
        let b = try RunningDaemon(config: TwoSitesTests.responder, netns: sites.b)
        let a = try RunningDaemon(config: """
            config ike 'global'
            \toption kernel 'none'
            config tunnel 'site_b'
            \toption remote_address 'gw.site-b.example'
            \toption local_address '192.0.2.1'
            \toption psk 'a long secret for the dns test'
            \tlist local_subnet '10.1.0.0/24'
            \tlist remote_subnet '10.2.0.0/24'
            \toption start 'auto'
            \toption retry_delay '1'

            """, netns: sites.a)
        // No record yet: the attempt fails with the resolver's reason and is retried.
        #expect(a.waitFor("tunnel 1 'site_b': resolving gw.site-b.example: no such name (NXDOMAIN from 127.0.0.1)", seconds: 10))
        #expect(a.waitFor("tunnel 1 'site_b': attempt 1 failed; next attempt in "))
        let listed = try a.ike("cmd=list", "verbose")
        #expect(listed.stdout.contains("failed at step 2: resolving gw.site-b.example"), "\(listed.stdout)")
        // The name appears (dynamic DNS): the next attempt finds it and the tunnel comes up.
        try startDNS("192.0.2.2 gw.site-b.example\n")
        #expect(a.waitFor("tunnel 1 'site_b': gw.site-b.example is 192.0.2.2", seconds: 15))
        #expect(try eventually(10) { try a.ike("cmd=list").stdout.contains("2      1       Active") })
        #expect(try b.ike("cmd=list").stdout.contains("Active"))
        // The address changes; the next activation follows it.
        try startDNS("192.0.2.3 gw.site-b.example\n")
        _ = try a.ike("cmd=remove", "all")
        let again = try a.ike("cmd=activate", "namelist=site_b", "wait=10")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(a.waitFor("gw.site-b.example is 192.0.2.3"))
        let json = try a.ike("cmd=list", "format=json", "phase=1")
        #expect(json.stdout.contains("\"remote_address\": \"192.0.2.3\""), "\(json.stdout)")
        #expect(a.signal(SIGTERM) == 0)
    }
}

/// `activate phase=1`, then `phase=2`, and phase 2 made again after `remove phase=2`,
/// between two real daemons, for IKEv2 and IKEv1: the engines honour phase requests.
@Suite(.serialized, .enabled(if: isRoot, "network namespaces"))
struct PhaseRequestDaemonTests {
    static func config(_ version: String, _ name: String, remote: String, local: String?, localNet: String, remoteNet: String) -> String {
        """
        config ike 'global'
        \toption kernel 'none'
        config tunnel '\(name)'
        \toption version '\(version)'
        \toption remote_address '\(remote)'
        \(local.map { "\toption local_address '\($0)'\n" } ?? "")\toption psk 'a long secret for phase requests'
        \tlist local_subnet '\(localNet)'
        \tlist remote_subnet '\(remoteNet)'

        """
    }

    @Test(arguments: ["2", "1"]) func phase2OnRequestAndAgainAfterItsRemoval(version: String) throws {
        let sites = try TwoSites("ph\(version)")
        let b = try RunningDaemon(config: PhaseRequestDaemonTests.config(version, "site_a", remote: "any", local: nil,
                                                                         localNet: "10.2.0.0/24", remoteNet: "10.1.0.0/24"), netns: sites.b)
        let a = try RunningDaemon(config: PhaseRequestDaemonTests.config(version, "site_b", remote: "192.0.2.2", local: "192.0.2.1",
                                                                         localNet: "10.1.0.0/24", remoteNet: "10.2.0.0/24"), netns: sites.a)
        func phase2Active(_ d: RunningDaemon) throws -> Bool {
            try d.ike("cmd=list", "phase=2").stdout.split(separator: "\n").contains { $0.contains("Active") }
        }
        let first = try a.ike("cmd=activate", "namelist=site_b", "phase=1", "wait=10")
        #expect(first.status == 0 && first.stdout.hasPrefix("1 site_b"), "\(first.stdout) \(first.stderr)")
        #expect(try a.ike("cmd=list", "phase=1").stdout.contains("Active"))
        #expect(try !phase2Active(a))
        let second = try a.ike("cmd=activate", "numlist=1", "phase=2", "wait=10")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try phase2Active(a) && eventually(5) { try phase2Active(b) })
        // Phase 2 removed, phase 1 kept; then asked for again: a new phase 2 on the same phase 1.
        #expect(try a.ike("cmd=remove", "numlist=1", "phase=2").status == 0)
        #expect(try eventually(5) { try !phase2Active(a) && !phase2Active(b) })
        let third = try a.ike("cmd=activate", "numlist=1", "phase=2", "wait=10")
        #expect(third.status == 0, "\(third.stderr)")
        #expect(try phase2Active(a) && eventually(5) { try phase2Active(b) })
        #expect(try a.ike("cmd=list", "phase=1").stdout.contains("Active"))
        #expect(a.signal(SIGTERM) == 0 && b.signal(SIGTERM) == 0)
    }
}
