import IKECore
import IKEWire
import Kernel
import Testing
@testable import TunnelManager

/// The seed's seven steps as the initiator and the responder, and a failure at each.
@Suite struct SevenStepsTests {
    @Test func initiatorRunsAllSevenStepsInOrder() {
        let f = Fixture()
        #expect(f.manager.activate(f.named("site_b")).get() == [1])
        #expect(f.v2.requests == ["phase1 1 site_b 198.51.100.7"])
        #expect(f.status(1) == "Negotiating/Negotiating")
        f.manager.handle(.phase1Created(1, phase1()))
        #expect(f.v2.requests.last == "phase2 1")
        #expect(f.status(1) == "Active/Negotiating")
        f.manager.handle(.phase2Created(1, child()))
        #expect(f.status(1) == "Active/Active")
        #expect(f.events == [
            "event tmd: tunnel 1 'site_b': activation requested",
            "event tmd: tunnel 1 'site_b': phase 1 connection request to ikev2d for 198.51.100.7",
            "event tmd: tunnel 1 'site_b': phase 1 SA created with 198.51.100.7 (ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519)",
            "event tmd: tunnel 1 'site_b': phase 2 connection request to ikev2d",
            "event tmd: tunnel 1 'site_b': phase 2 SA created (ENCR_AES_GCM_16_256, spi in 0xc0000001 out 0xc0000002)",
            "event tmd: tunnel 1 'site_b': SAs inserted into the kernel (memory: spi in 0xc0000001 out 0xc0000002)",
            "event tmd: tunnel 1 'site_b': filter rules inserted (10.1.0.0/24 <-> 10.2.0.0/24)",
        ])
        #expect(f.kernel.journal == [
            "addSA esp spi 0xc0000001 dst 192.0.2.1",
            "addSA esp spi 0xc0000002 dst 198.51.100.7",
            "addPolicy 10.1.0.0/24 -> 10.2.0.0/24 out",
            "addPolicy 10.2.0.0/24 -> 10.1.0.0/24 in",
            "addPolicy 10.2.0.0/24 -> 10.1.0.0/24 fwd",
        ])
        let outbound = f.kernel.sas[SAIdentifier(destination: remote, spi: 0xc000_0002)]
        #expect(outbound?.source == local)
        #expect(outbound?.reqid == TunnelManager.reqidBase + 1)
        #expect(outbound?.softLifetimeSeconds == 3240 && outbound?.hardLifetimeSeconds == 3600)
        let fwd = f.kernel.policies.values.first { $0.id.direction == .forward }
        #expect(fwd?.templateSource == remote && fwd?.templateDestination == local)
    }

    @Test func phaseOneOnlyThenPhaseTwoByNumber() {
        let f = Fixture()
        #expect(f.manager.activate(f.named("site_b"), phase: .one).get() == [1])
        f.manager.handle(.phase1Created(1, phase1()))
        #expect(f.status(1) == "Active/-")
        #expect(f.v2.requests == ["phase1 1 site_b 198.51.100.7"])
        #expect(f.manager.activate(f.numbered(1), phase: .two).get() == [1])
        #expect(f.v2.requests.last == "phase2 1")
        f.manager.handle(.phase2Created(1, child()))
        #expect(f.status(1) == "Active/Active")
    }

    @Test func ikev1TunnelsGoToIsakmpd() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_c"))
        #expect(f.v1.requests == ["phase1 1 site_c 203.0.113.9"])
        #expect(f.v2.requests.isEmpty)
        #expect(f.events[1] == "event tmd: tunnel 1 'site_c': phase 1 connection request to isakmpd for 203.0.113.9")
    }

    @Test func failureAtStep3() {
        let f = Fixture()
        f.v2.immediate = [.phase1Failed(1, reason: "AUTHENTICATION_FAILED")]
        _ = f.manager.activate(f.named("site_b"))
        #expect(f.status(1) == "Failed/Failed")
        #expect(f.manager.tunnel(1)?.failure == "step 3: phase 1 failed: AUTHENTICATION_FAILED")
        #expect(f.events.suffix(2).first == "error tmd: tunnel 1 'site_b': phase 1 failed: AUTHENTICATION_FAILED")
        #expect(f.v2.requests == ["phase1 1 site_b 198.51.100.7"])
    }

    @Test func failureAtStep5() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Failed(1, reason: "NO_PROPOSAL_CHOSEN"))
        #expect(f.status(1) == "Active/Failed")
        #expect(f.events.suffix(2).first == "error tmd: tunnel 1 'site_b': phase 2 failed: NO_PROPOSAL_CHOSEN")
        #expect(f.kernel.journal.isEmpty)
    }

    /// A tunnel failed at step 5 whose phase 1 the engine still holds: the phase 2 the
    /// engine makes on it next (the peer's Quick Mode, or a rekey report) brings the
    /// tunnel up again, with its SAs in the kernel, and no attempt from scratch follows.
    @Test(arguments: [false, true]) func aPhase2AfterAFailureAtStep5IsTaken(asRekey: Bool) {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Failed(1, reason: "no answer"))
        #expect(f.status(1) == "Active/Failed")
        f.v2.held[1] = (phase1(), nil)
        f.manager.handle(asRekey ? .phase2Rekeyed(1, child(in: 5, out: 6)) : .phase2Created(1, child(in: 5, out: 6)))
        #expect(f.status(1) == "Active/Active")
        #expect(f.manager.tunnel(1)?.nextAttempt == nil)
        #expect(f.kernel.sas.keys.map { $0.spi }.sorted() == [5, 6] && f.kernel.policies.count == 3)
        #expect(f.events.contains("event tmd: tunnel 1 'site_b': phase 2 SA created after the failure; the tunnel is up again (ENCR_AES_GCM_16_256, spi in 0x00000005 out 0x00000006)"))
    }

    /// One whose phase 1 is gone too is not: its next attempt starts from the beginning.
    @Test func aPhase2ReportWithoutPhase1LeavesTheFailure() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Failed(1, reason: "no answer"))
        f.manager.handle(.phase2Rekeyed(1, child(in: 5, out: 6)))
        #expect(f.status(1).hasSuffix("/Failed") && f.kernel.sas.isEmpty)
    }

    @Test func failureAtStep6LeavesNothingInTheKernel() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.kernel.failNext("addSA", errno: 93, message: "Protocol not supported")
        f.manager.handle(.phase2Created(1, child()))
        #expect(f.status(1) == "Active/Failed")
        #expect(f.manager.tunnel(1)?.failure == "step 6: kernel SA insertion failed: addSA: Protocol not supported (errno 93)")
        #expect(f.events.suffix(2).first == "error tmd: tunnel 1 'site_b': kernel SA insertion failed: addSA: Protocol not supported (errno 93)")
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.v2.requests.last == "delete 1 phase 2")
    }

    @Test func failureAtStep7RollsBackTheSAs() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.kernel.failNext("addPolicy", errno: 17, message: "File exists")
        f.manager.handle(.phase2Created(1, child()))
        #expect(f.status(1) == "Active/Failed")
        #expect(f.events.suffix(2).first == "error tmd: tunnel 1 'site_b': filter rule insertion failed: addPolicy: File exists (errno 17)")
        #expect(f.kernel.sas.isEmpty && f.kernel.policies.isEmpty)
        #expect(f.kernel.journal.suffix(2) == ["deleteSA esp spi 0xc0000001 dst 192.0.2.1", "deleteSA esp spi 0xc0000002 dst 198.51.100.7"])
    }

    @Test func aFailedTunnelCanBeActivatedAgainWithANewNumber() {
        let f = Fixture()
        f.v2.immediate = [.phase1Failed(1, reason: "timeout")]
        _ = f.manager.activate(f.named("site_b"))
        #expect(f.manager.activate(f.named("site_b")).get() == [2])
        #expect(f.manager.tunnel(1) == nil)
        #expect(f.status(2) == "Negotiating/Negotiating")
    }

    @Test func responderRunsSteps3To7WithoutRequests() {
        let peer = IPAddress("203.0.113.50")!
        let f = Fixture()
        let number = f.manager.negotiatedByEngine(tunnelName: "dialin", phase1(peer), child())
        #expect(number == 1)
        #expect(f.v2.requests.isEmpty)
        #expect(f.manager.tunnel(1)?.role == .responder)
        #expect(f.status(1) == "Active/Active")
        #expect(f.events == [
            "event tmd: tunnel 1 'dialin': phase 1 SA created as responder with 203.0.113.50 (ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519)",
            "event tmd: tunnel 1 'dialin': phase 2 SA created as responder (ENCR_AES_GCM_16_256, spi in 0xc0000001 out 0xc0000002)",
            "event tmd: tunnel 1 'dialin': SAs inserted into the kernel (memory: spi in 0xc0000001 out 0xc0000002)",
            "event tmd: tunnel 1 'dialin': filter rules inserted (10.1.0.0/24 <-> 10.2.0.0/24)",
        ])
        // A second peer against the same template gets a tunnel of its own.
        let second = f.manager.negotiatedByEngine(tunnelName: "dialin", phase1(IPAddress("203.0.113.51")!), child(in: 5, out: 6, remoteNet: "10.3.0.0/24"))
        #expect(second == 2)
        #expect(f.kernel.sas.count == 4)
        #expect(f.kernel.policies.count == 6)
    }

    @Test func responderForAnUnknownTunnelIsRefused() {
        let f = Fixture()
        #expect(f.manager.negotiatedByEngine(tunnelName: "nope", phase1(), child()) == nil)
        #expect(f.manager.tunnels.isEmpty)
        #expect(f.events == ["error tmd: a peer at 198.51.100.7 negotiated tunnel 'nope', which is not configured or disabled; refused (its SAs are deleted)"])
    }

    @Test func lateOrDuplicateReportsAreIgnored() {
        let f = Fixture()
        f.manager.handle(.phase1Created(9, phase1()))
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase2Created(1, child()))
        #expect(f.status(1) == "Negotiating/Negotiating")
        #expect(f.kernel.journal.isEmpty)
    }

    @Test func autoTunnelsStartWithTheDaemon() {
        let f = Fixture()
        #expect(f.manager.startAutoTunnels() == [1])
        #expect(f.manager.tunnel(1)?.name == "site_b")
    }
}

@Suite struct RekeyManagerTests {
    @Test func aPhase2RekeyReplacesTheKernelSAsAndKeepsThePolicies() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        #expect(f.manager.rekey(f.named("site_b"), phase: nil).get() == [1])
        #expect(f.v2.requests.last == "rekey 1 phase 2")
        let policies = f.kernel.policies
        f.manager.handle(.phase2Rekeyed(1, child(in: 0xc000_0011, out: 0xc000_0012)))
        #expect(f.kernel.policies == policies)
        #expect(Set(f.kernel.sas.keys.map { $0.spi }) == [0xc000_0011, 0xc000_0012])
        #expect(f.status(1) == "Active/Active")
        #expect(f.manager.tunnel(1)?.installed?.inboundSPI == 0xc000_0011)
        // The kernel has the ESP keys; the tunnel table's row holds SPIs and selectors,
        // no key (`InstalledSAs`).
        #expect(f.kernel.sas.values.allSatisfy { $0.encryptionKey.count > 0 })
        #expect(f.events.last == "event tmd: tunnel 1 'site_b': phase 2 rekeyed, SAs replaced in the kernel (spi in 0xc0000011 out 0xc0000012)")
    }

    @Test func aFailedRekeyInsertionKeepsTheOldSAs() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_b"))
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        f.kernel.failNext("addSA", errno: 12, message: "Cannot allocate memory")
        f.manager.handle(.phase2Rekeyed(1, child(in: 0xc000_0011, out: 0xc000_0012)))
        #expect(Set(f.kernel.sas.keys.map { $0.spi }) == [0xc000_0001, 0xc000_0002])
        #expect(f.manager.tunnel(1)?.installed?.inboundSPI == 0xc000_0001)
        #expect(f.events.last?.hasPrefix("error tmd: tunnel 1 'site_b': phase 2 rekey: kernel SA insertion failed") == true)
    }

    @Test func rekeyingNeedsAnActivePhase() {
        let f = Fixture()
        _ = f.manager.activate(f.named("site_b"))
        guard case let .failure(e) = f.manager.rekey(f.numbered(1), phase: .two) else { return }
        #expect(e.description == "tunnel 1 'site_b' has no active phase 2 to rekey")
    }
}
