import IKECore
import IKECrypto
import IKEWire

/// One ISAKMP SA (phase 1) with the Quick Modes running on it and the IPsec SA pair
/// (phase 2) it keeps for its tunnel. The state says how far phase 1 has come and holds
/// what only its messages need.
final class ISAKMPSA: HeapPlaced {
    enum State {
        /// Phase 1 under way: the last message sent, and the exchange's data.
        case negotiating(Step, Handshake)
        /// Phase 1 done: the handshake's data is gone.
        case established
    }

    /// Where phase 1 stands.
    enum Step: Equatable {
        /// Main Mode: messages 1, 3, 5 sent (initiator); 2, 4 sent (responder).
        case mainSent1, mainSent3, mainSent5, mainReplied2, mainReplied4
        /// Aggressive Mode: message 1 sent (initiator); 2 sent (responder).
        case aggressiveSent1, aggressiveReplied2
    }

    /// What the phase 1 messages need and nothing after them: the Diffie-Hellman key and
    /// both public values, both nonces, the SA and ID payload bodies HASH_I and HASH_R are
    /// computed over, and whether the peer asked for our certificate. One object passed
    /// from step to step, dropped when phase 1 completes.
    final class Handshake {
        var saBody: [UInt8] = []
        /// The initiator's ID payload body of Aggressive Mode's first message (for HASH_I).
        var idBody: [UInt8] = []
        var ke: KeyExchange?
        var nonceI: [UInt8] = []
        var nonceR: [UInt8] = []
        var gxi: [UInt8] = []
        var gxr: [UInt8] = []
        /// The peer sent a CR: `send_cert 'ifasked'` sends our certificate.
        var peerAsksForCertificate = false
    }

    /// A request we sent and retransmit until it is answered.
    struct Pending {
        var request: Retransmission
        /// 0 for phase 1, a Quick Mode's message ID otherwise.
        var messageID: UInt32
    }

    /// A Quick Mode in progress, by its message ID.
    struct QuickMode {
        var initiator: Bool
        var nonceI: [UInt8]
        var nonceR: [UInt8] = []
        var ke: KeyExchange?
        var inboundSPI: UInt32
        var outboundSPI: UInt32 = 0
        var local: [TrafficSelector]
        var remote: [TrafficSelector]
        /// Whether the selectors went on the wire as IDci/IDcr.
        var withIDs: Bool
        var choice: Phase2Choice?
        var shared: SecretBytes?
        /// Our responder-lifetime cap, or the peer's (RFC 2407 §4.6.3.1).
        var lifetimeSeconds: UInt32
        var rekey: Bool
    }

    /// An installed IPsec SA pair.
    struct Child {
        var sa: ChildSA
        var rekeyAt: Instant?
        var expiresAt: Instant
    }

    // The stored properties are ordered for packing (Swift lays them out in declaration
    // order): the word-sized ones first, each nine-byte optional instant followed by
    // what fits in its padding, then the byte-aligned addresses. The rare ones are held
    // apart.

    let cookieI: UInt64
    var cookieR: UInt64
    var state: State
    var policy: EnginePolicy
    let createdAt: Instant
    var lastHeard: Instant

    // Phase 1 negotiation.
    var keys: IKEv1Keys?
    var cipher: CBCCipher?
    /// The phase 1 CBC chain; once established, the last block of phase 1.
    var iv: [UInt8] = []
    /// When a responder SA that no tunnel uses (the peer replaced it by a rekey, or ran no
    /// Quick Mode on it) is let go, whatever the peer does.
    @HeldApart var retireAt: Instant? = nil
    /// This SA replaced an older one (phase 1 rekey) or was replaced by a newer one.
    @HeldApart var replaces: UInt64? = nil
    @HeldApart var replacedBy: UInt64? = nil
    /// A peer's phase 1 rekey that came up within `IKEv1Engine.crossingWindow` of ours,
    /// which holds the tunnel (this cookie), until the peer shows which it keeps.
    @HeldApart var contends: UInt64? = nil

    // Retransmission and duplicates.
    @HeldApart var pending: Pending? = nil
    /// Our answers to the last messages received, by the received message's digest.
    var answers: [Answer] = []
    /// The digests of the last one-way messages taken.
    var taken: [[UInt8]] = []

    // Phase 2.
    /// When the first Quick Mode after an Aggressive Mode is to start.
    @HeldApart var quickModeDue: Instant? = nil
    var quickModes: [UInt32: QuickMode] = [:]
    /// The CBC chain of each exchange with a message ID (Quick Mode, Informational).
    var ivs: [UInt32: [UInt8]] = [:]
    var child: Child?
    /// Pairs replaced by a rekey, until the peer or we delete them.
    var retired: [ChildSA] = []
    /// Our Quick Mode rekeys done here whose replaced pairs (inbound SPIs) we delete at
    /// the peer at `replacedDeleteAt` (`IKEv1Engine.replacedDeleteDelay`).
    var replacedToDelete: [UInt32] = []
    @HeldApart var replacedDeleteAt: Instant? = nil

    // Liveness (RFC 3706).
    /// The R-U-THERE waiting for its ACK; each retry is a new Informational message.
    /// Anything authentic from the peer after its round began answers too.
    @HeldApart var dpdPending: (sequence: UInt32, timing: Retransmission)? = nil
    var lastKeepalive: Instant

    /// When phase 1 completed: a peer's rekey that began before ours was up crossed it.
    var establishedAt: Instant?
    let initiator: Bool
    let aggressive: Bool
    /// Initiator: a Quick Mode follows phase 1 (false: it waits for `requestPhase2`).
    var phase2Wanted = true
    /// Our rekey of another ISAKMP SA (initiator).
    var isRekey = false
    var peerNATT = false
    var peerDPD = false
    var natDetected = false
    var rekeyAt: Instant?
    /// The NAT is in front of us: we send the keepalives (RFC 3948 §4).
    var behindNAT = false
    /// The peer deleted this SA while our rekey of it was under way: it holds the tunnel
    /// until that rekey is up (or fails, and the tunnel with it), and is not used meanwhile.
    var deletedByPeer = false
    var lifetimeSeconds: UInt32 = 0
    var expiresAt: Instant?
    var dpdSequence: UInt32 = 0
    var tunnel: UInt32?
    /// Where the SA's deadline is in the engine's heap (`SATimers`).
    var heapSlot: Int32 = -1

    var choice: Phase1Choice?
    var peerID: Identity?
    /// Where the first message came from (a responder's key in `HalfOpenTable`).
    let firstAddress: IPAddress
    var local: Endpoint
    var remote: Endpoint

    /// Phase 1 is done: what only its messages needed goes with the handshake (the
    /// Diffie-Hellman private key first), and of our answers only the last stays, for a
    /// retransmitted last message.
    func settle() {
        state = .established
        keys?.forgetPhase1Keys()
        if answers.count > 1 { answers.removeFirst(answers.count - 1) }
    }

    var localCookie: UInt64 { initiator ? cookieI : cookieR }

    init(initiator: Bool, cookieI: UInt64, cookieR: UInt64, aggressive: Bool, policy: EnginePolicy, local: Endpoint, remote: Endpoint,
         now: Instant, handshake: Handshake = Handshake()) {
        self.initiator = initiator
        self.cookieI = cookieI
        self.cookieR = cookieR
        self.aggressive = aggressive
        self.policy = policy
        self.local = local
        self.remote = remote
        firstAddress = remote.address
        self.createdAt = now
        self.lastHeard = now
        self.lastKeepalive = now
        let step: Step = initiator ? (aggressive ? .aggressiveSent1 : .mainSent1) : (aggressive ? .aggressiveReplied2 : .mainReplied2)
        state = .negotiating(step, handshake)
    }

    var isEstablished: Bool {
        switch state {
        case .negotiating: return false
        case .established: return true
        }
    }

    /// A responder's Main Mode whose peer came back with our cookie (MM3 taken): the peer
    /// receives at its address.
    var peerCameBack: Bool { step == .mainReplied4 }

    /// Phase 1's step while it is under way.
    var step: Step? {
        switch state {
        case let .negotiating(step, _): return step
        case .established: return nil
        }
    }

    /// Phase 1's next step, with the same handshake.
    func advance(to step: Step) {
        switch state {
        case let .negotiating(_, handshake): state = .negotiating(step, handshake)
        case .established: break
        }
    }

    var header: ISAKMPHeader {
        ISAKMPHeader(initiatorSPI: cookieI, responderSPI: cookieR, nextPayload: 0, majorVersion: 1, minorVersion: 0,
                     exchangeType: 0, flags: 0, messageID: 0, length: 0)
    }

    /// A message in the clear.
    func plain(_ exchange: ISAKMPExchange, messageID: UInt32 = 0, _ payloads: [ISAKMPPayload]) throws(WireError) -> [UInt8] {
        var h = header
        h.exchangeType = exchange.rawValue
        h.messageID = messageID
        return try ISAKMPMessage(header: h, payloads: payloads).encode()
    }

    /// An encrypted message (RFC 2409 §5.3): the chain padded with zeros to the block
    /// size and encrypted under `iv`; returns it and the next IV (its last block).
    func sealed(_ exchange: ISAKMPExchange, messageID: UInt32, _ chain: [UInt8], first: ISAKMPPayloadType, iv: [UInt8]) throws(IKEv1Error) -> ([UInt8], [UInt8]) {
        guard let cipher else { throw .state("no keys yet") }
        var plaintext = chain
        let remainder = plaintext.count % cipher.blockSize
        if remainder != 0 { plaintext += [UInt8](repeating: 0, count: cipher.blockSize - remainder) }
        let ciphertext: [UInt8]
        do throws(CryptoError) { ciphertext = try cipher.encrypt(iv: iv, plaintext) } catch { throw .crypto(error) }
        var h = header
        h.exchangeType = exchange.rawValue
        h.messageID = messageID
        h.flags = ISAKMPFlags.encryption
        let headerBytes: [UInt8]
        do throws(WireError) { headerBytes = try ISAKMPMessage.headerBytes(h, firstPayload: first, bodyLength: ciphertext.count) } catch {
            throw .wire(error)
        }
        return (headerBytes + ciphertext, Array(ciphertext.suffix(cipher.blockSize)))
    }

    /// Decrypts a message's body under `iv`: the plaintext and the next IV.
    func opened(_ raw: [UInt8], _ header: ISAKMPHeader, iv: [UInt8]) throws(IKEv1Error) -> (plaintext: [UInt8], nextIV: [UInt8]) {
        guard let cipher else { throw .state("no keys yet") }
        let body = Array(raw[ISAKMPHeader.size..<Int(header.length)])
        let plaintext: [UInt8]
        do throws(CryptoError) { plaintext = try cipher.decrypt(iv: iv, body) } catch { throw .crypto(error) }
        return (plaintext, Array(body.suffix(cipher.blockSize)))
    }

    /// The IV chain of exchange `messageID`, started from the end of phase 1.
    func exchangeIV(_ messageID: UInt32) -> [UInt8] {
        if let iv = ivs[messageID] { return iv }
        guard let keys, let cipher else { return [] }
        return keys.exchangeIV(phase1LastBlock: iv, messageID: messageID, blockSize: cipher.blockSize)
    }

    /// Keeps our answer to a received message for its retransmissions (a few of the
    /// latest); an empty answer marks a one-way message (an Informational) taken, whose
    /// copies are dropped. Those are kept apart: a peer's liveness checks, which come and
    /// go all the time, must not push out the QM3 its retransmitted QM2 still needs.
    /// `counted` (our QM3, `at` its first sending): the peer's copies of what it answers
    /// are counted (`answer(to:now:)`).
    func remember(_ received: [UInt8], answer: [UInt8], counted at: Instant? = nil) {
        if answer.isEmpty {
            taken.append(Digest.sha1(received))
            if taken.count > 4 { taken.removeFirst() }
            return
        }
        answers.append(Answer(digest: Digest.sha1(received), bytes: answer, lastCopy: at))
        if answers.count > 4 { answers.removeFirst() }
    }

    /// Our answer to a copy of a message already taken ([] for a one-way one), or nil;
    /// with, for an answer remembered as counted, the copies the peer has sent of what it
    /// answers. A copy within a second of the one before (or of our answer) is the
    /// network's duplicate, not the peer's retransmission, and is not counted.
    func answer(to received: [UInt8], now: Instant) -> (bytes: [UInt8], copies: Int?)? {
        guard !answers.isEmpty || !taken.isEmpty else { return nil }
        let d = Digest.sha1(received)
        if let i = answers.firstIndex(where: { $0.digest == d }) {
            guard let last = answers[i].lastCopy else { return (answers[i].bytes, nil) }
            if now - last >= .seconds(1) {
                answers[i].copies += 1
                answers[i].lastCopy = now
            }
            return (answers[i].bytes, answers[i].copies)
        }
        return taken.contains(d) ? ([], nil) : nil
    }

    /// Our answer to a message received, kept for the peer's copies of that message.
    struct Answer {
        let digest: [UInt8]
        let bytes: [UInt8]
        /// When the last counted copy came (or the answer went); nil: not counted.
        var lastCopy: Instant?
        var copies = 0
    }
}

/// Why building or reading a message failed.
enum IKEv1Error: Error, CustomStringConvertible {
    case wire(WireError)
    case crypto(CryptoError)
    case state(String)

    var description: String {
        switch self {
        case let .wire(e): return e.description
        case let .crypto(e): return e.description
        case let .state(s): return s
        }
    }
}
