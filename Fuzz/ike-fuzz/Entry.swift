import FuzzTargets
import Glibc

/// The libFuzzer entry (built by scripts/fuzz with -sanitize=fuzzer,address; libFuzzer
/// owns main). The target is named by IKE_FUZZ_TARGET; with IKE_FUZZ_SEEDS=DIR the
/// target's seeds are written to DIR first.
nonisolated(unsafe) var target: FuzzTarget? = nil

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    guard let name = getenv("IKE_FUZZ_TARGET").map({ String(cString: $0) }), let t = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map { $0.rawValue }.joined(separator: " ")
        print("ike-fuzz: set IKE_FUZZ_TARGET to one of: \(names)")
        exit(2)
    }
    target = t
    if let dir = getenv("IKE_FUZZ_SEEDS").map({ String(cString: $0) }) {
        for (i, seed) in t.seeds.enumerated() {
            guard let f = fopen("\(dir)/seed-\(i)", "wb") else { continue }
            _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
            fclose(f)
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    target?.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
