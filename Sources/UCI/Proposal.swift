import IKEWire

/// One proposal of a tunnel: the algorithms of each transform type that may be chosen
/// together, written the way strongSwan and OpenWrt users write them
/// (`aes256gcm16-prfsha256-x25519`, `aes256-sha256-modp2048`).
public struct Proposal: Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// Phase 1 / IKE SA: needs encryption, integrity (unless AEAD), PRF and a DH group.
        case ike
        /// Phase 2 / ESP: needs encryption and integrity (unless AEAD); a DH group means PFS.
        case esp
    }

    public var ciphers: [Cipher] = []
    public var integrity: [IntegrityAlgorithm] = []
    public var prfs: [PseudorandomFunction] = []
    public var groups: [DHGroup] = []
    /// ESP sequence numbers offered, preferred first: true for 64-bit extended sequence
    /// numbers (`esn`), false for 32-bit ones (`noesn`). Empty: 32-bit only.
    public var esn: [Bool] = []

    public init() {}

    /// The keywords, in the order the canonical form prints them.
    enum Keyword {
        case cipher(Cipher)
        case integrity(IntegrityAlgorithm, PseudorandomFunction)
        case prf(PseudorandomFunction)
        case group(DHGroup)
        case esn(Bool)
    }

    static let keywords: [(String, Keyword)] = [
        ("aes128", .cipher(Cipher(.aesCBC, keyBits: 128))),
        ("aes256", .cipher(Cipher(.aesCBC, keyBits: 256))),
        ("aes128gcm16", .cipher(Cipher(.aesGCM16, keyBits: 128))),
        ("aes256gcm16", .cipher(Cipher(.aesGCM16, keyBits: 256))),
        ("chacha20poly1305", .cipher(Cipher(.chacha20Poly1305, keyBits: 0))),
        ("sha1", .integrity(.hmacSHA1_96, .hmacSHA1)),
        ("sha256", .integrity(.hmacSHA2_256_128, .hmacSHA2_256)),
        ("sha384", .integrity(.hmacSHA2_384_192, .hmacSHA2_384)),
        ("sha512", .integrity(.hmacSHA2_512_256, .hmacSHA2_512)),
        ("prfsha1", .prf(.hmacSHA1)),
        ("prfsha256", .prf(.hmacSHA2_256)),
        ("prfsha384", .prf(.hmacSHA2_384)),
        ("prfsha512", .prf(.hmacSHA2_512)),
        ("modp2048", .group(.modp2048)),
        ("modp3072", .group(.modp3072)),
        ("modp4096", .group(.modp4096)),
        ("ecp256", .group(.ecp256)),
        ("ecp384", .group(.ecp384)),
        ("ecp521", .group(.ecp521)),
        ("x25519", .group(.curve25519)),
        ("x448", .group(.curve448)),
        ("esn", .esn(true)),
        ("noesn", .esn(false)),
    ]

    /// Other spellings strongSwan accepts for the same algorithms; `ike check` prints
    /// the canonical keyword above.
    static let aliases: [(String, Keyword)] = [
        ("curve25519", .group(.curve25519)),
        ("curve448", .group(.curve448)),
        ("aes128gcm", .cipher(Cipher(.aesGCM16, keyBits: 128))),
        ("aes128gcm128", .cipher(Cipher(.aesGCM16, keyBits: 128))),
        ("aes256gcm", .cipher(Cipher(.aesGCM16, keyBits: 256))),
        ("aes256gcm128", .cipher(Cipher(.aesGCM16, keyBits: 256))),
        ("sha2_256", .integrity(.hmacSHA2_256_128, .hmacSHA2_256)),
        ("sha2_384", .integrity(.hmacSHA2_384_192, .hmacSHA2_384)),
        ("sha2_512", .integrity(.hmacSHA2_512_256, .hmacSHA2_512)),
        ("prfsha2_256", .prf(.hmacSHA2_256)),
        ("prfsha2_384", .prf(.hmacSHA2_384)),
        ("prfsha2_512", .prf(.hmacSHA2_512)),
    ]

    /// strongSwan's names for groups this daemon does not offer, with the reason.
    static let refusedGroups: [(String, String)] = [
        ("modp768", "too weak (RFC 8247)"), ("modp1024", "too weak (RFC 8247)"), ("modp1536", "too weak (RFC 8247)"),
        ("modp1024s160", "too weak (RFC 8247)"), ("modp2048s224", "not supported (RFC 8247 advises against it)"),
        ("modp2048s256", "not supported (RFC 8247 advises against it)"), ("ecp192", "too weak (RFC 8247)"),
        ("ecp224", "too weak (RFC 8247)"), ("modp6144", "not supported"), ("modp8192", "not supported"),
    ]

    static var knownKeywords: String {
        var names: [String] = []
        for (name, _) in keywords { names.append(name) }
        return names.joined(separator: ", ")
    }

    /// Parses `text` for a proposal of `kind`. For IKE, integrity algorithms also give
    /// their PRF when none is named, and an AEAD proposal without a PRF gets prfsha256
    /// (as strongSwan does).
    public static func parse(_ text: String, kind: Kind) -> Result<Proposal, ProposalError> {
        var proposal = Proposal()
        var impliedPRFs: [PseudorandomFunction] = []
        for word in text.split(separator: "-", omittingEmptySubsequences: false) {
            guard let keyword = (keywords.first { $0.0 == word } ?? aliases.first { $0.0 == word })?.1 else {
                if let refused = refusedGroups.first(where: { $0.0 == word }) {
                    return .failure(ProposalError("group '\(word)' is \(refused.1); use modp2048 or stronger, ecp256, ecp384, ecp521, x25519 or x448"))
                }
                return .failure(ProposalError("unknown algorithm '\(word)'; known: \(knownKeywords)"))
            }
            switch keyword {
            case let .cipher(c): appendOnce(c, to: &proposal.ciphers)
            case let .integrity(i, p):
                appendOnce(i, to: &proposal.integrity)
                appendOnce(p, to: &impliedPRFs)
            case let .prf(p): appendOnce(p, to: &proposal.prfs)
            case let .group(g): appendOnce(g, to: &proposal.groups)
            case let .esn(e): appendOnce(e, to: &proposal.esn)
            }
        }
        guard !proposal.ciphers.isEmpty else {
            return .failure(ProposalError("'\(text)' names no encryption algorithm (aes128, aes256, aes128gcm16, aes256gcm16, chacha20poly1305)"))
        }
        let aead = proposal.ciphers.filter { $0.algorithm.isAEAD }.count
        if aead != 0 && aead != proposal.ciphers.count {
            return .failure(ProposalError("'\(text)' mixes AEAD and non-AEAD ciphers; put them in separate proposals"))
        }
        if aead != 0 && !proposal.integrity.isEmpty {
            return .failure(ProposalError("'\(text)': AEAD ciphers carry their own integrity; remove \(integrityNames(proposal))"))
        }
        if aead == 0 && proposal.integrity.isEmpty {
            return .failure(ProposalError("'\(text)' needs an integrity algorithm (sha1, sha256, sha384, sha512)"))
        }
        switch kind {
        case .ike:
            if proposal.prfs.isEmpty { proposal.prfs = aead != 0 ? [.hmacSHA2_256] : impliedPRFs }
            guard !proposal.groups.isEmpty else {
                return .failure(ProposalError("'\(text)' needs a DH group for the IKE SA (e.g. x25519, ecp256, modp2048)"))
            }
            guard proposal.esn.isEmpty else {
                return .failure(ProposalError("'\(text)': esn and noesn are for ESP proposals only"))
            }
        case .esp:
            guard proposal.prfs.isEmpty else {
                return .failure(ProposalError("'\(text)': ESP proposals take no PRF; remove the prf keyword"))
            }
        }
        return .success(proposal)
    }

    private static func appendOnce<T: Equatable>(_ value: T, to list: inout [T]) {
        if !list.contains(value) { list.append(value) }
    }

    private static func integrityNames(_ p: Proposal) -> String {
        var names: [String] = []
        for (name, k) in keywords {
            if case let .integrity(i, _) = k, p.integrity.contains(i) { names.append(name) }
        }
        return names.joined(separator: ", ")
    }

    /// The canonical keyword form: ciphers, integrity, PRFs, groups, each in the order
    /// of preference given; `parse` reads it back to an equal proposal.
    public var description: String {
        var words: [String] = []
        for c in ciphers { words.append(Proposal.name { if case let .cipher(x) = $0 { return x == c }; return false }) }
        for i in integrity { words.append(Proposal.name { if case let .integrity(x, _) = $0 { return x == i }; return false }) }
        for p in prfs { words.append(Proposal.name { if case let .prf(x) = $0 { return x == p }; return false }) }
        for g in groups { words.append(Proposal.name { if case let .group(x) = $0 { return x == g }; return false }) }
        for e in esn { words.append(Proposal.name { if case let .esn(x) = $0 { return x == e }; return false }) }
        return words.joined(separator: "-")
    }

    private static func name(where matches: (Keyword) -> Bool) -> String {
        for (name, keyword) in keywords where matches(keyword) { return name }
        preconditionFailure("a proposal holds an algorithm without a keyword")
    }
}

/// Why a proposal string was refused.
public struct ProposalError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
