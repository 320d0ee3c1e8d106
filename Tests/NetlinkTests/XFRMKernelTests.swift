import CTestSupport
import Foundation
import IKECrypto
import IKEWire
import Kernel
@testable import Netlink
import Testing
import UCI

/// Runs `body` with this thread in a fresh network namespace, then back.
func inPrivateNetworkNamespace<T>(_ body: () throws -> T) throws -> T {
    let original = ike_test_enter_new_netns()
    precondition(original >= 0, "unshare(CLONE_NEWNET)")
    defer { precondition(ike_test_leave_netns(original) == 0, "setns") }
    return try body()
}

let subnetA = try! Subnet.parse("10.1.0.0/24").get()
let subnetB = try! Subnet.parse("10.2.0.0/24").get()

extension Result {
    func get() throws -> Success {
        switch self {
        case let .success(s): return s
        case let .failure(e): throw e
        }
    }
}

@Suite struct XFRMAlgorithmTests {
    /// Every cipher and integrity algorithm an ESP proposal can name has a kernel name.
    @Test func everyNegotiableESPTransformHasAnXFRMAlgorithm() throws {
        for text in ["aes128gcm16", "aes256gcm16", "chacha20poly1305", "aes128-sha1", "aes256-sha256", "aes128-sha384", "aes256-sha512"] {
            let p = try Proposal.parse(text, kind: .esp).get()
            for c in p.ciphers {
                let integrity: [IntegrityAlgorithm?] = p.integrity.isEmpty ? [nil] : p.integrity
                for i in integrity { #expect(XFRMAlgorithms.esp(c, i) != nil, "\(text)") }
            }
        }
        #expect(XFRMAlgorithms.esp(Cipher(.aesGCM16, keyBits: 256), nil)
                == .aead(.init(name: "rfc4106(gcm(aes))", keyBits: 288, icvBits: 128)))
        #expect(XFRMAlgorithms.esp(Cipher(.aesCBC, keyBits: 256), .hmacSHA2_256_128)
                == .separate(.init(cipher: "cbc(aes)", cipherKeyBits: 256, integrity: "hmac(sha256)", integrityKeyBits: 256, truncationBits: 128)))
        #expect(XFRMAlgorithms.esp(Cipher(.aesCBC, keyBits: 256), nil) == nil)
    }
}

@Suite(.enabled(if: getuid() == 0, "needs root for a private network namespace"))
struct XFRMKernelTests {
    let local = IPAddress("192.0.2.1")!
    let remote = IPAddress("198.51.100.7")!

    func policy(_ direction: PolicyDirection) -> Policy {
        let out = direction == .outbound
        return Policy(id: PolicyIdentifier(source: out ? subnetA : subnetB, destination: out ? subnetB : subnetA, direction: direction),
                      templateSource: out ? local : remote, templateDestination: out ? remote : local, reqid: 0x494b_0001,
                      mode: .tunnel, priority: 1000)
    }

    /// The host kernel has XFRM policies: they are really added, refused twice, deleted.
    @Test func policiesAreAddedAndDeletedInTheKernel() throws {
        try inPrivateNetworkNamespace {
            let kernel = try XFRMKernel()
            for direction in PolicyDirection.allCases { try kernel.addPolicy(policy(direction)) }
            do throws(KernelError) {
                try kernel.addPolicy(policy(.outbound))
                Issue.record("the same policy was added twice")
            } catch {
                #expect(error.errno == 17 && error.message == "File exists")
            }
            for direction in PolicyDirection.allCases { try kernel.deletePolicy(policy(direction).id) }
            do throws(KernelError) {
                try kernel.deletePolicy(policy(.inbound).id)
                Issue.record("a deleted policy was deleted again")
            } catch {
                #expect(error.description == "deletePolicy 10.2.0.0/24 -> 10.1.0.0/24 in: No such file or directory (errno 2)")
            }
        }
    }

    /// The host kernel has no ESP (testing.md): an SA insertion fails, and says which
    /// operation failed and why. The virtual test board's kernel takes it.
    @Test func anSAThatTheKernelRefusesSaysWhy() throws {
        try inPrivateNetworkNamespace {
            let kernel = try XFRMKernel()
            let sa = SecurityAssociation(
                id: SAIdentifier(destination: remote, spi: 0xc000_0002), source: local, reqid: 0x494b_0001, mode: .tunnel,
                cipher: Cipher(.aesGCM16, keyBits: 256), integrity: nil, encryptionKey: SecretBytes([UInt8](repeating: 1, count: 36)),
                integrityKey: nil, encapsulation: nil, softLifetimeSeconds: 3240, hardLifetimeSeconds: 3600)
            do throws(KernelError) {
                try kernel.addSA(sa)
                // A kernel with ESP took it: it must also give it back and delete it.
                #expect(kernel.counters(sa.id) == SACounters(bytes: 0, packets: 0))
                try kernel.deleteSA(sa.id)
            } catch {
                // Measured on the host (testing.md): ENOSYS for AES-GCM.
                #expect(error.description == "addSA esp spi 0xc0000002 dst 198.51.100.7: Function not implemented (errno 38)")
            }
        }
    }
}

@Suite(.enabled(if: getuid() == 0, "needs root for a private network namespace"))
struct OwnershipTests {
    func policy(reqid: UInt32, _ source: Subnet, _ destination: Subnet) -> Policy {
        Policy(id: PolicyIdentifier(source: source, destination: destination, direction: .outbound),
               templateSource: IPAddress("192.0.2.1")!, templateDestination: IPAddress("198.51.100.7")!, reqid: reqid,
               mode: .tunnel, priority: 1000)
    }

    /// What the daemon installed goes; what someone else installed stays.
    @Test func theSweepRemovesOnlyTheDaemonsOwnReqids() throws {
        try inPrivateNetworkNamespace {
            let kernel = try XFRMKernel()
            let subnetC = try Subnet.parse("10.3.0.0/24").get()
            let ours = policy(reqid: 0x494b_0007, subnetA, subnetB)
            let theirs = policy(reqid: 42, subnetA, subnetC)
            try kernel.addPolicy(ours)
            try kernel.addPolicy(theirs)
            let swept = kernel.sweep(reqids: 0x494b_0000...0x494b_ffff)
            #expect(swept.policies == 1 && swept.sas == 0 && swept.errors.isEmpty)
            // Ours is gone (it can be added again); theirs is still there (it cannot).
            try kernel.addPolicy(ours)
            #expect(throws: KernelError.self) { try kernel.addPolicy(theirs) }
            #expect(kernel.sweep(reqids: 0x494b_0000...0x494b_ffff).policies == 1)
        }
    }
}

@Suite(.enabled(if: getuid() == 0, "needs root for a private network namespace"))
struct SPIAllocationTests {
    @Test func theKernelHandsOutUniqueSPIsHeldByLarvalSAs() throws {
        try inPrivateNetworkNamespace {
            let kernel = try XFRMKernel()
            let local = IPAddress("192.0.2.1")!, remote = IPAddress("198.51.100.7")!
            var seen: Set<UInt32> = []
            for _ in 0..<20 {
                let spi = try kernel.allocateSPI(from: remote, to: local, reqids: 0x494b_8000...0x494b_ffff)
                #expect(spi >= 0x100)
                seen.insert(spi)
            }
            #expect(seen.count == 20)
            // The kernel holds each in a larval SA, which the sweep removes with the rest of
            // the daemon's state.
            let swept = kernel.sweep(reqids: 0x494b_0000...0x494b_ffff)
            #expect(swept.sas == 20)
        }
    }
}

/// On a kernel with ESP (the virtual test board) an SA installed on an allocated SPI
/// replaces the larval SA and counts traffic; on one without, the kernel refuses it.
@Suite(.enabled(if: getuid() == 0, "needs root for a private network namespace"))
struct SAOnAllocatedSPITests {
    @Test func theRealSAReplacesTheLarvalOne() throws {
        try inPrivateNetworkNamespace {
            let kernel = try XFRMKernel()
            let local = IPAddress("192.0.2.1")!, remote = IPAddress("198.51.100.7")!
            let spi = try kernel.allocateSPI(from: remote, to: local, reqids: 0x494b_8000...0x494b_ffff)
            let sa = SecurityAssociation(
                id: SAIdentifier(destination: local, spi: spi), source: remote, reqid: 0x494b_0001, mode: .tunnel,
                cipher: Cipher(.aesGCM16, keyBits: 128), integrity: nil, encryptionKey: SecretBytes([UInt8](repeating: 1, count: 20)),
                integrityKey: nil, encapsulation: nil, softLifetimeSeconds: 3240, hardLifetimeSeconds: 3600)
            do throws(KernelError) {
                try kernel.addSA(sa)
            } catch {
                #expect(error.errno == 38 || error.errno == 93, "\(error)")
                return
            }
            #expect(kernel.counters(sa.id) == SACounters(bytes: 0, packets: 0))
            // The daemon's reqid now, not the larval one: the sweep of the larval range finds nothing.
            #expect(kernel.sweep(reqids: 0x494b_8000...0x494b_ffff).sas == 0)
            #expect(kernel.sweep(reqids: 0x494b_0000...0x494b_7fff).sas == 1)
        }
    }
}

/// libnl's own error codes are not errnos: they are named as libnl names them.
@Suite struct LibnlErrorTests {
    @Test func libnlCodesAreNotPrintedAsErrnos() {
        let e = XFRMKernel.error("connect", -26)
        #expect(e.libnl && e.errno == 26)
        #expect(e.description == "connect: Protocol mismatch (libnl error 26)")
        #expect(KernelError(operation: "addSA", errno: 38, message: "Function not implemented").description == "addSA: Function not implemented (errno 38)")
    }
}
