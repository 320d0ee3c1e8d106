import IKECore
import IKECrypto
import IKEWire

/// The responder's DoS gate (RFC 7296 §2.6): above `halfOpenThreshold` half-open SAs,
/// an IKE_SA_INIT without a valid cookie gets a COOKIE and no state. The cookie is
/// <secret version> | prf(<secret>, Ni | IPi | SPIi); the secret rotates, and the
/// previous one stays valid for one period.
struct CookieJar {
    var version: UInt8 = 0
    var secret = SecretBytes(Random.bytes(32))
    var previous: SecretBytes? = nil
    var rotatedAt: Instant = .zero
    static let period: Interval = .seconds(300)
    let prf = PRF(.hmacSHA2_256)!

    mutating func rotate(now: Instant) {
        guard now - rotatedAt >= CookieJar.period else { return }
        previous = secret
        secret = SecretBytes(Random.bytes(32))
        version &+= 1
        rotatedAt = now
    }

    func cookie(version v: UInt8, secret s: SecretBytes, nonce: [UInt8], address: IPAddress, spi: UInt64) -> [UInt8] {
        [v] + prf.compute(key: s, data: nonce + address.bytes + spi.bigEndianBytes)
    }

    func make(nonce: [UInt8], address: IPAddress, spi: UInt64) -> [UInt8] {
        cookie(version: version, secret: secret, nonce: nonce, address: address, spi: spi)
    }

    func verify(_ presented: [UInt8], nonce: [UInt8], address: IPAddress, spi: UInt64) -> Bool {
        guard let v = presented.first else { return false }
        if v == version { return SecretBytes(presented) == SecretBytes(make(nonce: nonce, address: address, spi: spi)) }
        if let previous, v == version &- 1 {
            return SecretBytes(presented) == SecretBytes(cookie(version: v, secret: previous, nonce: nonce, address: address, spi: spi))
        }
        return false
    }
}

extension IKEv2Engine {
    /// Whether a request from `address` needs a cookie: the table is busy, or this source
    /// already holds its share (so one address cannot fill it, spoofed or not).
    func cookieRequired(from address: IPAddress) -> Bool {
        responders.halfOpen >= limits.cookieThreshold || responders.halfOpen(from: address) >= limits.cookieThresholdPerSource
    }

    /// What the cookie gate says about an IKE_SA_INIT request.
    enum CookieGate {
        /// It may create state; `proven` when it returned a valid cookie.
        case pass(proven: Bool)
        /// It was answered with a cookie, or dropped for a bad one.
        case stopped
    }

    /// Whether the request may create state; otherwise it has been answered with a
    /// cookie (or dropped for a bad one).
    func cookieGate(_ message: IKEv2Message, nonce: [UInt8], from remote: Endpoint, to local: Endpoint, now: Instant) -> CookieGate {
        let presented = message.notify(.cookie)?.data
        let required = cookieRequired(from: remote.address)
        guard required || presented != nil else { return .pass(proven: false) }
        cookies.rotate(now: now)
        let spi = message.header.initiatorSPI
        if let presented {
            if cookies.verify(presented, nonce: nonce, address: remote.address, spi: spi) { return .pass(proven: true) }
            counters.badCookies += 1
            if !required { return .pass(proven: false) }
        }
        counters.cookiesSent += 1
        answerInitError(message, .cookie, data: cookies.make(nonce: nonce, address: remote.address, spi: spi), from: local, to: remote)
        return .stopped
    }

    /// The half-open limits, after the cookie: a source at its share loses its oldest
    /// half-open SA to the new one (one that proved its address with a cookie is refused
    /// instead, at a larger share); a full table takes only configured peers. Drops are
    /// counted and reported at most every ten seconds.
    func admitHalfOpen(from remote: Endpoint, proven: Bool, now: Instant) -> Bool {
        switch responders.admission(from: remote.address, configuredPeer: policyIndex.names(remote.address),
                                    proven: proven, limits) {
        case .admit:
            return true
        case let .replace(oldest):
            counters.halfOpenReplaced += 1
            if let sa = sas[oldest] { remove(sa) }
            return true
        case .full:
            counters.halfOpenRefused += 1
            if let n = limitDrops.dropped(now: now) {
                log(.information, "\(limits.halfOpenTotal) half-open IKE SAs (half_open_max): \(n) IKE_SA_INIT refused since the last report")
            }
            return false
        }
    }
}
