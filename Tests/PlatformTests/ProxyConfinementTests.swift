import CTestSupport
import Testing

/// cpsd's seccomp filter, applied in a forked child: what cpsd never does (a socket, an
/// exec) fails with EPERM, and what it does (read a credential file, allocate, draw random
/// bytes) still works. The daemon's tests show cpsd running under it (Seccomp: 2).
@Suite struct ProxyConfinementTests {
    @Test func theFilterRefusesSocketsAndExecAndKeepsFilesMemoryAndRandomness() {
        let result = ike_test_confined_proxy("/proc/self/status")
        #expect(result == 0, "step \(result) failed (1 install, 2 socket, 3 exec, 4 read, 5 malloc, 6 getrandom)")
    }
}
