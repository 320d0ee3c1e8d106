import IKECrypto
import IKEWire
import Platform

/// `ike selftest`: the known-answer tests of every algorithm ike.conf(5) offers, run
/// against the libcrypto this binary was linked with, and the 64-bit arithmetic the
/// daemon relies on (monotonic nanoseconds, counters, far timer deadlines), which must
/// hold where `Int` is 32 bits (armv7). Prints a line per check; exit 0 when all pass,
/// 1 otherwise.
func selftestMain(_ args: ArraySlice<String>) -> Never {
    guard args.isEmpty else { usageError("'selftest' takes no arguments") }
    var outcomes = SelfTest.run()
    func check(_ name: String, _ failure: String?) { outcomes.append(SelfTest.Outcome(name: name, failure: failure)) }

    // Monotonic time: nanoseconds since boot pass 2^32 after 4.3 s and 2^31 ms after 25 days.
    let clock = MonotonicClock()
    let start = clock.now
    let later = start + .seconds(100 * 86_400)
    check("clock (64-bit nanoseconds)",
          start.nanoseconds > 0 && later - start == Interval.seconds(8_640_000)
              && (later - start).description == "8640000.000s" && (later - start).milliseconds == 8_640_000_000
              ? nil : "100 days after \(start) came out as \(later - start)")

    // Counters: the status and list output carry UInt64 values past 2^32.
    var counter = UInt64(UInt32.max)
    counter += 2
    check("counters (64-bit)", "\(counter)" == "4294967297" && "\(UInt64.max)" == "18446744073709551615"
          ? nil : "4294967297 printed as \(counter)")

    // The timer wheel with deadlines days away, at a clock already past 2^32 ns.
    var wheel = TimerWheel<Int>(start: Instant(nanoseconds: 5_000_000_000_000))
    let due = Instant(nanoseconds: 5_000_000_000_000) + .seconds(3 * 86_400)
    _ = wheel.schedule(at: due, 1)
    _ = wheel.schedule(at: Instant(nanoseconds: UInt64.max), 2)
    let early = wheel.expire(upTo: Instant(nanoseconds: due.nanoseconds - 1_000_000)).count
    let onTime = wheel.expire(upTo: due).map { $0.event }
    check("timer wheel (far deadlines)", early == 0 && onTime == [1] && wheel.count == 1
          ? nil : "\(early) early, \(onTime.count) on time, \(wheel.count) left")

    var failed = 0
    for outcome in outcomes {
        if let failure = outcome.failure {
            failed += 1
            Process.printOut("FAIL  \(outcome.name): \(failure)")
        } else {
            Process.printOut("ok    \(outcome.name)")
        }
    }
    Process.printOut("\(outcomes.count - failed) passed, \(failed) failed")
    Process.exit(failed == 0 ? 0 : 1)
}
