import Foundation
import FuzzTargets
import Testing

/// Every fuzz target on its seeds, and every input kept under Tests/FuzzRegressions/TARGET
/// (crashes scripts/fuzz found, once fixed): none may crash.
@Suite struct FuzzReplayTests {
    static let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzRegressions")

    @Test(arguments: FuzzTarget.allCases)
    func seedsAndRegressionsRunClean(target: FuzzTarget) throws {
        for seed in target.seeds { target.run(seed) }
        let directory = FuzzReplayTests.regressions.appendingPathComponent(target.rawValue)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for file in files.sorted() {
            target.run(Array(try Data(contentsOf: directory.appendingPathComponent(file))))
        }
    }

    /// The seeds are what they claim: real exchanges, so the fuzzer starts deep.
    @Test func theSeedsHoldWholeExchanges() {
        #expect(FuzzTarget.ikev2Message.seeds.count >= 6)
        #expect(FuzzTarget.ikev1Message.seeds.count >= 9)
    }
}
