import IKEWire

/// What an unauthenticated sender may make a responder hold (ike.conf(5), "Resources").
public struct ResponderLimits: Sendable {
    /// Half-open SAs in all, beyond which only configured peers' addresses get new ones
    /// (each up to as many again).
    public var halfOpenTotal = 1024
    /// Half-open SAs per source address that no tunnel names; a new one past it replaces
    /// that source's oldest.
    public var halfOpenPerSource = 16
    /// IKEv2: half-open SAs in all from which every IKE_SA_INIT needs a COOKIE (§2.6).
    public var cookieThreshold = 64
    /// IKEv2: half-open SAs of one source from which its IKE_SA_INITs need a COOKIE.
    public var cookieThresholdPerSource = 4
    /// IKEv1: Aggressive Mode exchanges (a Diffie-Hellman each) a responder starts per second.
    public var aggressivePerSecond = 100

    public init() {}
}

/// The responder's SAs that the initiator's first message created, found by that
/// initiator's SPI and address (IKEv1, for retransmitted first messages, and late copies
/// of them until the SA has moved on: `forget`; IKEv2 derives its SPI from them and finds
/// the SA by that), and its half-open ones
/// counted in total and per source address, oldest first. Every operation is O(1) in the
/// number of SAs (O(`halfOpenPerSource`) at most), so the gate in front of any state or
/// public-key work stays cheap under a flood.
public struct HalfOpenTable {
    public struct Key: Hashable, Sendable {
        public let initiatorSPI: UInt64
        public let address: IPAddress
        public init(_ initiatorSPI: UInt64, _ address: IPAddress) {
            self.initiatorSPI = initiatorSPI
            self.address = address
        }
    }

    /// What the gate says about a first message from a source.
    public enum Admission: Equatable {
        case admit
        /// Admit, after the oldest half-open SA of the same source (our SPI) goes.
        case replace(UInt64)
        /// The table is full and the source is not a configured peer's address.
        case full
    }

    /// Our SPIs by the key's hash (8 bytes of key rather than 32): the caller checks that
    /// the SA found is the initiator's. (Two keys of one hash keep the later; the earlier
    /// SA only stops being found by a late copy of its first message.)
    private var responders: [Int: UInt64] = [:]
    private var bySource: [IPAddress: [UInt64]] = [:]
    public private(set) var halfOpen = 0

    public init() {}

    /// Our SPI of the responder SA that the initiator's `spi` from `address` created, or
    /// of one whose key has the same hash: the caller checks the SA's initiator SPI.
    public func responder(initiatorSPI spi: UInt64, from address: IPAddress) -> UInt64? {
        responders[Key(spi, address).hashValue]
    }

    public func halfOpen(from address: IPAddress) -> Int { bySource[address]?.count ?? 0 }

    /// Whether a new half-open SA from `source` may be made, under `limits`. A configured
    /// peer's address (a tunnel names it) has room of its own beyond the total, as large
    /// as the total: a hub's peer may bring up many tunnels at once.
    ///
    /// A `proven` source returned a valid IKEv2 COOKIE, so it receives at its address and
    /// is not spoofed: it may hold up to half the table (many spokes behind one NAT, or
    /// one initiator bringing up many tunnels at once) and past that its new request is
    /// refused, not its oldest half-open SA, whose IKE_AUTH is likely on its way.
    public func admission(from source: IPAddress, configuredPeer: Bool, proven: Bool = false,
                          _ limits: ResponderLimits) -> Admission {
        let mine = bySource[source]?.count ?? 0
        if proven && !configuredPeer {
            if mine >= max(limits.halfOpenPerSource, limits.halfOpenTotal / 2) || halfOpen >= limits.halfOpenTotal { return .full }
            return .admit
        }
        let share = configuredPeer ? limits.halfOpenTotal : limits.halfOpenPerSource
        if mine >= share, let oldest = bySource[source]?.first {
            return .replace(oldest)
        }
        if halfOpen >= limits.halfOpenTotal && !configuredPeer { return .full }
        return .admit
    }

    /// A new responder SA, half-open, with our SPI `ours`; `findable`: `responder` finds
    /// it by its first message (IKEv2 finds its SAs through the SPI it derives instead).
    public mutating func insert(_ key: Key, ours: UInt64, findable: Bool = true) {
        if findable { responders[key.hashValue] = ours }
        bySource[key.address, default: []].append(ours)
        halfOpen += 1
    }

    /// The SA is past its first exchange (authenticated) or gone: it is no longer half-open.
    public mutating func settled(_ key: Key, ours: UInt64) {
        guard var mine = bySource[key.address], let i = mine.firstIndex(of: ours) else { return }
        mine.remove(at: i)
        bySource[key.address] = mine.isEmpty ? nil : mine
        halfOpen -= 1
    }

    /// The SA is gone: it is neither half-open nor found by its first message any more.
    public mutating func removed(_ key: Key, ours: UInt64) {
        settled(key, ours: ours)
        forget(key, ours: ours)
    }

    /// A late copy of the SA's first message can no longer come (the peer has sent its
    /// next request, or has been silent as long as an answer is kept): the SA is no longer
    /// found by it, and the settled SAs of a hub cost the table nothing (about 65 bytes
    /// each at 10,000).
    public mutating func forget(_ key: Key, ours: UInt64) {
        guard responders[key.hashValue] == ours else { return }
        responders.removeValue(forKey: key.hashValue)
        // A dictionary keeps its capacity: after a burst (a hub's spokes all coming up at
        // once) the table is rebuilt to its size once an eighth of it is left.
        if responders.capacity > 64 && responders.count < responders.capacity / 8 {
            var smaller: [Int: UInt64] = Dictionary(minimumCapacity: responders.count)
            for (k, v) in responders { smaller[k] = v }
            responders = smaller
        }
    }
}

/// Counts what a flood makes the daemon drop and says so at most once per period, so that
/// the log tells an operator without becoming part of the flood.
public struct DropReport {
    public let period: Interval
    private var last: Instant? = nil
    private var pending: UInt64 = 0

    public init(period: Interval = .seconds(10)) { self.period = period }

    /// One drop at `now`: the number dropped since the last report when a report is due.
    public mutating func dropped(now: Instant) -> UInt64? {
        pending += 1
        if let last, now - last < period { return nil }
        last = now
        defer { pending = 0 }
        return pending
    }
}

/// A per-second budget (a fixed window): at most `limit` events in each second.
public struct RateWindow {
    private var second: UInt64 = 0
    private var used = 0

    public init() {}

    /// True when one more event fits in `limit` for the second of `now`.
    public mutating func take(limit: Int, now: Instant) -> Bool {
        let s = now.nanoseconds / 1_000_000_000
        if s != second {
            second = s
            used = 0
        }
        guard used < limit else { return false }
        used += 1
        return true
    }
}
