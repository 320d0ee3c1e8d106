import IKEWire
import Platform
import Testing

/// The time a test moves by hand.
final class TestClock {
    var now: Instant
    init(start: Instant) { now = start }
    func advance(by interval: Interval) { now = now + interval }
}

@Suite struct TimerWheelTests {
    let clock = TestClock(start: Instant(nanoseconds: 1_000_000_000))

    func ms(_ n: UInt64) -> Instant { clock.now + .milliseconds(n) }

    @Test func dueTimersFireInDeadlineOrderTiesInSchedulingOrder() {
        var wheel = TimerWheel<String>(start: clock.now)
        _ = wheel.schedule(at: ms(30), "c")
        _ = wheel.schedule(at: ms(10), "a")
        _ = wheel.schedule(at: ms(20), "b1")
        _ = wheel.schedule(at: ms(20), "b2")
        _ = wheel.schedule(at: ms(500), "later")
        clock.advance(by: .milliseconds(30))
        #expect(wheel.expire(upTo: clock.now).map(\.event) == ["a", "b1", "b2", "c"])
        #expect(wheel.count == 1)
        #expect(wheel.nextDeadline == Instant(nanoseconds: 1_500_000_000))
    }

    /// The earliest deadline is remembered between waits; what changes it (an earlier
    /// timer, cancelling or expiring the earliest) is seen at once.
    @Test func nextDeadlineFollowsScheduleCancelAndExpire() {
        var wheel = TimerWheel<Int>(start: clock.now)
        let (t5, t40, t60, t9000) = (ms(5), ms(40), ms(60), ms(9_000))
        let far = wheel.schedule(at: t9000, 1)
        #expect(wheel.nextDeadline == t9000)
        let near = wheel.schedule(at: t40, 2)
        _ = wheel.schedule(at: t60, 3)
        #expect(wheel.nextDeadline == t40)
        wheel.cancel(near)
        #expect(wheel.nextDeadline == t60)
        _ = wheel.schedule(at: t5, 4)
        #expect(wheel.nextDeadline == t5)
        clock.advance(by: .milliseconds(60))
        #expect(wheel.expire(upTo: clock.now).map(\.event) == [4, 3])
        #expect(wheel.nextDeadline == t9000)
        wheel.cancel(far)
        #expect(wheel.nextDeadline == nil)
        // The daemon's wake-up moves by a cancel and a schedule, past one turn of slots.
        let wake = wheel.schedule(at: ms(5_000), 5)
        wheel.cancel(wake)
        _ = wheel.schedule(at: ms(7_000), 6)
        #expect(wheel.nextDeadline == ms(7_000))
    }

    @Test func nothingFiresBeforeItsDeadline() {
        var wheel = TimerWheel<Int>(start: clock.now)
        _ = wheel.schedule(at: ms(15), 1)
        clock.advance(by: .milliseconds(14))
        #expect(wheel.expire(upTo: clock.now).isEmpty)
        clock.advance(by: .milliseconds(1))
        #expect(wheel.expire(upTo: clock.now).map(\.event) == [1])
        #expect(wheel.nextDeadline == nil)
    }

    @Test func cancelledTimersNeverFire() {
        var wheel = TimerWheel<Int>(start: clock.now)
        let one = wheel.schedule(at: ms(10), 1)
        _ = wheel.schedule(at: ms(20), 2)
        let first = wheel.cancel(one)
        let second = wheel.cancel(one)
        #expect(first)
        #expect(!second)
        #expect(!wheel.isScheduled(one))
        #expect(wheel.nextDeadline == ms(20))
        clock.advance(by: .seconds(1))
        #expect(wheel.expire(upTo: clock.now).map(\.event) == [2])
    }

    @Test func timersBeyondOneRotationWaitForTheirRound() {
        // 256 slots of 10 ms: a 3 s timer shares a slot with a 0.44 s one.
        var wheel = TimerWheel<String>(start: clock.now)
        _ = wheel.schedule(at: ms(3000), "long")
        _ = wheel.schedule(at: ms(3000 - 2560), "short")
        clock.advance(by: .milliseconds(440))
        #expect(wheel.expire(upTo: clock.now).map(\.event) == ["short"])
        #expect(wheel.nextDeadline == ms(2560))
        clock.advance(by: .milliseconds(2559))
        #expect(wheel.expire(upTo: clock.now).isEmpty)
        clock.advance(by: .milliseconds(1))
        #expect(wheel.expire(upTo: clock.now).map(\.event) == ["long"])
    }

    @Test func aLongJumpFiresEverythingDueInOrder() {
        var wheel = TimerWheel<UInt64>(start: clock.now)
        for n: UInt64 in [7000, 5, 2600, 90_000, 300] { _ = wheel.schedule(at: ms(n), n) }
        clock.advance(by: .seconds(60))
        #expect(wheel.expire(upTo: clock.now).map(\.event) == [5, 300, 2600, 7000])
        #expect(wheel.count == 1)
        #expect(wheel.nextDeadline == Instant(nanoseconds: 1_000_000_000) + .milliseconds(90_000))
    }

    @Test func aDeadlineInThePastFiresAtTheNextExpiry() {
        var wheel = TimerWheel<Int>(start: clock.now)
        clock.advance(by: .seconds(5))
        _ = wheel.expire(upTo: clock.now)
        _ = wheel.schedule(at: Instant(nanoseconds: 1), 9)
        #expect(wheel.nextDeadline == Instant(nanoseconds: 1))
        #expect(wheel.expire(upTo: clock.now).map(\.event) == [9])
    }

    /// An engine's wheel holds a timer per SA, many to a slot: a cancel takes out that
    /// one only, and the rest fire in order.
    @Test func cancellingOneOfASlotsTimersLeavesTheOthers() {
        var wheel = TimerWheel<Int>(tick: .seconds(1), slots: 4, start: clock.now)
        var ids: [TimerID] = []
        for i in 0..<12 { ids.append(wheel.schedule(at: clock.now + .seconds(UInt64(i % 3) * 4 + 1), i)) }
        #expect(wheel.count == 12)
        #expect(wheel.cancel(ids[4]) && !wheel.cancel(ids[4]) && !wheel.isScheduled(ids[4]) && wheel.isScheduled(ids[7]))
        #expect(wheel.count == 11)
        clock.advance(by: .seconds(20))
        #expect(wheel.expire(upTo: clock.now).map(\.event) == [0, 3, 6, 9, 1, 7, 10, 2, 5, 8, 11])
        #expect(wheel.count == 0 && wheel.nextDeadline == nil)
    }
}
