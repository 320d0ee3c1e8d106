import IKECore
import Foundation
import IKEWire
import Testing
import UCI
@testable import TunnelManager

@Suite struct ReloadTests {
    /// site_b (auto) established, site_c (manual) started.
    func running() -> Fixture {
        let f = Fixture()
        _ = f.manager.startAutoTunnels()
        f.manager.handle(.phase1Created(1, phase1()))
        f.manager.handle(.phase2Created(1, child()))
        _ = f.manager.activate(f.named("site_c"))
        return f
    }

    func config(_ text: String) -> Configuration { Configuration.load(text, file: "ike.conf").get() }

    @Test func anUnchangedFileTouchesNothing() {
        let f = running()
        let journal = f.kernel.journal, requests = f.v2.requests
        let summary = f.manager.reload(config("\n# a comment moves every line\n" + twoTunnels))
        #expect(summary.unchanged == ["site_b", "site_c", "dialin", "off"])
        #expect(summary.changed.isEmpty && summary.added.isEmpty && summary.removed.isEmpty)
        #expect(f.kernel.journal == journal && f.v2.requests == requests)
        #expect(f.status(1) == "Active/Active")
    }

    @Test func changedRemovedAndAddedTunnels() {
        let f = running()
        let edited = twoTunnels
            .replacingOccurrences(of: "\tlist remote_subnet '10.2.0.0/24'", with: "\tlist remote_subnet '10.9.0.0/24'")
            .replacingOccurrences(of: "config tunnel 'site_c'\n\toption remote_address '203.0.113.9'\n\toption psk 'k'\n\toption version '1'\n", with: "")
            + "\nconfig tunnel 'site_d'\n\toption remote_address '203.0.113.11'\n\toption psk 'k'\n\toption start 'auto'\n"
        let summary = f.manager.reload(config(edited))
        #expect(summary.changed == ["site_b"])
        #expect(summary.removed == ["site_c"])
        #expect(summary.added == ["site_d"])
        #expect(summary.unchanged == ["dialin", "off"])
        // site_b was torn down (kernel cleaned, peer told) and started again as tunnel 3.
        #expect(f.manager.tunnel(1) == nil)
        #expect(f.v2.requests.contains("delete 1 phase 1"))
        #expect(f.kernel.sas.isEmpty)
        #expect(f.manager.tunnels.map(\.name) == ["site_b", "site_d"])
        #expect(f.manager.tunnels.map(\.number) == [3, 4])
        #expect(f.manager.tunnel(3)?.config.remoteSubnets.map(\.description) == ["10.9.0.0/24"])
        #expect(f.v1.requests.last == "delete 2 phase 1")
    }

    @Test func aChangedManualTunnelThatWasDownStaysDown() {
        let f = Fixture()
        let summary = f.manager.reload(config(twoTunnels.replacingOccurrences(of: "option version '1'", with: "option version '2'")))
        #expect(summary.changed == ["site_c"])
        #expect(f.manager.tunnels.isEmpty)
    }

    @Test func theLogLevelFollowsTheFile() {
        let f = Fixture()
        _ = f.manager.reload(config("config ike\n\toption log_level 'error'\n" + twoTunnels))
        f.manager.log.event(.tmd, "hidden")
        #expect(!f.sink.lines.contains("event tmd: hidden"))
    }
}
