import IKEWire

/// A request of ours, sent again until it is answered (RFC 7296 §2.1, RFC 2408 §5.1):
/// after `firstTimeout`, doubled each time, `maxAttempts` transmissions in all.
public struct Retransmission {
    public static let firstTimeout: Interval = .seconds(2)
    public static let maxAttempts = 5

    public let bytes: [UInt8]
    public private(set) var attempts = 1
    private var sentAt: Instant
    private var timeout = Retransmission.firstTimeout

    public init(_ bytes: [UInt8], sentAt now: Instant) {
        self.bytes = bytes
        sentAt = now
    }

    public enum Due { case notYet, resend, exhausted }

    /// What is due at `now`; `resend` counts that transmission.
    public mutating func check(now: Instant) -> Due {
        guard now - sentAt >= timeout else { return .notYet }
        guard attempts < Retransmission.maxAttempts else { return .exhausted }
        attempts += 1
        sentAt = now
        timeout = timeout + timeout
        return .resend
    }
}
