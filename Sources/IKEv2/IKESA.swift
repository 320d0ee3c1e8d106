import IKECore
import IKECrypto
import IKEWire

/// One IKE SA and its first CHILD_SA, from either side. The state says how far the
/// exchanges have come and holds what only that phase needs; the engine drives the
/// transitions.
final class IKESA: HeapPlaced {
    enum State {
        /// Initiator: IKE_SA_INIT request sent.
        case initSent(Handshake)
        /// Initiator: IKE_AUTH request sent.
        case authSent(Handshake)
        /// Responder: IKE_SA_INIT answered, waiting for IKE_AUTH.
        case halfOpen(Handshake)
        /// IKE_AUTH done, or made by a rekey: the handshake's data is gone.
        case established
    }

    /// What IKE_SA_INIT and IKE_AUTH need and nothing after them: the Diffie-Hellman key,
    /// both nonces (AUTH signs them, the first CHILD_SA's keys come from them), both
    /// IKE_SA_INIT messages (AUTH signs them too), a COOKIE, the policies a responder
    /// chooses among until IKE_AUTH names one, and what the peer asked of our certificate.
    /// One object passed from state to state, dropped when the SA is established (about
    /// 900 bytes of a held IKE SA while it lives).
    final class Handshake {
        var keyExchange: KeyExchange?
        var nonceI: [UInt8] = []
        var nonceR: [UInt8] = []
        var cookie: [UInt8] = []
        var initRequest: [UInt8] = []
        var initResponse: [UInt8] = []
        /// Responder: the policies that may apply to this peer until IKE_AUTH tells which.
        var candidates: [EnginePolicy] = []
        /// The peer's SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4).
        var peerHashes: [UInt16] = []
        /// The peer sent CERTREQ: `send_cert 'ifasked'` sends our certificate.
        var peerAsksForCertificate = false
    }

    struct Pending {
        let messageID: UInt32
        var request: Retransmission
        /// Our delete: no answer is waited for beyond the retransmissions.
        let isDelete: Bool
    }

    // The stored properties are ordered for packing (Swift lays them out in declaration
    // order): the word-sized ones first, the lifetimes in eight bytes each
    // (`PackedInstant`), the flags and the 2- and 4-byte fields, then the identity, the
    // algorithms and the addresses (17, 16 and 20 bytes) with a 4-byte field in each gap
    // they leave: 296 bytes, a 304-byte heap chunk. A hub holds one of these per peer;
    // what it holds only now and then is in `occasional`.

    let localSPI: UInt64
    var remoteSPI: UInt64 = 0
    var policy: EnginePolicy?
    var state: State
    let createdAt: Instant
    /// nil while none of its fields is set: one pointer rather than eleven.
    private var occasional: Occasional?
    var keys: IKEKeys?
    /// `lastResponse`'s answer; its message ID is stored in a gap further down.
    private var lastAnswer: KeptAnswer?
    var childLocal: [TrafficSelector] = []
    var childRemote: [TrafficSelector] = []
    /// When anything authentic last came from the peer (liveness, §2.4).
    var lastHeard: Instant

    /// Lifetimes (§2.8): when to rekey (soft, with jitter) and when the SA ends (hard).
    @PackedInstant var ikeRekeyAt: Instant? = nil
    @PackedInstant var ikeExpiresAt: Instant? = nil
    @PackedInstant var childRekeyAt: Instant? = nil
    @PackedInstant var childExpiresAt: Instant? = nil
    let initiator: Bool
    var natDetected = false
    /// The NAT is in front of us: we keep its mapping open with keepalives (RFC 3948 §4).
    var behindNAT = false
    var childEstablished = false
    /// Initiator: the CHILD_SA IKE_AUTH makes is reported at once (false: it is held
    /// until `requestPhase2`).
    var phase2Wanted = true
    var childTransport = false
    /// A liveness check of ours is in flight.
    var probing = false
    var group: DHGroup
    /// `fragmentLimit`, 0 for none.
    private var fragmentOctets: UInt16 = 0
    var nextRequestID: UInt32 = 0
    var peerRequestID: UInt32 = 0
    var tunnel: UInt32?
    /// Where the SA's deadline is in the engine's heap (`SATimers`), in the gap after
    /// the tunnel.
    var heapSlot: Int32 = -1

    /// The identity the peer proved in IKE_AUTH.
    var peerID: Identity?
    var childOutboundSPI: UInt32 = 0
    var chosen: ChosenAlgorithms?
    /// What the CHILD_SA was negotiated with, for its rekeys.
    var childChosen: ChosenAlgorithms?
    var local: Endpoint
    private var lastResponseID: UInt32 = 0
    var remote: Endpoint {
        didSet {
            // The SA moved: where it began is kept (`firstAddress`), once.
            if remote.address != oldValue.address, occasional?.firstAddress == nil {
                setOccasional(true) { $0.firstAddress = oldValue.address }
            }
        }
    }
    var childInboundSPI: UInt32 = 0

    /// Our last answer, for the peer's retransmissions of its request (§2.1).
    var lastResponse: (messageID: UInt32, answer: KeptAnswer)? {
        get { lastAnswer.map { (lastResponseID, $0) } }
        set {
            lastResponseID = newValue?.messageID ?? 0
            lastAnswer = newValue?.answer
        }
    }

    /// How an answer is kept for a retransmitted request: as sent, or as what makes it
    /// again (one pointer either way).
    enum KeptAnswer {
        /// The datagram as it was sent.
        case sealed([UInt8])
        /// An empty INFORMATIONAL (a liveness check's answer): sealed anew.
        case empty
        /// A pre-shared-key IKE_AUTH answer that made the CHILD_SA: its AUTH method,
        /// the number of the proposal it took, then the AUTH octets (34 bytes with
        /// SHA-256 rather than a 240-byte datagram). The rest (IDr, SA, TSi, TSr) is the
        /// SA's own state, and the answer is built and sealed anew. Held as key material
        /// (it is made from the PSK): a 64-byte chunk where an array takes 80.
        case authentication(SecretBytes)
    }

    /// What an SA holds only now and then: a message in fragments, a request of ours in
    /// flight, a rekey or its collision, a successor or a predecessor, failed rekeys. An
    /// established SA that is quiet has none of it, and then no `Occasional` either.
    private final class Occasional {
        /// The fragments of a protected message being reassembled.
        var reassembly: Reassembly?
        /// A message reassembled from fragments, for `decrypt` to hand on.
        var reassembled: [IKEv2Payload]?
        var pending: Pending?
        var heldChild: HeldChild?
        var retiredChildren: [(inbound: UInt32, outbound: UInt32)] = []
        var rekeyedTo: UInt64?
        var predecessor: UInt64?
        var retireAt: Instant?
        var rekey: RekeyInFlight?
        var collision: Crossed<ChildSA>?
        var ikeCollision: Crossed<IKESA>?
        var rekeyFailures = 0
        /// Where the SA began, once it moved (MOBIKE, a NAT's new mapping).
        var firstAddress: IPAddress?
        /// When we last sent a NAT keepalive (only an SA behind a NAT sends them).
        var lastKeepalive: Instant?

        var isEmpty: Bool {
            reassembly == nil && reassembled == nil && pending == nil && heldChild == nil && retiredChildren.isEmpty
                && rekeyedTo == nil && predecessor == nil && retireAt == nil && rekey == nil && collision == nil
                && ikeCollision == nil && rekeyFailures == 0 && firstAddress == nil && lastKeepalive == nil
        }
    }

    /// Sets one of the occasional fields (`isSet`: to something other than its default),
    /// making the object for the first and dropping it with the last.
    private func setOccasional(_ isSet: Bool, _ body: (Occasional) -> Void) {
        if let o = occasional {
            body(o)
            if !isSet && o.isEmpty { occasional = nil }
        } else if isSet {
            let o = Occasional()
            body(o)
            occasional = o
        }
    }

    /// RFC 7383: both sides announced IKEV2_FRAGMENTATION_SUPPORTED; protected messages
    /// longer than this many octets go in fragments. nil: never.
    var fragmentLimit: UInt16? {
        get { fragmentOctets == 0 ? nil : fragmentOctets }
        set { fragmentOctets = newValue ?? 0 }
    }

    /// The fragments of a protected message being reassembled.
    var reassembly: Reassembly? {
        get { occasional?.reassembly }
        set { setOccasional(newValue != nil) { $0.reassembly = newValue } }
    }
    /// A message reassembled from fragments, for `decrypt` to hand on.
    var reassembled: [IKEv2Payload]? {
        get { occasional?.reassembled }
        set { setOccasional(newValue != nil) { $0.reassembled = newValue } }
    }
    var pending: Pending? {
        get { occasional?.pending }
        set { setOccasional(newValue != nil) { $0.pending = newValue } }
    }
    /// The CHILD_SA made with IKE_AUTH, held for `requestPhase2` (its keys too).
    var heldChild: HeldChild? {
        get { occasional?.heldChild }
        set { setOccasional(newValue != nil) { $0.heldChild = newValue } }
    }
    /// Replaced CHILD_SAs (inbound, outbound SPI) whose deletes are still to come.
    var retiredChildren: [(inbound: UInt32, outbound: UInt32)] {
        get { occasional?.retiredChildren ?? [] }
        set { setOccasional(!newValue.isEmpty) { $0.retiredChildren = newValue } }
    }
    /// Set once this IKE SA was rekeyed: its successor's SPI. Its delete is then expected
    /// and reported to nobody.
    var rekeyedTo: UInt64? {
        get { occasional?.rekeyedTo }
        set { setOccasional(newValue != nil) { $0.rekeyedTo = newValue } }
    }
    /// The IKE SA this one replaced, while that one still waits for its delete.
    var predecessor: UInt64? {
        get { occasional?.predecessor }
        set { setOccasional(newValue != nil) { $0.predecessor = newValue } }
    }
    /// When a rekeyed IKE SA goes if no delete has taken it (we delete it then).
    var retireAt: Instant? {
        get { occasional?.retireAt }
        set { setOccasional(newValue != nil) { $0.retireAt = newValue } }
    }
    /// Our own rekey in flight: the new nonce, key exchange and SPI.
    var rekey: RekeyInFlight? {
        get { occasional?.rekey }
        set { setOccasional(newValue != nil) { $0.rekey = newValue } }
    }
    /// The peer's CHILD_SA rekey that we answered while ours was in flight (§2.8.1);
    /// settled when our answer comes: the pair made with the lowest nonce goes.
    var collision: Crossed<ChildSA>? {
        get { occasional?.collision }
        set { setOccasional(newValue != nil) { $0.collision = newValue } }
    }
    /// The same for an IKE SA rekey (§2.8.2): the successor made by answering the peer.
    var ikeCollision: Crossed<IKESA>? {
        get { occasional?.ikeCollision }
        set { setOccasional(newValue != nil) { $0.ikeCollision = newValue } }
    }
    /// Where the first message came from (a responder's key in `HalfOpenTable`), however
    /// the SA moves later: held apart only once it moved.
    var firstAddress: IPAddress { occasional?.firstAddress ?? remote.address }
    /// When we last sent a NAT keepalive; the first is due one interval after the start.
    /// Held apart: only an SA behind a NAT sends them.
    var lastKeepalive: Instant {
        get { occasional?.lastKeepalive ?? createdAt }
        set { setOccasional(true) { $0.lastKeepalive = newValue } }
    }
    /// Our rekeys that failed in a row; each retry waits twice as long (§2.8).
    var rekeyFailures: Int {
        get { occasional?.rekeyFailures ?? 0 }
        set { setOccasional(newValue != 0) { $0.rekeyFailures = newValue } }
    }

    /// A CHILD_SA waiting to be reported: held apart, as it is rare.
    final class HeldChild {
        var child: ChildSA
        init(_ child: ChildSA) { self.child = child }
    }

    /// What the peer's rekey made while ours of the same SA was in flight (§2.8.1,
    /// §2.8.2), with the nonces it was made with; held apart, as it is rare. When our
    /// answer comes, the one made with the lowest nonce goes.
    final class Crossed<Made> {
        let made: Made
        let nonces: [[UInt8]]
        init(_ made: Made, _ nonces: [[UInt8]]) {
            self.made = made
            self.nonces = nonces
        }

        /// Whether ours, made with `ourNonces`, holds the lowest of the four nonces (and goes).
        func oursGoes(_ ourNonces: [[UInt8]]) -> Bool {
            let lowest = (ourNonces + nonces).min { a, b in a.lexicographicallyPrecedes(b) }!
            return ourNonces.contains(lowest)
        }
    }

    enum RekeyInFlight {
        case child(nonce: [UInt8], keyExchange: KeyExchange?, inboundSPI: UInt32)
        case ike(nonce: [UInt8], keyExchange: KeyExchange, spi: UInt64)
    }

    init(initiator: Bool, local: Endpoint, remote: Endpoint, group: DHGroup, now: Instant, spi chosen: UInt64? = nil,
         handshake: Handshake = Handshake()) {
        self.initiator = initiator
        var spi = chosen ?? Random.uint64()
        while spi == 0 { spi = Random.uint64() }
        localSPI = spi
        self.local = local
        self.remote = remote
        self.group = group
        state = initiator ? .initSent(handshake) : .halfOpen(handshake)
        createdAt = now
        lastHeard = now
    }

    func startIKELifetime(_ lifetime: UInt32, now: Instant) {
        let s = Lifetime.schedule(lifetime, from: now)
        ikeRekeyAt = s.rekey
        ikeExpiresAt = s.expire
    }

    func startChildLifetime(_ lifetime: UInt32, now: Instant) {
        let s = Lifetime.schedule(lifetime, from: now)
        childRekeyAt = s.rekey
        childExpiresAt = s.expire
    }

    /// The handshake's data, while IKE_SA_INIT and IKE_AUTH are under way.
    var handshake: Handshake? {
        switch state {
        case let .initSent(h), let .authSent(h), let .halfOpen(h): return h
        case .established: return nil
        }
    }

    var isEstablished: Bool {
        switch state {
        case .initSent, .authSent, .halfOpen: return false
        case .established: return true
        }
    }

    var isHalfOpen: Bool {
        switch state {
        case .halfOpen: return true
        case .initSent, .authSent, .established: return false
        }
    }

    /// What protects the messages we send, and those we receive (the keys' ciphers).
    var outgoing: MessageCipher? { keys.map { initiator ? $0.initiatorCipher : $0.responderCipher } }
    var incoming: MessageCipher? { keys.map { initiator ? $0.responderCipher : $0.initiatorCipher } }

    var spiI: UInt64 { initiator ? localSPI : remoteSPI }
    var spiR: UInt64 { initiator ? remoteSPI : localSPI }

    /// The header for a message we send.
    func header(_ exchange: ExchangeType, messageID: UInt32, response: Bool) -> ISAKMPHeader {
        var flags: UInt8 = 0
        if initiator { flags |= HeaderFlags.initiator }
        if response { flags |= HeaderFlags.response }
        return ISAKMPHeader(initiatorSPI: spiI, responderSPI: spiR, nextPayload: 0, majorVersion: 2, minorVersion: 0,
                            exchangeType: exchange.rawValue, flags: flags, messageID: messageID, length: 0)
    }

    /// IKE_AUTH done: the handshake's data goes with its state, and SK_pi/SK_pr with it.
    func establish() {
        keys?.forgetAuthenticationKeys()
        state = .established
    }

    /// Derives the IKE SA's keys once both nonces and the peer's KE are known.
    func deriveKeys(peerKE: [UInt8]) throws(CryptoError) {
        guard let chosen, let prfID = chosen.prf, let prf = PRF(prfID), let handshake, let keyExchange = handshake.keyExchange else {
            throw .unsupported("no PRF chosen")
        }
        let shared = try keyExchange.sharedSecret(peerPublicValue: peerKE)
        let k = try IKEKeys(prf: prf, cipher: chosen.cipher, integrity: chosen.integrity, sharedSecret: shared,
                            nonceI: handshake.nonceI, nonceR: handshake.nonceR, spiI: spiI, spiR: spiR)
        keys = k
        handshake.keyExchange = nil
    }

    /// An encrypted message: header, then one SK payload holding `payloads` (§3.14).
    func seal(_ exchange: ExchangeType, messageID: UInt32, response: Bool, _ payloads: [IKEv2Payload]) throws(IKEv2Error) -> [UInt8] {
        guard outgoing != nil else { throw .internalState("no keys to encrypt with") }
        let payloads = ExchangeRules.message(exchange, response: response).map { ExchangeRules.ordered($0, payloads) } ?? payloads
        let plaintext: [UInt8]
        do throws(WireError) { plaintext = try IKEv2Message.encodeChain(payloads) } catch { throw .wire(error) }
        return try seal(exchange, messageID: messageID, response: response, first: payloads.first?.type ?? .none, chain: plaintext)
    }

    /// The inner chain of a complete reassembly, parsed.
    static func parseChain(_ inner: [UInt8], first: PayloadType) throws(IKEv2Error) -> [IKEv2Payload] {
        let result: Result<[IKEv2Payload], WireError> = inner.withUnsafeBytes { bytes in
            var r = ByteReader(bytes)
            do throws(WireError) { return .success(try IKEv2Message.parseChain(first: first, &r)) } catch { return .failure(error) }
        }
        switch result {
        case let .success(p): return p
        case let .failure(e): throw .wire(e)
        }
    }

    /// An encrypted message around an encoded payload chain whose first payload is `first`.
    func seal(_ exchange: ExchangeType, messageID: UInt32, response: Bool, first: PayloadType, chain: [UInt8]) throws(IKEv2Error) -> [UInt8] {
        guard let outgoing else { throw .internalState("no keys to encrypt with") }
        if let limit = fragmentLimit.map(Int.init),
           ISAKMPHeader.size + 4 + outgoing.ivLength + chain.count + outgoing.blockSize + outgoing.icvLength > limit {
            return try sealFragments(exchange, messageID: messageID, response: response, first: first, chain: chain, limit: limit)
        }
        return try sealed(exchange, messageID: messageID, response: response, payload: .encrypted, first: first, fields: [], chain[...])
    }

    /// One protected datagram: the header, the SK or SKF payload header (`first` and the
    /// payload's own `fields`, the fragment numbers of SKF), all of it authenticated, and
    /// `plaintext` padded to the block size, encrypted.
    func sealed(_ exchange: ExchangeType, messageID: UInt32, response: Bool, payload: PayloadType, first: PayloadType,
                fields: [UInt8], _ chain: ArraySlice<UInt8>) throws(IKEv2Error) -> [UInt8] {
        guard let outgoing else { throw .internalState("no keys to encrypt with") }
        var plaintext = Array(chain)
        let padLength = (outgoing.blockSize - (plaintext.count + 1) % outgoing.blockSize) % outgoing.blockSize
        plaintext += [UInt8](repeating: 0, count: padLength)
        plaintext.append(UInt8(padLength))
        let length = 4 + fields.count + outgoing.ivLength + plaintext.count + outgoing.icvLength
        var h = header(exchange, messageID: messageID, response: response)
        h.nextPayload = payload.rawValue
        h.length = UInt32(ISAKMPHeader.size + length)
        var associated: [UInt8]
        do throws(WireError) {
            associated = try ByteWriter.bytes(capacity: ISAKMPHeader.size) { (w: inout ByteWriter) throws(WireError) in try h.write(to: &w) }
        } catch { throw .wire(error) }
        associated += [first.rawValue, 0, UInt8(length >> 8), UInt8(truncatingIfNeeded: length)] + fields
        do throws(CryptoError) {
            return associated + (try outgoing.seal(plaintext, associated: associated))
        } catch { throw .crypto(error) }
    }

    /// RFC 7383 §2.5: `chain` in SKF fragments of at most `limit` octets each, each
    /// encrypted on its own, concatenated (each datagram's header gives its length).
    func sealFragments(_ exchange: ExchangeType, messageID: UInt32, response: Bool, first: PayloadType, chain: [UInt8],
                       limit: Int) throws(IKEv2Error) -> [UInt8] {
        guard let outgoing else { throw .internalState("no keys to encrypt with") }
        let room = limit - ISAKMPHeader.size - 8 - outgoing.ivLength - outgoing.icvLength - outgoing.blockSize
        let step = outgoing.blockSize > 1 ? room - room % outgoing.blockSize : room
        guard step >= 64 else { throw .internalState("fragment_size too small for this cipher") }
        let total = (chain.count + step - 1) / step
        guard total <= IKESA.maxFragments else { throw .internalState("message of \(chain.count) octets needs more than \(IKESA.maxFragments) fragments") }
        var out: [UInt8] = []
        for index in 0..<total {
            let number = UInt16(index + 1), count = UInt16(total)
            out += try sealed(exchange, messageID: messageID, response: response, payload: .encryptedFragment,
                              first: index == 0 ? first : .none,
                              fields: [UInt8(number >> 8), UInt8(truncatingIfNeeded: number), UInt8(count >> 8), UInt8(truncatingIfNeeded: count)],
                              chain[(index * step)..<min(chain.count, (index + 1) * step)])
        }
        return out
    }

    /// What reassembly may hold for one message (RFC 7383 §2.6 leaves the bounds to us).
    static let maxFragments = 32
    static let maxReassembledOctets = 64 << 10

    struct Reassembly {
        var messageID: UInt32
        var response: Bool
        var total: UInt16
        var first: PayloadType = .none
        var pieces: [UInt16: [UInt8]] = [:]
        var octets = 0
        var startedAt: Instant
    }

    /// One SKF fragment, authenticated and decrypted: its first-inner type (fragment 1
    /// only) and its piece of the inner chain.
    func openFragment(_ raw: [UInt8], _ message: IKEv2Message) throws(IKEv2Error) -> [UInt8] {
        guard let incoming else { throw .internalState("no keys to decrypt with") }
        guard case .encryptedFragment? = message.payloads.first, message.payloads.count == 1,
              raw.count >= ISAKMPHeader.size + 8 else { throw .unprotected }
        let associated = Array(raw[0..<(ISAKMPHeader.size + 8)])
        let sealed = Array(raw[(ISAKMPHeader.size + 8)..<Int(message.header.length)])
        let plaintext: [UInt8]
        do throws(CryptoError) { plaintext = try incoming.open(sealed, associated: associated) } catch { throw .crypto(error) }
        guard let padLength = plaintext.last, Int(padLength) < plaintext.count else { throw .wire(.invalid(what: "pad length", value: 0)) }
        return Array(plaintext[0..<(plaintext.count - 1 - Int(padLength))])
    }

    /// The inner payloads of an encrypted message whose SK payload comes first.
    func open(_ raw: [UInt8], _ message: IKEv2Message) throws(IKEv2Error) -> [IKEv2Payload] {
        guard let incoming else { throw .internalState("no keys to decrypt with") }
        guard case let .encrypted(firstInner, _)? = message.payloads.first, message.payloads.count == 1,
              raw.count >= ISAKMPHeader.size + 4 else { throw .unprotected }
        let associated = Array(raw[0..<(ISAKMPHeader.size + 4)])
        let sealed = Array(raw[(ISAKMPHeader.size + 4)..<Int(message.header.length)])
        let plaintext: [UInt8]
        do throws(CryptoError) { plaintext = try incoming.open(sealed, associated: associated) } catch { throw .crypto(error) }
        guard let padLength = plaintext.last, Int(padLength) < plaintext.count else { throw .wire(.invalid(what: "pad length", value: 0)) }
        let inner = Array(plaintext[0..<(plaintext.count - 1 - Int(padLength))])
        let result: Result<[IKEv2Payload], WireError> = inner.withUnsafeBytes { bytes in
            var r = ByteReader(bytes)
            do throws(WireError) {
                return .success(try IKEv2Message.parseChain(first: firstInner, &r))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case let .success(p): return p
        case let .failure(e): throw .wire(e)
        }
    }
}

/// Why the engine refused a message or could not build one.
enum IKEv2Error: Error, CustomStringConvertible {
    case wire(WireError)
    case crypto(CryptoError)
    case unprotected
    case internalState(String)

    var description: String {
        switch self {
        case let .wire(e): return e.description
        case let .crypto(e): return e.description
        case .unprotected: return "expected an encrypted (SK) payload first"
        case let .internalState(s): return s
        }
    }
}
