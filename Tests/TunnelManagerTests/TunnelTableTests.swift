import IKECore
import IKECrypto
import IKEWire
import Testing
import UCI
@testable import TunnelManager

/// The table's name index and the configuration's: lookups by name that stay right as
/// rows come and go, at a hub's scale.
@Suite struct TunnelTableTests {
    func row(_ number: TunnelNumber, _ config: TunnelConfig) -> Tunnel {
        Tunnel(number: number, config: config, role: .initiator, wantsPhase2: true, state: .phase1Negotiating)
    }

    @Test func theNameIndexFollowsTheRows() {
        let c = Configuration.load(twoTunnels, file: "ike.conf").get()
        let b = c.tunnel(named: "site_b")!, d = c.tunnel(named: "dialin")!
        var table = TunnelTable()
        table[1] = row(1, b)
        table[2] = row(2, b)
        table[3] = row(3, d)
        #expect(table.named("site_b").map { $0.number }.sorted() == [1, 2])
        // Writing a row again (its state changed) does not list it twice.
        table[1] = row(1, b)
        #expect(table.named("site_b").count == 2)
        #expect(table.first(named: "site_b", where: { $0.number == 2 })?.number == 2)
        table.removeValue(forKey: 1)
        #expect(table.named("site_b").map { $0.number } == [2])
        table[2] = nil
        #expect(!table.contains(named: "site_b") && table.named("site_b").isEmpty)
        #expect(table.named("dialin").map { $0.number } == [3] && table.values.count == 1)
        // A number given a row of another name moves between the names.
        table[3] = row(3, b)
        #expect(table.named("dialin").isEmpty && table.named("site_b").map { $0.number } == [3])
    }

    /// `cmd=status`'s counts, which the table keeps, agree with a count of its rows as rows
    /// come, change status and go.
    @Test func theStatusCountsFollowTheRows() {
        let c = Configuration.load(twoTunnels, file: "ike.conf").get()
        let b = c.tunnel(named: "site_b")!
        var table = TunnelTable()
        func recount() -> [PhaseStatus: Int] {
            var n: [PhaseStatus: Int] = [:]
            for t in table.values { n[t.phase1Status, default: 0] += 1 }
            return n
        }
        for n in TunnelNumber(1)...50 { table[n] = row(n, b) }
        #expect(table.phase1Counts == [.negotiating: 50] && table.count == 50)
        for n in stride(from: TunnelNumber(1), through: 50, by: 3) {
            var t = table[n]!
            t.state = .failed(nil, step: 3, reason: "no answer")
            table[n] = t
        }
        #expect(table.phase1Counts == [.negotiating: 33, .failed: 17])
        for n in stride(from: TunnelNumber(2), through: 50, by: 4) { table.removeValue(forKey: n) }
        table[7] = nil
        table[10] = row(10, b)
        #expect(table.phase1Counts == recount() && table.count == 37)
        for n in TunnelNumber(1)...50 { table[n] = nil }
        #expect(table.phase1Counts.isEmpty && table.count == 0)
    }

    /// The rows are held densely: a row removed from the middle makes room by moving the
    /// last one, and every row is still found by its number and its name, whatever the
    /// order of removals (checked against a plain dictionary).
    @Test func rowsRemovedInAnyOrderLeaveTheOthersFound() {
        let c = Configuration.load(twoTunnels, file: "ike.conf").get()
        let b = c.tunnel(named: "site_b")!, d = c.tunnel(named: "dialin")!
        var table = TunnelTable()
        var model: [TunnelNumber: String] = [:]
        for n in TunnelNumber(1)...600 {
            table[n] = row(n, n % 3 == 0 ? d : b)
            model[n] = n % 3 == 0 ? "dialin" : "site_b"
        }
        var seed: UInt32 = 7
        func check() {
            #expect(table.values.count == model.count)
            for (n, name) in model { #expect(table[n]?.number == n && table[n]?.name == name) }
            for name in ["site_b", "dialin"] {
                #expect(Set(table.named(name).map { $0.number }) == Set(model.filter { $0.value == name }.keys))
            }
        }
        // Half of them, in a scrambled order; then all but ten (the storage shrinks).
        for target in [300, 10] {
            while model.count > target {
                seed = seed &* 1_103_515_245 &+ 12345
                let n = model.keys.sorted()[Int(seed >> 8) % model.count]
                #expect(table.removeValue(forKey: n)?.number == n)
                model[n] = nil
            }
            check()
        }
        #expect(table.removeValue(forKey: 9999) == nil)
    }

    /// A row's rare fields are held apart, and a copy of a row is still a copy.
    @Test func aRowsCopiesAreIndependent() {
        let c = Configuration.load(twoTunnels, file: "ike.conf").get()
        var a = row(1, c.tunnel(named: "site_b")!)
        a.nextAttempt = Instant(nanoseconds: 5)
        var b = a
        b.nextAttempt = Instant(nanoseconds: 9)
        b.resolvedAddress = remote
        #expect(a.nextAttempt == Instant(nanoseconds: 5) && a.resolvedAddress == nil)
        #expect(b.nextAttempt == Instant(nanoseconds: 9) && b.resolvedAddress == remote)
        b.nextAttempt = nil
        #expect(b.nextAttempt == nil && a.nextAttempt == Instant(nanoseconds: 5))
    }

    @Test func theConfigurationFindsTunnelsByNameAfterEdits() {
        var c = Configuration.load(twoTunnels, file: "ike.conf").get()
        #expect(c.place(of: "site_c") == 1 && c.tunnel(named: "off")?.name == "off")
        c.tunnels[1].name = "site_z"
        #expect(c.tunnel(named: "site_c") == nil && c.tunnel(named: "site_z")?.name == "site_z")
        c.tunnels.remove(at: 0)
        #expect(c.place(of: "site_z") == 0 && c.tunnel(named: "site_b") == nil)
    }

    /// 3,000 configured tunnels toward one peer and 3,000 instances of one template: each
    /// tunnel is found, started, refused and removed by its name as with two.
    @Test func aHubsTablesAnswerByName() {
        let count = 3000
        var text = "config tunnel 'hub'\n\toption remote_address 'any'\n\toption psk 'k'\n\n"
        for i in 0..<count {
            text += "config tunnel 's\(i)'\n\toption remote_address '198.51.100.7'\n\toption psk 'k'\n\toption start 'auto'\n"
            text += "\tlist local_subnet '10.\(1 + i / 256).\(i % 256).0/24'\n\tlist remote_subnet '10.200.0.0/24'\n\n"
        }
        let f = Fixture(text)
        #expect(f.manager.configuration.place(of: "s\(count - 1)") == count)
        #expect(f.manager.activate(Selection()).get().count == count)
        // Paced: four requests toward the one peer, the rest queued.
        #expect(f.v2.requests.count == TunnelManager.maxNegotiatingPerPeer)
        guard case let .failure(e) = f.manager.activate(f.named("s\(count - 1)")) else {
            Issue.record("started twice")
            return
        }
        #expect(e.description == "tunnel 's\(count - 1)' is already up as tunnel \(count); remove it first to restart it")
        #expect(f.manager.remove(f.named("s\(count - 1)")).get() == [TunnelNumber(count)])
        #expect(f.manager.activate(f.named("s\(count - 1)")).get() == [TunnelNumber(count + 1)])

        for i in 0..<count {
            let p1 = Phase1SA(localAddress: local, remoteAddress: IPAddress("203.0.\(i / 256).\(i % 256)")!, localID: .address(local),
                              remoteID: .keyID([UInt8(i >> 8), UInt8(truncatingIfNeeded: i)]), initiatorSPI: 1, responderSPI: 2,
                              algorithms: phase1().algorithms, natTraversal: false, lifetimeSeconds: 28800)
            #expect(f.manager.negotiatedByEngine(tunnelName: "hub", p1, child(remoteNet: "10.\(100 + i / 256).\(i % 256).0/24")) != nil)
        }
        let hub = f.manager.table.named("hub").map { $0.number }.sorted()
        #expect(hub.count == count)
        #expect(f.manager.remove(f.numbered(hub[7])).get() == [hub[7]])
        #expect(f.manager.table.named("hub").count == count - 1)
        #expect(f.manager.remove(f.named("hub")).get().count == count - 1)
        #expect(!f.manager.table.contains(named: "hub"))
    }

    @Test func aPeersPoliciesComeBeforeTheTemplates() {
        func policy(_ name: String, _ peer: String?) -> EnginePolicy {
            EnginePolicy(name: name, localAddress: nil, remoteAddress: peer.flatMap { IPAddress($0) }, localID: nil, remoteID: .any,
                         psk: SecretBytes([1]), ikeProposals: [], espProposals: [], localSelectors: [], remoteSelectors: [],
                         transportMode: false, ikeLifetimeSeconds: 28800, childLifetimeSeconds: 3600)
        }
        let index = PolicyIndex([policy("any1", nil), policy("b1", "192.0.2.7"), policy("c", "192.0.2.8"), policy("b2", "192.0.2.7"),
                                 policy("any2", nil)])
        #expect(index.candidates(for: IPAddress("192.0.2.7")!).map { $0.name } == ["b1", "b2", "any1", "any2"])
        #expect(index.candidates(for: IPAddress("192.0.2.9")!).map { $0.name } == ["any1", "any2"])
        #expect(index.names(IPAddress("192.0.2.8")!) && !index.names(IPAddress("192.0.2.9")!))
    }
}
