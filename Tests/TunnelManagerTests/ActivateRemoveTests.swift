import IKECore
import IKEWire
import Kernel
import Testing
@testable import TunnelManager

@Suite struct ActivateRemoveTests {
    func established(_ f: Fixture) {
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        f.v2.held[1] = (phase1(), child().withoutKeys)
    }

    @Test(arguments: [
        (["nope"], "no tunnel named 'nope' in the configuration; see ike check"),
        (["off"], "tunnel 'off' is disabled (option enabled '0')"),
        (["dialin"], "tunnel 'dialin' only responds (remote_address 'any'); start it from the peer"),
    ])
    func refusals(names: [String], message: String) {
        let f = Fixture()
        var s = Selection()
        s.names = names
        guard case let .failure(e) = f.manager.activate(s) else {
            Issue.record("activated \(names)")
            return
        }
        #expect(e.description == message)
        #expect(f.manager.tunnels.isEmpty && f.v1.requests.isEmpty && f.v2.requests.isEmpty)
    }

    @Test func anActiveTunnelIsNotStartedTwice() {
        let f = Fixture()
        established(f)
        guard case let .failure(e) = f.manager.activate(f.named("site_b")) else {
            Issue.record("activated twice")
            return
        }
        #expect(e.description == "tunnel 'site_b' is already up as tunnel 1; remove it first to restart it")
        guard case let .failure(n) = f.manager.activate(f.numbered(1)) else {
            Issue.record("activated by number twice")
            return
        }
        #expect(n.description == "tunnel 1 'site_b' is already active; remove it first to restart it")
        guard case let .failure(u) = f.manager.activate(f.numbered(7)) else { return }
        #expect(u.description == "no tunnel number 7; see ike cmd=list")
    }

    @Test func noSelectorMeansTheAutoTunnels() {
        let f = Fixture()
        #expect(f.manager.activate(Selection()).get() == [1])
        #expect(f.manager.tunnel(1)?.name == "site_b")
        let none = Fixture("config tunnel 'x'\n\toption remote_address 192.0.2.5\n\toption psk k\n")
        guard case let .failure(e) = none.manager.activate(Selection()) else { return }
        #expect(e.description == "no enabled tunnel has start 'auto'; name tunnels with namelist=NAME")
    }

    @Test func selectByRemoteIDAndByAddresses() {
        let f = Fixture()
        var byID = Selection()
        byID.remoteID = .address(IPAddress("203.0.113.9")!)
        #expect(f.manager.activate(byID).get() == [1])
        #expect(f.manager.tunnel(1)?.name == "site_c")
        var byAddress = Selection()
        byAddress.addresses = (local, remote)
        #expect(f.manager.activate(byAddress).get() == [2])
        #expect(f.manager.tunnel(2)?.name == "site_b")
    }

    @Test func removeDeletesAtThePeerAndInTheKernel() {
        let f = Fixture()
        established(f)
        #expect(f.manager.remove(f.numbered(1)).get() == [1])
        #expect(f.manager.tunnels.isEmpty)
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.v2.requests.last == "delete 1 phase 1")
        #expect(f.events.suffix(3) == [
            "event tmd: tunnel 1 'site_b': removing",
            "event tmd: tunnel 1 'site_b': filter rules and SAs removed from the kernel",
            "event tmd: tunnel 1 'site_b': removed",
        ])
        guard case let .failure(e) = f.manager.remove(f.numbered(1)) else { return }
        #expect(e.description == "no tunnel number 1; see ike cmd=list")
    }

    @Test func removePhase2KeepsPhase1() {
        let f = Fixture()
        established(f)
        #expect(f.manager.remove(f.named("site_b"), phase: .two).get() == [1])
        #expect(f.status(1) == "Active/-")
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.v2.requests.last == "delete 1 phase 2")
    }

    @Test func removeAllAndTheKernelIsClean() {
        let f = Fixture()
        established(f)
        _ = f.manager.activate(f.named("site_c"))
        _ = f.manager.negotiatedByEngine(tunnelName: "dialin", phase1(IPAddress("203.0.113.50")!), child(in: 7, out: 8, remoteNet: "10.3.0.0/24"))
        #expect(f.manager.remove(Selection(), all: true).get() == [1, 2, 3])
        #expect(f.manager.tunnels.isEmpty)
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.v1.requests.last == "delete 2 phase 1")
    }

    @Test func aPeerDeletingPhase2LeavesPhase1Up() {
        let f = Fixture()
        established(f)
        f.manager.handle(.deleted(1, .two))
        #expect(f.status(1) == "Active/-")
        #expect(f.kernel.sas.isEmpty)
        // site_b is `start 'auto'`: without its phase 1 it waits for its next attempt.
        f.manager.handle(.deleted(1, .one))
        #expect(f.manager.tunnels.map { $0.number } == [1] && f.manager.tunnels[0].isFailed && f.manager.tunnels[0].nextAttempt != nil)
    }

    /// An engine that holds no phase 1 for the tunnel any more (it went with phase 2)
    /// leaves no row that says Active over an empty kernel: the tunnel is down, and a
    /// `start 'auto'` one waits for its next attempt.
    @Test func phase2GoneWithNoPhase1AtTheEngineTakesTheTunnelDown() {
        let f = Fixture()
        established(f)
        f.v2.held[1] = nil
        f.manager.handle(.deleted(1, .two))
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.manager.tunnels.map { $0.number } == [1] && f.manager.tunnels[0].isFailed && f.manager.tunnels[0].nextAttempt != nil)
    }

    @Test func removingPhase2WithNoPhase1AtTheEngineRemovesTheTunnel() {
        let f = Fixture()
        established(f)
        f.v2.held[1] = nil
        #expect(f.manager.remove(f.named("site_b"), phase: .two).get() == [1])
        #expect(f.manager.tunnels.isEmpty && f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.v2.requests.last == "delete 1 phase 1")
    }

    /// The peer deleted phase 2 (its rekey crossed ours) and then made a new one on the
    /// same phase 1: the tunnel takes it and is Active again.
    @Test(arguments: [true, false]) func aNewPhase2FromThePeerAfterItsDeleteIsTaken(asRekey: Bool) {
        let f = Fixture()
        established(f)
        f.manager.handle(.deleted(1, .two))
        #expect(f.status(1) == "Active/-")
        let next = child(in: 0xc000_0031, out: 0xc000_0032)
        f.manager.handle(asRekey ? .phase2Rekeyed(1, next) : .phase2Created(1, next))
        #expect(f.status(1) == "Active/Active")
        #expect(f.manager.tunnel(1)?.installed?.inboundSPI == 0xc000_0031)
        #expect(f.kernel.sas.count == 2 && f.kernel.policies.count == 3)
    }

    @Test func aTunnelStartedByHandIsGoneWhenThePeerDeletesPhase1() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_c"))
        f.manager.handle(.phase1Created(1, phase1(IPAddress("203.0.113.9")!)))
        f.manager.handle(.phase2Created(1, child()))
        f.manager.handle(.deleted(1, .one))
        #expect(f.manager.tunnels.isEmpty)
    }
}

@Suite struct DeadPeerTests {
    func established(_ f: Fixture) {
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        f.v2.held[1] = (phase1(), child().withoutKeys)
    }

    /// The restarted tunnel keeps its number, as one the peer deleted does: scripts and
    /// the operator follow it by that number.
    @Test func restartStartsTheTunnelAgain() {
        let f = Fixture()
        established(f)
        f.manager.handle(.peerDead(1))
        #expect(f.manager.tunnels.map { $0.number } == [1])
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.status(1) == "Negotiating/Negotiating")
        #expect(f.v2.requests.last == "phase1 1 site_b 198.51.100.7")
        #expect(f.events.contains("event tmd: tunnel 1 'site_b': activation requested"))
        #expect(f.events.contains("error tmd: tunnel 1 'site_b': the peer does not answer liveness checks; dpd_action 'restart'"))
    }

    /// The man page promises `restart` whichever side initiated: a responder's tunnel
    /// whose configuration names its peer is started again by us, after one retry delay
    /// (the peer most likely restarts it itself); a template's instance (remote_address
    /// 'any') is cleared.
    @Test func restartAlsoRestartsATunnelWeAnswered() {
        let f = Fixture()
        #expect(f.manager.negotiatedByEngine(tunnelName: "site_b", phase1(), child()) == 1)
        #expect(f.manager.tunnel(1)?.role == .responder)
        f.manager.handle(.peerDead(1))
        #expect(f.manager.tunnel(1)?.role == .initiator)
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.status(1) == "Failed/Failed")
        #expect(!f.v2.requests.contains { $0.hasPrefix("phase1") })
        f.manager.tick(now: Instant(nanoseconds: 1_000_000_000_000))
        #expect(f.status(1) == "Negotiating/Negotiating")
        #expect(f.v2.requests.last == "phase1 1 site_b 198.51.100.7")
        #expect(f.manager.negotiatedByEngine(tunnelName: "dialin", phase1(IPAddress("203.0.113.50")!), child()) == 2)
        f.manager.handle(.peerDead(2))
        #expect(f.manager.tunnel(2) == nil && f.manager.tunnels.map { $0.number } == [1])
    }

    /// A peer that refuses our authentication after IKE_AUTH (its constraint check
    /// failed): the tunnel fails with its reason and leaves nothing in the kernel.
    @Test func aFailureAfterEstablishmentRemovesTheKernelState() {
        let f = Fixture()
        established(f)
        #expect(!f.kernel.sas.isEmpty)
        f.manager.handle(.phase1Failed(1, reason: "the peer refused our authentication"))
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.status(1) == "Failed/Failed")
        #expect(f.manager.tunnel(1)?.failure == "step 3: phase 1 failed: the peer refused our authentication")
    }

    @Test func clearRemovesIt() {
        let f = Fixture(twoTunnels.replacingOccurrences(of: "\toption start 'auto'\n", with: "\toption start 'auto'\n\toption dpd_action 'clear'\n"))
        established(f)
        f.manager.handle(.peerDead(1))
        #expect(f.manager.tunnels.isEmpty)
        #expect(f.kernel.sas.isEmpty)
    }
}

@Suite struct TrapTests {
    static let config = """
        config tunnel 'trapped'
        \toption remote_address '198.51.100.7'
        \toption local_address '192.0.2.1'
        \toption psk 'k'
        \tlist local_subnet '10.1.0.0/24'
        \tlist remote_subnet '10.2.0.0/24'
        \toption start 'trap'
        """

    @Test func trafficStartsTheTunnelAndItsPolicyReplacesTheTrap() throws {
        let f = Fixture(TrapTests.config)
        f.manager.installTraps()
        let out = PolicyIdentifier(source: try Subnet.parse("10.1.0.0/24").get(), destination: try Subnet.parse("10.2.0.0/24").get(),
                                   direction: .outbound)
        #expect(f.kernel.policies[out]?.reqid == TunnelManager.reqidBase + 0x7000)
        #expect(f.manager.tunnels.isEmpty)
        f.manager.handle(.acquire(source: out.source, destination: out.destination))
        #expect(f.v2.requests == ["phase1 1 trapped 198.51.100.7"])
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        #expect(f.status(1) == "Active/Active")
        // The tunnel's policy took the selector over, with the trap's reqid kept for the
        // tunnel (its SAs then replace the kernel's larval one too).
        #expect(f.kernel.policies[out]?.templateDestination == remote)
        #expect(f.kernel.sas.values.allSatisfy { $0.reqid == TunnelManager.reqidBase + 0x7000 })
        #expect(f.kernel.policies.count == 3)
        // A second acquire while it is up starts nothing.
        f.manager.handle(.acquire(source: out.source, destination: out.destination))
        #expect(f.manager.tunnels.count == 1)
        // Removed, the tunnel leaves its trap behind again.
        _ = f.manager.remove(f.numbered(1))
        #expect(f.kernel.policies[out]?.reqid == TunnelManager.reqidBase + 0x7000)
        #expect(f.kernel.policies.count == 1 && f.kernel.sas.isEmpty)
    }

    /// Another program moved the tunnel to a new peer address in the kernel: the tunnel
    /// and its engine follow, and a removal then finds the SAs where they are now.
    @Test func aKernelMigrateMovesTheTunnel() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        let moved = IPAddress("203.0.113.9")!
        let from = KernelEvent.Endpoints(source: local, destination: remote), to = KernelEvent.Endpoints(source: local, destination: moved)
        f.kernel.migrate(reqid: TunnelManager.reqidBase + 1, from: from, to: to)
        // The out policy reports (local, remote); in and fwd report it reversed: one move.
        f.manager.handle(.migrate(reqid: TunnelManager.reqidBase + 1, from: from, to: to))
        f.manager.handle(.migrate(reqid: TunnelManager.reqidBase + 1, from: .init(source: remote, destination: local),
                                  to: .init(source: moved, destination: local)))
        #expect(f.v2.requests.filter { $0.hasPrefix("migrate") } == ["migrate 1 192.0.2.1 203.0.113.9"])
        #expect(f.manager.tunnel(1)?.remoteAddress == moved)
        #expect(f.events.contains("event tmd: tunnel 1 'site_b': the kernel moved its SAs from 192.0.2.1 <-> 198.51.100.7 to 192.0.2.1 <-> 203.0.113.9 (migrate)"))
        // Another reqid's migrate is not ours to follow.
        f.manager.handle(.migrate(reqid: 7, from: .init(source: local, destination: moved), to: from))
        #expect(f.manager.tunnel(1)?.remoteAddress == moved)
        #expect(f.manager.remove(f.numbered(1)).get() == [1])
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
    }

    @Test func aSoftExpiryRekeysPhase2() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        f.manager.handle(.expire(SAIdentifier(destination: local, spi: 0xc000_0001), reqid: TunnelManager.reqidBase + 1, hard: false))
        #expect(f.v2.requests.last == "rekey 1 phase 2")
        f.manager.handle(.expire(SAIdentifier(destination: local, spi: 0xc000_0001), reqid: 7, hard: false))
        #expect(f.v2.requests.last == "rekey 1 phase 2")
    }
}

@Suite struct HoldTests {
    static let config = """
        config tunnel 'held'
        \toption remote_address '198.51.100.7'
        \toption local_address '192.0.2.1'
        \toption psk 'k'
        \tlist local_subnet '10.1.0.0/24'
        \tlist remote_subnet '10.2.0.0/24'
        \toption dpd_action 'hold'
        """

    /// dpd_action 'hold': the dead peer's SAs go, a trap holds the tunnel's traffic, and
    /// the next packet starts the tunnel again under its number, whose policy takes the
    /// selector over.
    @Test func aDeadPeerLeavesATrapAndTrafficRestartsTheTunnel() throws {
        let f = Fixture(HoldTests.config)
        _ = f.manager.activate(f.named("held"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        let out = PolicyIdentifier(source: try Subnet.parse("10.1.0.0/24").get(), destination: try Subnet.parse("10.2.0.0/24").get(),
                                   direction: .outbound)
        f.manager.handle(.peerDead(1))
        #expect(f.manager.tunnels.isEmpty && f.kernel.sas.isEmpty)
        #expect(f.kernel.policies.count == 1 && f.kernel.policies[out]?.reqid == TunnelManager.reqidBase + 0x7000)
        #expect(f.events.contains("event tmd: tunnel 1 'held': removed; its traffic is held until it starts the tunnel again"))
        // The traffic starts it again under the number it had (scripts follow tunnel 1).
        f.manager.handle(.acquire(source: out.source, destination: out.destination))
        #expect(f.v2.requests.last == "phase1 1 held 198.51.100.7")
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        #expect(f.status(1) == "Active/Active")
        #expect(f.manager.tunnels.map(\.number) == [1])
        #expect(f.kernel.policies[out]?.templateDestination == remote && f.kernel.policies.count == 3)
        // More traffic while it is up starts nothing.
        f.manager.handle(.acquire(source: out.source, destination: out.destination))
        #expect(f.manager.tunnels.map(\.number) == [1] && f.v2.requests.filter { $0.hasPrefix("phase1") }.count == 2)
        // Removed by hand, the hold is over: nothing is left in the kernel.
        _ = f.manager.remove(f.numbered(1))
        #expect(f.kernel.policies.isEmpty && f.kernel.sas.isEmpty)
        f.manager.handle(.acquire(source: out.source, destination: out.destination))
        #expect(f.manager.tunnels.isEmpty)
    }

    /// While it is held the tunnel is in no table row, yet `remove` by its name, its
    /// number or `all` ends the hold: the trap goes, and traffic starts nothing.
    @Test(arguments: ["name", "number", "all"])
    func removeEndsAHoldWhileTheTunnelIsDown(by: String) throws {
        let f = Fixture(HoldTests.config)
        _ = f.manager.activate(f.named("held"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        f.manager.handle(.peerDead(1))
        #expect(f.manager.heldTunnels == ["held": 1] && f.kernel.policies.count == 1)
        let result = switch by {
        case "name": f.manager.remove(f.named("held"))
        case "number": f.manager.remove(f.numbered(1))
        default: f.manager.remove(Selection(), all: true)
        }
        #expect(result.get() == [1])
        #expect(f.manager.heldTunnels.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.events.contains("event tmd: tunnel 1 'held': removed; its traffic is no longer held"))
        let out = PolicyIdentifier(source: try Subnet.parse("10.1.0.0/24").get(), destination: try Subnet.parse("10.2.0.0/24").get(),
                                   direction: .outbound)
        f.manager.handle(.acquire(source: out.source, destination: out.destination))
        #expect(f.manager.tunnels.isEmpty)
        // Nothing is held any more: the same removal now finds nothing.
        if by != "all" {
            let again = by == "name" ? f.manager.remove(f.named("held")) : f.manager.remove(f.numbered(1))
            if case .success = again { Issue.record("a second removal found the hold again") }
        }
    }
}
