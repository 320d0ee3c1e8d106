import IKEWire

/// A request of ours, sent again until it is answered (RFC 7296 §2.1, RFC 2408 §5.1):
/// after `firstTimeout`, doubled each time, `maxAttempts` transmissions in all. Each
/// wait is shortened by up to a tenth at random, so that the requests of many tunnels
/// started together do not stay in lockstep and overrun the peer wave after wave.
public struct Retransmission {
    public static let firstTimeout: Interval = .seconds(2)
    public static let maxAttempts = 5
    /// A responder keeps its last answer for the peer's retransmissions of the request
    /// until the peer has been silent this long (strongSwan gives up on a request after
    /// 165 s); then the answer goes.
    public static let answerKept: Interval = .seconds(300)

    public let bytes: [UInt8]
    public private(set) var attempts = 1
    /// When this round of transmissions began: anything authentic from the peer after it
    /// shows the peer alive, whatever became of the answers.
    public private(set) var roundStart: Instant
    /// Rounds begun, `again` counting each after the first.
    public private(set) var rounds = 1
    private var sentAt: Instant
    private var timeout = Retransmission.firstTimeout
    private var wait: Interval

    public init(_ bytes: [UInt8], sentAt now: Instant) {
        self.bytes = bytes
        sentAt = now
        roundStart = now
        wait = Retransmission.jittered(Retransmission.firstTimeout)
    }

    /// Starts another round of `maxAttempts` transmissions at `now` (the caller sends):
    /// for a request the peer outlived, its own messages arriving while ours went
    /// unanswered.
    public mutating func again(now: Instant) {
        attempts = 1
        rounds += 1
        sentAt = now
        roundStart = now
        timeout = Retransmission.firstTimeout
        wait = Retransmission.jittered(timeout)
    }

    static func jittered(_ timeout: Interval) -> Interval {
        .milliseconds(timeout.milliseconds - Jitter.upTo(timeout.milliseconds / 10))
    }

    /// When `check` next has something to do.
    public var due: Instant { sentAt + wait }

    public enum Due { case notYet, resend, exhausted }

    /// What is due at `now`; `resend` counts that transmission.
    public mutating func check(now: Instant) -> Due {
        guard now - sentAt >= wait else { return .notYet }
        guard attempts < Retransmission.maxAttempts else { return .exhausted }
        attempts += 1
        sentAt = now
        timeout = timeout + timeout
        wait = Retransmission.jittered(timeout)
        return .resend
    }
}
