import CNetlink
import CTestSupport
import Foundation
import IKECrypto
import IKEWire
import Kernel
@testable import Netlink
import Testing

/// The requests the daemon sends, byte for byte, against fixtures written field by field
/// as <linux/netlink.h> and <linux/xfrm.h> lay the structures out (x86-64, little-endian
/// host order; SPIs and ports in network order). The fixture writer shares nothing with
/// the code under test: the layout is spelled out here from the kernel headers.
struct KernelLayout {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 0xff), UInt8(v >> 8)] }
    mutating func be16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xff)] }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
    mutating func be32(_ v: UInt32) { for i in (0..<4).reversed() { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8((v >> (8 * UInt64(i))) & 0xff)) } }
    mutating func zeros(_ n: Int) { bytes += [UInt8](repeating: 0, count: n) }
    mutating func text(_ s: String, width: Int) { let t = Array(s.utf8); bytes += t; zeros(width - t.count) }
    /// xfrm_address_t: 16 bytes, the address first.
    mutating func address(_ a: String) { let b = IPAddress(a)!.bytes; bytes += b; zeros(16 - b.count) }

    /// struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; } before `body`.
    static func message(type: UInt16, flags: UInt16, _ body: (inout KernelLayout) -> Void) -> [UInt8] {
        var payload = KernelLayout()
        body(&payload)
        var m = KernelLayout()
        m.u32(UInt32(16 + payload.bytes.count))
        m.u16(type)
        m.u16(flags)
        m.u32(0)
        m.u32(0)
        return m.bytes + payload.bytes
    }

    /// struct nlattr { u16 len; u16 type; } and the value, padded to 4.
    mutating func attribute(_ type: UInt16, _ value: (inout KernelLayout) -> Void) {
        var v = KernelLayout()
        value(&v)
        u16(UInt16(4 + v.bytes.count))
        u16(type)
        bytes += v.bytes
        zeros((4 - v.bytes.count % 4) % 4)
    }

    /// struct xfrm_selector (56 bytes): daddr, saddr, dport, dport_mask, sport,
    /// sport_mask, family, prefixlen_d, prefixlen_s, proto, ifindex, user.
    mutating func selector(daddr: String = "0.0.0.0", saddr: String = "0.0.0.0", family: UInt16, dPrefix: UInt8 = 0, sPrefix: UInt8 = 0) {
        if family == 0 { zeros(32) } else { address(daddr); address(saddr) }
        zeros(8)
        u16(family); u8(dPrefix); u8(sPrefix); u8(0); zeros(3)
        u32(0); u32(0)
    }

    /// struct xfrm_lifetime_cfg (64 bytes).
    mutating func lifetimeConfig(limits: UInt64, soft: UInt64, hard: UInt64) {
        for _ in 0..<4 { u64(limits) }
        u64(soft); u64(hard); u64(0); u64(0)
    }

    /// struct xfrm_usersa_info (224 bytes).
    mutating func usersaInfo(daddr: String, spi: UInt32, saddr: String, limits: UInt64 = ~0, soft: UInt64 = 3240, hard: UInt64 = 3600,
                             reqid: UInt32, mode: UInt8, replayWindow: UInt8, flags: UInt8, selectorFamily: UInt16 = 0) {
        selector(family: selectorFamily)
        address(daddr); be32(spi); u8(50); zeros(3)            // struct xfrm_id
        address(saddr)
        lifetimeConfig(limits: limits, soft: soft, hard: hard)
        zeros(32)                                               // struct xfrm_lifetime_cur
        zeros(12)                                               // struct xfrm_stats
        u32(0)                                                  // seq
        u32(reqid); u16(2); u8(mode); u8(replayWindow); u8(flags); zeros(7)
    }
}

@Suite struct NetlinkMessageTests {
    static let NEWSA: UInt16 = 16, DELSA: UInt16 = 17, NEWPOLICY: UInt16 = 19, DELPOLICY: UInt16 = 20, ALLOCSPI: UInt16 = 22
    static let createExclusive: UInt16 = 0x400 | 0x200  // NLM_F_CREATE | NLM_F_EXCL
    static let ALG_AUTH_TRUNC: UInt16 = 20, ALG_CRYPT: UInt16 = 2, ALG_AEAD: UInt16 = 18, ENCAP: UInt16 = 4, REPLAY_ESN_VAL: UInt16 = 23
    static let TMPL: UInt16 = 5 | 0x8000  // libnl marks XFRMA_TMPL nested; the kernel's parser ignores the flag

    let local = IPAddress("192.0.2.1")!
    let remote = IPAddress("198.51.100.7")!

    func gcm(esn: Bool = false) -> SecurityAssociation {
        var sa = SecurityAssociation(
            id: SAIdentifier(destination: remote, spi: 0xc000_0002), source: local, reqid: 0x494b_0001, mode: .tunnel,
            cipher: Cipher(.aesGCM16, keyBits: 128), integrity: nil, encryptionKey: SecretBytes(Array(0..<20)),
            integrityKey: nil, encapsulation: nil, softLifetimeSeconds: 3240, hardLifetimeSeconds: 3600)
        sa.extendedSequenceNumbers = esn
        return sa
    }

    @Test func anAESGCMTunnelSA() throws {
        let expected = KernelLayout.message(type: Self.NEWSA, flags: Self.createExclusive) { m in
            m.usersaInfo(daddr: "198.51.100.7", spi: 0xc000_0002, saddr: "192.0.2.1", reqid: 0x494b_0001, mode: 1, replayWindow: 64, flags: 0)
            m.attribute(Self.ALG_AEAD) { a in  // struct xfrm_algo_aead: name[64], key_len (bits), icv_len (bits), key
                a.text("rfc4106(gcm(aes))", width: 64); a.u32(160); a.u32(128); a.bytes += Array(0..<20)
            }
        }
        #expect(try XFRMKernel.addSARequest(gcm()) == expected)
    }

    /// ESN: the flag in the SA info, the legacy window 0, and the window in
    /// XFRMA_REPLAY_ESN_VAL (struct xfrm_replay_state_esn with a 64-bit bitmap).
    @Test func anSAWithExtendedSequenceNumbers() throws {
        let expected = KernelLayout.message(type: Self.NEWSA, flags: Self.createExclusive) { m in
            m.usersaInfo(daddr: "198.51.100.7", spi: 0xc000_0002, saddr: "192.0.2.1", reqid: 0x494b_0001, mode: 1, replayWindow: 0, flags: 128)
            m.attribute(Self.ALG_AEAD) { a in a.text("rfc4106(gcm(aes))", width: 64); a.u32(160); a.u32(128); a.bytes += Array(0..<20) }
            m.attribute(Self.REPLAY_ESN_VAL) { r in
                r.u32(2)                                 // bmp_len (32-bit words)
                r.u32(0); r.u32(0); r.u32(0); r.u32(0)   // oseq, seq, oseq_hi, seq_hi
                r.u32(64)                                // replay_window
                r.u32(0); r.u32(0)                       // bmp
            }
        }
        #expect(try XFRMKernel.addSARequest(gcm(esn: true)) == expected)
    }

    /// AES-CBC with HMAC-SHA2-256 truncated to 128 bits, transport mode, in UDP (NAT-T).
    @Test func anAESCBCTransportSAInUDP() throws {
        let sa = SecurityAssociation(
            id: SAIdentifier(destination: remote, spi: 0xc000_0002), source: local, reqid: 0x494b_0001, mode: .transport,
            cipher: Cipher(.aesCBC, keyBits: 128), integrity: .hmacSHA2_256_128, encryptionKey: SecretBytes(Array(0..<16)),
            integrityKey: SecretBytes(Array(16..<48)), encapsulation: (4500, 4501), softLifetimeSeconds: 3240, hardLifetimeSeconds: 3600)
        let expected = KernelLayout.message(type: Self.NEWSA, flags: Self.createExclusive) { m in
            m.usersaInfo(daddr: "198.51.100.7", spi: 0xc000_0002, saddr: "192.0.2.1", reqid: 0x494b_0001, mode: 0, replayWindow: 64, flags: 0)
            m.attribute(Self.ALG_AUTH_TRUNC) { a in  // struct xfrm_algo_auth: name[64], key_len, trunc_len, key
                a.text("hmac(sha256)", width: 64); a.u32(256); a.u32(128); a.bytes += Array(16..<48)
            }
            m.attribute(Self.ALG_CRYPT) { a in  // struct xfrm_algo: name[64], key_len, key
                a.text("cbc(aes)", width: 64); a.u32(128); a.bytes += Array(0..<16)
            }
            m.attribute(Self.ENCAP) { e in  // struct xfrm_encap_tmpl: type, sport, dport, oa
                e.u16(2); e.be16(4500); e.be16(4501); e.zeros(2); e.zeros(16)
            }
        }
        #expect(try XFRMKernel.addSARequest(sa) == expected)
    }

    @Test func anSADeletion() throws {
        // struct xfrm_usersa_id: daddr, spi, family, proto.
        let expected = KernelLayout.message(type: Self.DELSA, flags: 0) { m in
            m.address("198.51.100.7"); m.be32(0xc000_0002); m.u16(2); m.u8(50); m.u8(0)
        }
        #expect(try XFRMKernel.deleteSARequest(SAIdentifier(destination: remote, spi: 0xc000_0002)) == expected)
        var key = ike_sa_key()
        key.daddr.a4 = UInt32(0x07_64_33_c6)  // 198.51.100.7 in network order
        key.spi = UInt32(0xc000_0002).bigEndian
        key.family = 2
        key.proto = 50
        // The sweep's own deletion (ours, not libnl's) is the same message.
        let sweep = ike_xfrm_delsa_request(&key)
        #expect(XFRMKernel.bytes { $0.pointee = sweep; return 0 } == expected)
    }

    @Test func anOutboundTunnelPolicyWithItsTemplate() throws {
        let policy = Policy(id: PolicyIdentifier(source: try Subnet.parse("10.1.0.0/24").get(), destination: try Subnet.parse("10.2.0.0/16").get(),
                                                 direction: .outbound),
                            templateSource: local, templateDestination: remote, reqid: 0x494b_0001, mode: .tunnel, priority: 1000)
        let expected = KernelLayout.message(type: Self.NEWPOLICY, flags: Self.createExclusive) { m in
            // struct xfrm_userpolicy_info: sel, lft, curlft, priority, index, dir, action, flags, share.
            m.selector(daddr: "10.2.0.0", saddr: "10.1.0.0", family: 2, dPrefix: 16, sPrefix: 24)
            m.lifetimeConfig(limits: 0, soft: 0, hard: 0)
            m.zeros(32)
            m.u32(1000); m.u32(0); m.u8(1); m.u8(0); m.u8(0); m.u8(0); m.zeros(4)
            m.attribute(Self.TMPL) { t in
                // struct xfrm_user_tmpl: id, family, saddr, reqid, mode, share, optional, aalgos, ealgos, calgos.
                t.address("198.51.100.7"); t.be32(0); t.u8(50); t.zeros(3)
                t.u16(2); t.zeros(2)
                t.address("192.0.2.1")
                t.u32(0x494b_0001); t.u8(1); t.u8(0); t.u8(0); t.u8(0)
                t.u32(~0); t.u32(~0); t.u32(~0)
            }
        }
        #expect(try XFRMKernel.addPolicyRequest(policy) == expected)
        let deletion = KernelLayout.message(type: Self.DELPOLICY, flags: 0) { m in
            // struct xfrm_userpolicy_id: sel, index, dir.
            m.selector(daddr: "10.2.0.0", saddr: "10.1.0.0", family: 2, dPrefix: 16, sPrefix: 24)
            m.u32(0); m.u8(1); m.zeros(3)
        }
        #expect(try XFRMKernel.deletePolicyRequest(policy.id) == deletion)
    }

    @Test func anSPIAllocation() {
        // struct xfrm_userspi_info: info (struct xfrm_usersa_info), min, max.
        let expected = KernelLayout.message(type: Self.ALLOCSPI, flags: 0) { m in
            m.usersaInfo(daddr: "198.51.100.7", spi: 0, saddr: "192.0.2.1", limits: 0, soft: 0, hard: 0,
                         reqid: 0x494b_8000, mode: 1, replayWindow: 0, flags: 0, selectorFamily: 2)
            m.u32(0x100); m.u32(0xffff_ffff)
        }
        let src = local.bytes, dst = remote.bytes
        let message = src.withUnsafeBytes { s in
            dst.withUnsafeBytes { d in ike_xfrm_allocspi_request(2, s.baseAddress, d.baseAddress, 4, 0x494b_8000, 0x100, 0xffff_ffff) }
        }
        #expect(XFRMKernel.bytes { $0.pointee = message; return 0 } == expected)
    }
}

extension KernelLayout {
    static let ACQUIRE: UInt16 = 23, EXPIRE: UInt16 = 24, MIGRATE: UInt16 = 33, XFRMA_MIGRATE: UInt16 = 17, XFRMA_POLICY_TYPE: UInt16 = 16

    /// struct xfrm_userpolicy_info (168 bytes) with selector 10.1.0.0/24 -> 10.2.0.0/24.
    mutating func userpolicyInfo(dir: UInt8) {
        selector(daddr: "10.2.0.0", saddr: "10.1.0.0", family: 2, dPrefix: 24, sPrefix: 24)
        lifetimeConfig(limits: 0, soft: 0, hard: 0)
        zeros(32)
        u32(1000); u32(0); u8(dir); u8(0); u8(0); u8(0); zeros(4)
    }

    /// struct xfrm_user_migrate (76 bytes) for an ESP tunnel.
    mutating func userMigrate(oldSource: String, oldDestination: String, newSource: String, newDestination: String, reqid: UInt32) {
        address(oldDestination); address(oldSource); address(newDestination); address(newSource)
        u8(50); u8(1); u16(0); u32(reqid); u16(2); u16(2)
    }

    /// XFRM_MSG_MIGRATE for the out policy 10.1.0.0/24 -> 10.2.0.0/24, as a mobility
    /// daemon sends it and as the kernel reports it (with a policy type attribute first).
    static func migrate(oldPeer: String, newPeer: String, reqid: UInt32, withPolicyType: Bool = false) -> [UInt8] {
        message(type: MIGRATE, flags: 0) { m in
            // struct xfrm_userpolicy_id: sel, index, dir.
            m.selector(daddr: "10.2.0.0", saddr: "10.1.0.0", family: 2, dPrefix: 24, sPrefix: 24)
            m.u32(0); m.u8(1); m.zeros(3)
            if withPolicyType { m.attribute(XFRMA_POLICY_TYPE) { t in t.u8(0); t.zeros(5) } }
            m.attribute(XFRMA_MIGRATE) { a in
                a.userMigrate(oldSource: "192.0.2.1", oldDestination: oldPeer, newSource: "192.0.2.1", newDestination: newPeer, reqid: reqid)
            }
        }
    }
}

/// The kernel's notifications, parsed from fixtures laid out as <linux/xfrm.h> defines
/// them; truncated ones are dropped, never read past their end.
@Suite struct KernelEventParsingTests {
    let acquire = KernelLayout.message(type: KernelLayout.ACQUIRE, flags: 0) { m in
        // struct xfrm_user_acquire: id, saddr, sel, policy, aalgos, ealgos, calgos, seq.
        m.address("198.51.100.7"); m.be32(0); m.u8(50); m.zeros(3)
        m.address("192.0.2.1")
        m.selector(daddr: "10.2.0.9", saddr: "10.1.0.5", family: 2, dPrefix: 32, sPrefix: 32)
        m.userpolicyInfo(dir: 1)
        m.u32(~0); m.u32(~0); m.u32(~0); m.u32(7)
    }

    let expire = KernelLayout.message(type: KernelLayout.EXPIRE, flags: 0) { m in
        // struct xfrm_user_expire: state, hard.
        m.usersaInfo(daddr: "192.0.2.1", spi: 0xc1c2_c3c4, saddr: "198.51.100.7", reqid: 0x494b_0003, mode: 1, replayWindow: 64, flags: 0)
        m.u8(1); m.zeros(7)
    }

    @Test func anAcquireNamesThePolicysSelector() throws {
        #expect(acquire.count == 16 + 280)
        #expect(XFRMEvents.parse(acquire) == .acquire(source: try Subnet.parse("10.1.0.0/24").get(), destination: try Subnet.parse("10.2.0.0/24").get()))
    }

    @Test func anExpireNamesTheSAAndWhetherItIsHard() {
        #expect(expire.count == 16 + 232)
        #expect(XFRMEvents.parse(expire) == .expire(SAIdentifier(destination: IPAddress("192.0.2.1")!, spi: 0xc1c2_c3c4), reqid: 0x494b_0003, hard: true))
    }

    @Test func aMigrateNamesTheOldAndNewEndpoints() {
        let expected = KernelEvent.migrate(reqid: 0x494b_0001,
                                           from: .init(source: IPAddress("192.0.2.1")!, destination: IPAddress("198.51.100.7")!),
                                           to: .init(source: IPAddress("192.0.2.1")!, destination: IPAddress("203.0.113.9")!))
        #expect(XFRMEvents.parse(KernelLayout.migrate(oldPeer: "198.51.100.7", newPeer: "203.0.113.9", reqid: 0x494b_0001)) == expected)
        #expect(XFRMEvents.parse(KernelLayout.migrate(oldPeer: "198.51.100.7", newPeer: "203.0.113.9", reqid: 0x494b_0001, withPolicyType: true)) == expected)
    }

    /// Every truncation of each notification (the length field saying so) is dropped.
    @Test func truncatedNotificationsAreDropped() {
        let migrate = KernelLayout.migrate(oldPeer: "198.51.100.7", newPeer: "203.0.113.9", reqid: 1)
        for message in [acquire, expire, migrate] {
            for length in 0..<message.count {
                var cut = Array(message[0..<length])
                if length >= 4 { cut.replaceSubrange(0..<4, with: [UInt8(length & 0xff), UInt8(length >> 8), 0, 0]) }
                #expect(XFRMEvents.parse(cut) == nil, "length \(length)")
            }
        }
        // A length field longer than the bytes is refused too.
        #expect(XFRMEvents.parse(Array(expire.dropLast(8))) == nil)
    }
}

/// The kernel's XFRM_MSG_MIGRATE, for real: another program moves our policy's tunnel
/// to a new peer address, and the event socket reports it.
@Suite(.enabled(if: getuid() == 0, "needs root for a private network namespace"))
struct KernelMigrateTests {
    @Test func aMigrateOfOurPolicyIsReported() throws {
        try inPrivateNetworkNamespace {
            let kernel = try XFRMKernel()
            let events = try XFRMEvents()
            let policy = Policy(id: PolicyIdentifier(source: subnetA, destination: subnetB, direction: .outbound),
                                templateSource: IPAddress("192.0.2.1")!, templateDestination: IPAddress("198.51.100.7")!,
                                reqid: 0x494b_0001, mode: .tunnel, priority: 1000)
            try kernel.addPolicy(policy)
            let request = KernelLayout.migrate(oldPeer: "198.51.100.7", newPeer: "203.0.113.9", reqid: 0x494b_0001)
            #expect(request.withUnsafeBytes { ike_test_xfrm_request($0.baseAddress, UInt32($0.count)) } == 0)
            #expect(events.read() == [.migrate(reqid: 0x494b_0001,
                                               from: .init(source: IPAddress("192.0.2.1")!, destination: IPAddress("198.51.100.7")!),
                                               to: .init(source: IPAddress("192.0.2.1")!, destination: IPAddress("203.0.113.9")!))])
            // The kernel moved the template: a second migrate from the old peer finds nothing to move.
            #expect(request.withUnsafeBytes { ike_test_xfrm_request($0.baseAddress, UInt32($0.count)) } != 0)
            try kernel.deletePolicy(policy.id)
        }
    }
}
