import IKECore
import IKEWire

/// Why the engine dropped what it received, counted for `ike cmd=status`.
public struct IKEv2Counters: Sendable {
    public var malformed: UInt64 = 0
    public var unknownSPI: UInt64 = 0
    public var badMessageID: UInt64 = 0
    public var integrityFailures: UInt64 = 0
    public var noMatchingTunnel: UInt64 = 0
    public var retransmitsAnswered: UInt64 = 0
    public var retransmitsSent: UInt64 = 0
    public var halfOpenExpired: UInt64 = 0
    /// IKE_SA_INIT requests answered with a COOKIE (under load, §2.6).
    public var cookiesSent: UInt64 = 0
    /// IKE_SA_INIT requests refused because the half-open table was full.
    public var halfOpenRefused: UInt64 = 0
    /// Half-open SAs dropped for a newer one from the same source (its share was used).
    public var halfOpenReplaced: UInt64 = 0
    /// IKE_SA_INIT requests with a wrong or stale cookie.
    public var badCookies: UInt64 = 0
    /// Rekeys that failed (refused, unanswerable, unusable answer) and were rescheduled.
    public var rekeyFailures: UInt64 = 0
    /// INVALID_MAJOR_VERSION answers left out by the rate limit.
    public var versionAnswersSuppressed: UInt64 = 0
    /// RFC 7383: fragments received, messages sent in fragments, fragments dropped at
    /// the reassembly bounds (count, size, an unannounced or inconsistent fragment).
    public var fragmentsReceived: UInt64 = 0
    public var messagesFragmented: UInt64 = 0
    public var fragmentsDropped: UInt64 = 0
    public init() {}
}
