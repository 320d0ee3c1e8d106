import CNetlink
import IKECrypto
import IKEWire
import Kernel
import Platform

/// The kernel's IPsec through netlink XFRM and libnl-xfrm: SAs (the seed's "kernel
/// tunnel cache") and policies (its "kernel dynamic filter table"). Every failure is a
/// `KernelError` naming the operation and libnl's text for the kernel's error.
public final class XFRMKernel: IPsecKernel {
    public let name = "xfrm"
    private let socket: OpaquePointer
    private var nextLarval: UInt32 = 0

    static let netlinkXFRM: Int32 = 6
    static let protocolESP: UInt32 = 50
    static let udpEncapESPinUDP: UInt32 = 2
    static let infinite: UInt64 = ~0
    static let stateESN: UInt32 = 128

    public init() throws(KernelError) {
        guard let socket = nl_socket_alloc() else {
            throw KernelError(operation: "nl_socket_alloc", errno: 12, message: "Cannot allocate memory")
        }
        let result = nl_connect(socket, XFRMKernel.netlinkXFRM)
        guard result == 0 else {
            nl_socket_free(socket)
            throw XFRMKernel.error("connect", result)
        }
        self.socket = socket
    }

    deinit { nl_socket_free(socket) }

    static func error(_ operation: String, _ result: Int32) -> KernelError {
        let text = nl_geterror(result).map { String(cString: $0) } ?? "error \(result)"
        return KernelError(operation: operation, errno: -result, message: text, libnl: true)
    }

    /// Sends a built request and turns the kernel's errno into a `KernelError`.
    private func transact(_ operation: String, build: (UnsafeMutablePointer<OpaquePointer?>) -> Int32) throws(KernelError) {
        var message: OpaquePointer? = nil
        let built = build(&message)
        guard built == 0, let message else { throw XFRMKernel.error(operation, built) }
        defer { nlmsg_free(message) }
        let errno = ike_nl_transact(socket, message)
        guard errno == 0 else {
            throw KernelError(operation: operation, errno: errno, message: SystemError("netlink", errno: errno).message)
        }
    }

    /// An nl_addr for an address (prefix length as given); the caller puts it.
    static func address(_ a: IPAddress, prefix: UInt8? = nil) -> OpaquePointer? {
        let bytes = a.bytes
        let addr = bytes.withUnsafeBytes { nl_addr_build(a.isV4 ? 2 : 10, $0.baseAddress, $0.count) }
        if let addr, let prefix { nl_addr_set_prefixlen(addr, Int32(prefix)) }
        return addr
    }

    static func family(_ a: IPAddress) -> UInt32 { a.isV4 ? 2 : 10 }

    static func mode(_ m: IPsecMode) -> UInt32 {
        switch m {
        case .transport: return 0
        case .tunnel: return 1
        }
    }

    // MARK: SAs

    /// The libnl SA for `sa`, with keys, lifetimes, replay state and encapsulation; the
    /// caller puts it.
    static func object(_ sa: SecurityAssociation) throws(KernelError) -> OpaquePointer {
        guard let choice = XFRMAlgorithms.esp(sa.cipher, sa.integrity) else {
            throw KernelError(operation: "addSA", errno: 95, message: "no XFRM algorithm for \(sa.cipher)")
        }
        guard let x = xfrmnl_sa_alloc() else { throw KernelError(operation: "addSA", errno: 12, message: "Cannot allocate memory") }
        do throws(KernelError) {
            try describe(x, sa.id, source: sa.source)
        } catch {
            xfrmnl_sa_put(x)
            throw error
        }
        _ = xfrmnl_sa_set_mode(x, XFRMKernel.mode(sa.mode))
        _ = xfrmnl_sa_set_reqid(x, sa.reqid)
        if sa.extendedSequenceNumbers {
            // The kernel takes the ESN replay state in its own attribute, and then wants
            // the legacy window in the SA info left at 0.
            _ = xfrmnl_sa_set_flags(x, XFRMKernel.stateESN)
            _ = xfrmnl_sa_set_replay_window(x, 0)
            let words = (sa.replayWindow + 31) / 32
            var bitmap = [UInt32](repeating: 0, count: Int(max(words, 1)))
            _ = bitmap.withUnsafeMutableBufferPointer {
                xfrmnl_sa_set_replay_state_esn(x, 0, 0, 0, 0, sa.replayWindow, UInt32($0.count), $0.baseAddress)
            }
        } else {
            _ = xfrmnl_sa_set_replay_window(x, sa.replayWindow)
        }
        let result: Int32 = sa.encryptionKey.withBytes { key in
            let keyPointer = key.baseAddress?.assumingMemoryBound(to: CChar.self)
            switch choice {
            case let .aead(a):
                return xfrmnl_sa_set_aead_params(x, a.name, a.keyBits, a.icvBits, keyPointer)
            case let .separate(s):
                let r = xfrmnl_sa_set_crypto_params(x, s.cipher, s.cipherKeyBits, keyPointer)
                guard r == 0, let integrityKey = sa.integrityKey else { return r == 0 ? -7 : r }
                return integrityKey.withBytes { ik in
                    xfrmnl_sa_set_auth_params(x, s.integrity, s.integrityKeyBits, s.truncationBits,
                                              ik.baseAddress?.assumingMemoryBound(to: CChar.self))
                }
            }
        }
        guard result == 0 else {
            xfrmnl_sa_put(x)
            throw XFRMKernel.error("addSA \(sa.id)", result)
        }
        if let encap = sa.encapsulation {
            // libnl takes a reference on the original-address argument, so it must be an
            // address: the unspecified one of the SA's family (no NAT-OA, as for IKEv2).
            let unspecified = sa.id.destination.isV4 ? IPAddress.anyV4 : IPAddress.anyV6
            guard let oa = XFRMKernel.address(unspecified) else {
                xfrmnl_sa_put(x)
                throw KernelError(operation: "addSA", errno: 12, message: "Cannot allocate memory")
            }
            _ = xfrmnl_sa_set_encap_tmpl(x, XFRMKernel.udpEncapESPinUDP, UInt32(encap.source), UInt32(encap.destination), oa)
            nl_addr_put(oa)
        }
        if let lifetime = xfrmnl_ltime_cfg_alloc() {
            _ = xfrmnl_ltime_cfg_set_soft_bytelimit(lifetime, XFRMKernel.infinite)
            _ = xfrmnl_ltime_cfg_set_hard_bytelimit(lifetime, XFRMKernel.infinite)
            _ = xfrmnl_ltime_cfg_set_soft_packetlimit(lifetime, XFRMKernel.infinite)
            _ = xfrmnl_ltime_cfg_set_hard_packetlimit(lifetime, XFRMKernel.infinite)
            _ = xfrmnl_ltime_cfg_set_soft_addexpires(lifetime, UInt64(sa.softLifetimeSeconds))
            _ = xfrmnl_ltime_cfg_set_hard_addexpires(lifetime, UInt64(sa.hardLifetimeSeconds))
            _ = xfrmnl_sa_set_lifetime_cfg(x, lifetime)
            xfrmnl_ltime_cfg_put(lifetime)
        }
        return x
    }

    public func addSA(_ sa: SecurityAssociation) throws(KernelError) {
        let x = try XFRMKernel.object(sa)
        defer { xfrmnl_sa_put(x) }
        do throws(KernelError) {
            try transact("addSA \(sa.id)") { xfrmnl_sa_build_add_request(x, Int32(NLM_F_CREATE | NLM_F_EXCL), $0) }
        } catch {
            // An inbound SPI from `allocateSPI` is held by a larval SA: replace it.
            guard error.errno == 17 else { throw error }
            try transact("addSA \(sa.id)") { xfrmnl_sa_build_update_request(x, 0, $0) }
        }
    }

    private static func describe(_ x: OpaquePointer, _ id: SAIdentifier, source: IPAddress?) throws(KernelError) {
        guard let daddr = XFRMKernel.address(id.destination) else {
            throw KernelError(operation: "addSA", errno: 12, message: "Cannot allocate memory")
        }
        defer { nl_addr_put(daddr) }
        _ = xfrmnl_sa_set_daddr(x, daddr)
        if let source, let saddr = XFRMKernel.address(source) {
            _ = xfrmnl_sa_set_saddr(x, saddr)
            nl_addr_put(saddr)
        }
        _ = xfrmnl_sa_set_spi(x, id.spi)
        _ = xfrmnl_sa_set_proto(x, XFRMKernel.protocolESP)
        _ = xfrmnl_sa_set_family(x, XFRMKernel.family(id.destination))
    }

    /// A kernel-chosen inbound ESP SPI for SAs from `remote` to `local` (XFRM_MSG_ALLOCSPI),
    /// unique in the kernel; held by a larval SA that `addSA` then replaces. The kernel
    /// hands the same larval SA (and SPI) out again for the same addresses and reqid, so
    /// each allocation takes the next reqid of `reqids`.
    public func allocateSPI(from remote: IPAddress, to local: IPAddress, reqids: ClosedRange<UInt32>) throws(KernelError) -> UInt32 {
        let span = reqids.upperBound - reqids.lowerBound + 1
        let reqid = reqids.lowerBound + nextLarval % span
        nextLarval &+= 1
        let src = remote.bytes, dst = local.bytes
        var spi: UInt32 = 0
        let errno = src.withUnsafeBytes { s in
            dst.withUnsafeBytes { d in
                ike_xfrm_allocspi(socket, local.isV4 ? 2 : 10, s.baseAddress, d.baseAddress, s.count, reqid, 0x100, 0xffff_ffff, &spi)
            }
        }
        guard errno == 0 else {
            throw KernelError(operation: "allocateSPI \(remote) -> \(local)", errno: errno, message: SystemError("netlink", errno: errno).message)
        }
        return spi
    }

    public func deleteSA(_ id: SAIdentifier) throws(KernelError) {
        guard let x = xfrmnl_sa_alloc() else { throw KernelError(operation: "deleteSA", errno: 12, message: "Cannot allocate memory") }
        defer { xfrmnl_sa_put(x) }
        try XFRMKernel.describe(x, id, source: nil)
        try transact("deleteSA \(id)") { xfrmnl_sa_build_delete_request(x, 0, $0) }
    }

    public func counters(_ id: SAIdentifier) -> SACounters? {
        guard let daddr = XFRMKernel.address(id.destination) else { return nil }
        defer { nl_addr_put(daddr) }
        var found: OpaquePointer? = nil
        guard xfrmnl_sa_get_kernel(socket, daddr, id.spi, XFRMKernel.protocolESP, 0, 0, &found) == 0, let found else { return nil }
        defer { xfrmnl_sa_put(found) }
        var bytes: UInt64 = 0, packets: UInt64 = 0, added: UInt64 = 0, used: UInt64 = 0
        guard xfrmnl_sa_get_curlifetime(found, &bytes, &packets, &added, &used) == 0 else { return nil }
        return SACounters(bytes: bytes, packets: packets)
    }

    // MARK: Ownership

    /// Deletes every SA and policy whose reqid lies in `reqids` (the daemon's own range)
    /// and nothing else: at start, the leftovers of a run that was killed; at shutdown,
    /// anything a failed removal left. Returns what was deleted and what could not be.
    public func sweep(reqids: ClosedRange<UInt32>) -> (sas: Int, policies: Int, errors: [KernelError]) {
        var deletedSAs = 0, deletedPolicies = 0
        var errors: [KernelError] = []
        // libnl's SA cache leaves out larval SAs, so SAs are swept from a dump of our own.
        // A dump holds up to 256 matches; sweep again while a full batch went.
        while true {
            var swept: Int32 = 0
            let errno = ike_xfrm_sweep_sas(socket, reqids.lowerBound, reqids.upperBound, &swept)
            deletedSAs += Int(swept)
            if errno != 0 {
                errors.append(KernelError(operation: "sweep SAs", errno: errno, message: SystemError("netlink", errno: errno).message))
                break
            }
            if swept < 256 { break }
        }
        var cache: OpaquePointer? = nil
        if xfrmnl_sp_alloc_cache(socket, &cache) == 0, let cache {
            var object = nl_cache_get_first(cache)
            while let o = object {
                var ours = false
                for i in 0..<max(0, xfrmnl_sp_get_nusertemplates(o)) {
                    if let t = xfrmnl_sp_usertemplate_n(o, i), reqids.contains(UInt32(truncatingIfNeeded: xfrmnl_user_tmpl_get_reqid(t))) {
                        ours = true
                    }
                }
                if ours {
                    do throws(KernelError) {
                        try transact("deletePolicy index \(xfrmnl_sp_get_index(o))") { xfrmnl_sp_build_delete_request(o, 0, $0) }
                        deletedPolicies += 1
                    } catch { errors.append(error) }
                }
                object = nl_cache_get_next(o)
            }
            nl_cache_free(cache)
        }
        return (deletedSAs, deletedPolicies, errors)
    }

    // MARK: Policies

    static func direction(_ d: PolicyDirection) -> UInt32 {
        switch d {
        case .inbound: return 0
        case .outbound: return 1
        case .forward: return 2
        }
    }

    private static func policy(_ id: PolicyIdentifier) throws(KernelError) -> OpaquePointer {
        guard let sp = xfrmnl_sp_alloc(), let sel = xfrmnl_sel_alloc(),
              let s = XFRMKernel.address(id.source.address, prefix: id.source.prefixLength),
              let d = XFRMKernel.address(id.destination.address, prefix: id.destination.prefixLength) else {
            throw KernelError(operation: "policy", errno: 12, message: "Cannot allocate memory")
        }
        _ = xfrmnl_sel_set_saddr(sel, s)
        _ = xfrmnl_sel_set_daddr(sel, d)
        _ = xfrmnl_sel_set_prefixlen_s(sel, UInt32(id.source.prefixLength))
        _ = xfrmnl_sel_set_prefixlen_d(sel, UInt32(id.destination.prefixLength))
        _ = xfrmnl_sel_set_family(sel, XFRMKernel.family(id.source.address))
        nl_addr_put(s)
        nl_addr_put(d)
        _ = xfrmnl_sp_set_sel(sp, sel)
        xfrmnl_sel_put(sel)
        _ = xfrmnl_sp_set_dir(sp, XFRMKernel.direction(id.direction))
        return sp
    }

    /// The libnl policy for `p`, with its template; the caller puts it.
    static func object(_ p: Policy) throws(KernelError) -> OpaquePointer {
        let sp = try policy(p.id)
        _ = xfrmnl_sp_set_priority(sp, p.priority)
        _ = xfrmnl_sp_set_action(sp, 0)  // XFRM_POLICY_ALLOW
        guard let t = xfrmnl_user_tmpl_alloc(), let src = XFRMKernel.address(p.templateSource),
              let dst = XFRMKernel.address(p.templateDestination) else {
            xfrmnl_sp_put(sp)
            throw KernelError(operation: "addPolicy", errno: 12, message: "Cannot allocate memory")
        }
        _ = xfrmnl_user_tmpl_set_saddr(t, src)
        _ = xfrmnl_user_tmpl_set_daddr(t, dst)
        nl_addr_put(src)
        nl_addr_put(dst)
        _ = xfrmnl_user_tmpl_set_proto(t, XFRMKernel.protocolESP)
        _ = xfrmnl_user_tmpl_set_family(t, XFRMKernel.family(p.templateDestination))
        _ = xfrmnl_user_tmpl_set_mode(t, XFRMKernel.mode(p.mode))
        _ = xfrmnl_user_tmpl_set_reqid(t, p.reqid)
        _ = xfrmnl_user_tmpl_set_aalgos(t, ~0)
        _ = xfrmnl_user_tmpl_set_ealgos(t, ~0)
        _ = xfrmnl_user_tmpl_set_calgos(t, ~0)
        xfrmnl_sp_add_usertemplate(sp, t)
        return sp
    }

    public func addPolicy(_ p: Policy) throws(KernelError) {
        let sp = try XFRMKernel.object(p)
        defer { xfrmnl_sp_put(sp) }
        do throws(KernelError) {
            try transact("addPolicy \(p.id)") { xfrmnl_sp_build_add_request(sp, Int32(NLM_F_CREATE | NLM_F_EXCL), $0) }
        } catch {
            // A `start 'trap'` tunnel's policy holds the selector: the tunnel's own replaces it.
            guard error.errno == 17, p.replacesTrap else { throw error }
            try transact("addPolicy \(p.id)") { xfrmnl_sp_build_update_request(sp, 0, $0) }
        }
    }

    public func deletePolicy(_ id: PolicyIdentifier) throws(KernelError) {
        let sp = try XFRMKernel.policy(id)
        defer { xfrmnl_sp_put(sp) }
        try transact("deletePolicy \(id)") { xfrmnl_sp_build_delete_request(sp, 0, $0) }
    }

    // MARK: Requests as bytes

    /// The bytes of the netlink request `build` makes (sequence number and port still 0:
    /// the socket fills them when it sends), for the fixture tests.
    static func bytes(_ build: (UnsafeMutablePointer<OpaquePointer?>) -> Int32) -> [UInt8] {
        var message: OpaquePointer? = nil
        guard build(&message) == 0, let message else { return [] }
        defer { nlmsg_free(message) }
        guard let header = nlmsg_hdr(message) else { return [] }
        let length = Int(header.pointee.nlmsg_len)
        return Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(header), count: length))
    }

    static func addSARequest(_ sa: SecurityAssociation) throws(KernelError) -> [UInt8] {
        let x = try object(sa)
        defer { xfrmnl_sa_put(x) }
        return bytes { xfrmnl_sa_build_add_request(x, Int32(NLM_F_CREATE | NLM_F_EXCL), $0) }
    }

    static func deleteSARequest(_ id: SAIdentifier) throws(KernelError) -> [UInt8] {
        guard let x = xfrmnl_sa_alloc() else { return [] }
        defer { xfrmnl_sa_put(x) }
        try describe(x, id, source: nil)
        return bytes { xfrmnl_sa_build_delete_request(x, 0, $0) }
    }

    static func addPolicyRequest(_ p: Policy) throws(KernelError) -> [UInt8] {
        let sp = try object(p)
        defer { xfrmnl_sp_put(sp) }
        return bytes { xfrmnl_sp_build_add_request(sp, Int32(NLM_F_CREATE | NLM_F_EXCL), $0) }
    }

    static func deletePolicyRequest(_ id: PolicyIdentifier) throws(KernelError) -> [UInt8] {
        let sp = try policy(id)
        defer { xfrmnl_sp_put(sp) }
        return bytes { xfrmnl_sp_build_delete_request(sp, 0, $0) }
    }
}
