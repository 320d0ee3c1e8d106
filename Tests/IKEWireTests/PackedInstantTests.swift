import IKEWire
import Testing

@Suite struct PackedInstantTests {
    final class Holder {
        @PackedInstant var deadline: Instant? = nil
    }

    /// A deadline at the clock's start (a test clock's first instant) is kept: it is due
    /// at once, not never. Only the last instant, never due anyway, reads back as none.
    @Test func everyInstantButTheLastRoundTrips() {
        let h = Holder()
        #expect(h.deadline == nil)
        for ns: UInt64 in [0, 1, 1_000_000_000, UInt64.max - 1] {
            h.deadline = Instant(nanoseconds: ns)
            #expect(h.deadline == Instant(nanoseconds: ns))
        }
        h.deadline = nil
        #expect(h.deadline == nil)
        h.deadline = Instant(nanoseconds: 5) + Interval(nanoseconds: UInt64.max)
        #expect(h.deadline == nil, "a saturated deadline is no deadline")
    }
}
