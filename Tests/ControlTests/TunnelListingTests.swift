@testable import Control
import Foundation
import IKECore
import IKECrypto
import IKEWire
import Kernel
import Testing
import TunnelManager
import UCI

/// A manager over an engine that does nothing by itself, for building table states.
final class SilentEngine: KeyingEngine {
    func requestPhase1(_ request: PhaseRequest) -> [EngineReport] { [] }
    func requestPhase2(_ request: PhaseRequest) -> [EngineReport] { [] }
    func configure(_ configuration: Configuration) {}
    func share(_ numbers: TunnelNumbers) {}
    func rekey(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport] { [] }

    func delete(_ tunnel: TunnelNumber, phase: Phase) -> [EngineReport] { [] }
    func migrate(_ tunnel: TunnelNumber, local: IPAddress, remote: IPAddress) -> [EngineReport] { [] }
    /// What the engine holds for each tunnel, as the test sets it.
    var held: [TunnelNumber: (phase1: Phase1SA, child: ChildSA?)] = [:]
    func sas(of tunnel: TunnelNumber) -> (phase1: Phase1SA, child: ChildSA?)? { held[tunnel] }
}

@Suite struct TunnelListingTests {
    let kernel = MemoryKernel()
    let manager: TunnelManager

    init() throws {
        let text = """
            config tunnel 'site_b'
            \toption remote_address '198.51.100.7'
            \toption local_address '192.0.2.1'
            \toption psk 'k'
            \tlist local_subnet '10.1.0.0/24'
            \tlist remote_subnet '10.2.0.0/24'
            config tunnel 'site_c'
            \toption remote_address '203.0.113.9'
            \toption local_id '@gw.example.org'
            \toption psk 'k'
            """
        guard case let .success(c) = Configuration.load(text, file: "ike.conf") else { throw TunnelError("config") }
        let v2 = SilentEngine()
        manager = TunnelManager(configuration: c, ikev1: SilentEngine(), ikev2: v2, kernel: kernel,
                                log: Logger(level: .none, sinks: []))
        var s = Selection()
        s.names = ["site_b"]
        _ = manager.activate(s)
        let local = IPAddress("192.0.2.1")!, remote = IPAddress("198.51.100.7")!
        let p1 = Phase1SA(
            localAddress: local, remoteAddress: remote, localID: .address(local), remoteID: .address(remote),
            initiatorSPI: 0x0102_0304_0506_0708, responderSPI: 0x1112_1314_1516_1718,
            algorithms: ChosenAlgorithms(cipher: Cipher(.aesGCM16, keyBits: 256), integrity: nil, prf: .hmacSHA2_256, group: .curve25519), natTraversal: false, lifetimeSeconds: 28800)
        manager.handle(.phase1Created(1, p1))
        guard case let .success(l) = Subnet.parse("10.1.0.0/24"), case let .success(r) = Subnet.parse("10.2.0.0/24") else { return }
        let child = ChildSA(
            inboundSPI: 0xc1c2_c3c4, outboundSPI: 0xd1d2_d3d4,
            algorithms: ChosenAlgorithms(cipher: Cipher(.aesGCM16, keyBits: 256), integrity: nil, prf: nil, group: .curve25519),
            inbound: DirectionKeys(encryption: SecretBytes([1, 2]), integrity: nil),
            outbound: DirectionKeys(encryption: SecretBytes([3, 4]), integrity: nil),
            localSelectors: [TrafficSelector(l)], remoteSelectors: [TrafficSelector(r)], transportMode: false, lifetimeSeconds: 3600)
        manager.handle(.phase2Created(1, child))
        // Once the tunnel is up, its SAs are the engine's to list.
        v2.held[1] = (p1, child.withoutKeys)
        s.names = ["site_c"]
        _ = manager.activate(s, phase: .one)
        kernel.traffic[SAIdentifier(destination: local, spi: 0xc1c2_c3c4)] = SACounters(bytes: 8400, packets: 100)
    }

    func table(_ options: ListOptions = ListOptions()) -> String {
        TunnelListing.table(TunnelListing.rows(manager, options), verbose: options.verbose,
                            counters: { self.kernel.counters($0) }, rekeyIn: { $0 == 1 ? (25000, 3100) : (nil, nil) })
    }

    @Test func theAIXTableExactly() {
        #expect(table() == """
            Phase  Tun Id  Status      Local Id                        Remote Id
            1      1       Active      192.0.2.1                       198.51.100.7
            2      1       Active      10.1.0.0-10.1.0.255             10.2.0.0-10.2.0.255
            1      2       Negotiating @gw.example.org                 203.0.113.9

            """)
    }

    @Test func columnsStartAtTheirOffsets() {
        let lines = table().split(separator: "\n").map(String.init)
        for line in lines {
            let chars = Array(line)
            for offset in [7, 15, 27, 59] {
                #expect(chars[offset] != " " && chars[offset - 1] == " ", "column at \(offset) in '\(line)'")
            }
        }
    }

    @Test func anEmptyTableIsTheHeaderAlone() {
        #expect(TunnelListing.table([], verbose: true, counters: { _ in nil }) == TunnelListing.header + "\n")
    }

    @Test func phaseAndSelectionFilters() {
        var o = ListOptions()
        o.phases = .two
        #expect(table(o).split(separator: "\n").count == 2)
        o.phases = .one
        o.numbers = [2]
        #expect(table(o).split(separator: "\n").dropFirst().map(String.init) == ["1      2       Negotiating @gw.example.org                 203.0.113.9"])
        o = ListOptions()
        o.names = ["site_b"]
        #expect(table(o).split(separator: "\n").count == 3)
    }

    @Test func verboseAddsAlgorithmsSPIsNATTLifetimesAndCounters() {
        var o = ListOptions()
        o.verbose = true
        o.numbers = [1]
        #expect(table(o) == """
            Phase  Tun Id  Status      Local Id                        Remote Id
            1      1       Active      192.0.2.1                       198.51.100.7
                   name site_b, IKEv2, initiator, 192.0.2.1 -> 198.51.100.7
                   algorithms ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519
                   spi i 0x0102030405060708 r 0x1112131415161718, NAT-T no, lifetime 28800s, rekey in 25000s
            2      1       Active      10.1.0.0-10.1.0.255             10.2.0.0-10.2.0.255
                   esp ENCR_AES_GCM_16_256, PFS CURVE_25519, mode tunnel
                   spi in 0xc1c2c3c4 out 0xd1d2d3d4, lifetime 3600s, rekey in 3100s
                   in 8400 bytes 100 packets, out 0 bytes 0 packets

            """)
    }

    @Test func jsonParsesBackWithTheRequiredFields() throws {
        let text = TunnelListing.json(TunnelListing.rows(manager, ListOptions()))
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
        let rows = try #require(parsed)
        #expect(rows.count == 3)
        for key in ["tunnel", "name", "phase", "status", "version", "role", "local_id", "remote_id", "local_address", "remote_address"] {
            #expect(rows.allSatisfy { $0[key] != nil }, "every row has \(key)")
        }
        #expect(rows[1]["status"] as? String == "Active")
        #expect(rows[1]["phase"] as? Int == 2)
        #expect(rows[1]["spi_in"] as? String == "0xc1c2c3c4")
        #expect(rows[2]["local_id"] as? String == "@gw.example.org")
        #expect(rows[2]["local_address"] is NSNull)
        #expect(TunnelListing.json([]) == "[]\n")
    }

    @Test func verboseJSONCarriesWhatTheVerboseTableShows() throws {
        var o = ListOptions()
        o.verbose = true
        let text = TunnelListing.json(TunnelListing.rows(manager, o), verbose: true,
                                      counters: { self.kernel.counters($0) }, rekeyIn: { $0 == 1 ? (25000, 3100) : (nil, nil) })
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(rows.count == 3)
        #expect(rows[0]["spi_r"] as? String == "0x1112131415161718")
        #expect(rows[0]["nat_t"] as? Bool == false)
        #expect(rows[0]["lifetime"] as? Int == 28800)
        #expect(rows[0]["rekey_in"] as? Int == 25000)
        #expect(rows[1]["esp"] as? String == "ENCR_AES_GCM_16_256")
        #expect(rows[1]["pfs"] as? String == "CURVE_25519")
        #expect(rows[1]["bytes_in"] as? Int == 8400)
        #expect(rows[1]["packets_in"] as? Int == 100)
        #expect(rows[1]["packets_out"] as? Int == 0)
        #expect(rows[2]["proposals"] as? [String] == TunnelConfig.defaultIKEProposals.map { $0.description })
    }

    @Test func theConfiguredListingShowsTunnelsThatAreNotInTheTable() throws {
        let text = """
            config tunnel 'site_b'
            \toption remote_address '198.51.100.7'
            \toption psk 'k'
            config tunnel 'site_d'
            \toption remote_address '203.0.113.20'
            \toption psk 'k'
            \toption version '1'
            \toption start 'auto'
            config tunnel 'off'
            \toption remote_address 'any'
            \toption psk 'k'
            \toption enabled '0'
            """
        guard case let .success(c) = Configuration.load(text, file: "ike.conf") else { throw TunnelError("config") }
        let rows = ConfiguredListing.rows(c, manager.tunnels, names: [])
        #expect(ConfiguredListing.table(rows) == """
            Name                Version  Start   Remote Address            Tun Id  Status
            site_b              2        manual  198.51.100.7              1       Active
            site_d              1        auto    203.0.113.20              -       Inactive
            off                 2        manual  any                       -       Disabled

            """)
        #expect(ConfiguredListing.table(ConfiguredListing.rows(c, manager.tunnels, names: ["site_d"])).split(separator: "\n").count == 2)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(ConfiguredListing.json(rows).utf8)) as? [[String: Any]])
        #expect(parsed.map { $0["name"] as? String } == ["site_b", "site_d", "off"])
        #expect(parsed[0]["tunnels"] as? [Int] == [1])
        #expect(parsed[1]["status"] as? String == "Inactive")
        #expect(parsed[2]["enabled"] as? Bool == false)
        #expect(parsed[1]["local_address"] is NSNull)
        // A tunnel whose traffic dpd_action 'hold' holds: its number, and Held.
        let held = ConfiguredListing.rows(c, manager.tunnels, held: ["site_d": 7], names: ["site_d"])
        #expect(ConfiguredListing.table(held) == """
            Name                Version  Start   Remote Address            Tun Id  Status
            site_d              1        auto    203.0.113.20              7       Held

            """)
        let heldJSON = try #require(try JSONSerialization.jsonObject(with: Data(ConfiguredListing.json(held).utf8)) as? [[String: Any]])
        #expect(heldJSON[0]["tunnels"] as? [Int] == [7] && heldJSON[0]["status"] as? String == "Held")
    }
}

@Suite struct UTCDateTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (1_609_459_199, "2020-12-31T23:59:59Z"),
        (2_208_988_800, "2040-01-01T00:00:00Z"),
        (4_107_542_400, "2100-03-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
    ])
    func secondsSince1970AsUTC(seconds: Int64, text: String) {
        #expect(UTCDate.time(seconds) == text)
    }
}
