import IKECrypto
import IKEWire

/// When an SA is rekeyed and when it ends, for both engines.
public enum Lifetime {
    /// Rekey at 90% of the lifetime less up to 5% of jitter, so both ends seldom collide;
    /// expire at the lifetime.
    public static func schedule(_ lifetime: UInt32, from now: Instant) -> (rekey: Instant, expire: Instant) {
        let ms = UInt64(lifetime) * 1000
        return (now + .milliseconds(ms * 9 / 10 - Jitter.upTo(ms / 20)), now + .milliseconds(ms))
    }
}

/// Random spreads for timers that many SAs or tunnels would otherwise share: rekeys,
/// retransmissions, retries.
public enum Jitter {
    /// A random number of milliseconds in 0..<`limit` (0 when `limit` is 0).
    public static func upTo(_ limit: UInt64) -> UInt64 {
        limit == 0 ? 0 : UInt64(Random.uint32()) % limit
    }

    /// `milliseconds` less up to a quarter: the delay of a back-off step.
    public static func backOff(_ milliseconds: UInt64) -> Interval {
        .milliseconds(milliseconds - upTo(milliseconds / 4))
    }
}
