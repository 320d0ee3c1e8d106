import IKECrypto
import IKEWire

/// When an SA is rekeyed and when it ends, for both engines.
public enum Lifetime {
    /// Rekey at 90% of the lifetime less up to 5% of jitter, so both ends seldom collide;
    /// expire at the lifetime.
    public static func schedule(_ lifetime: UInt32, from now: Instant) -> (rekey: Instant, expire: Instant) {
        let ms = UInt64(lifetime) * 1000
        let jitter = ms / 20 == 0 ? 0 : UInt64(Random.uint32()) % (ms / 20)
        return (now + .milliseconds(ms * 9 / 10 - jitter), now + .milliseconds(ms))
    }
}
