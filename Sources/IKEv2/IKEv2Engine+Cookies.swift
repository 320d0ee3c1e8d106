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
    var halfOpenCount: Int { sas.values.filter { $0.state == .halfOpen }.count }

    /// True when the request may create state; otherwise it has been answered with a
    /// cookie (or dropped for a bad one).
    func passesCookieGate(_ message: IKEv2Message, nonce: [UInt8], from remote: Endpoint, to local: Endpoint) -> Bool {
        let presented = message.notify(.cookie)?.data
        guard halfOpenCount >= halfOpenThreshold || presented != nil else { return true }
        let spi = message.header.initiatorSPI
        if let presented {
            if cookies.verify(presented, nonce: nonce, address: remote.address, spi: spi) { return true }
            counters.badCookies += 1
            if halfOpenCount < halfOpenThreshold { return true }
        }
        counters.cookiesSent += 1
        answerInitError(message, .cookie, data: cookies.make(nonce: nonce, address: remote.address, spi: spi), from: local, to: remote)
        return false
    }
}
