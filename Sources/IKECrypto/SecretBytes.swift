import COpenSSL

/// Key material: wiped when released, printed as `<redacted>`, compared in constant
/// time. Every key, PSK, SKEYSEED and prf+ output lives in one of these.
///
/// One allocation holds the count and the bytes (a held tunnel keeps three keys: one
/// chunk each, not an object and a separate buffer).
public struct SecretBytes: Equatable, CustomStringConvertible {
    /// The bytes after their count, wiped by the last owner's release. A 32-bit count
    /// puts the bytes 4 octets earlier than an `Int`: a 36-byte key (AES-256-GCM's with
    /// its salt) fits a 64-byte heap chunk instead of 80.
    private final class Storage: ManagedBuffer<UInt32, UInt8> {
        deinit {
            withUnsafeMutablePointers { count, bytes in OPENSSL_cleanse(bytes, Int(count.pointee)) }
        }
    }

    private let storage: Storage

    private init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        storage = unsafeDowncast(Storage.create(minimumCapacity: max(count, 1)) { _ in UInt32(count) }, to: Storage.self)
        storage.withUnsafeMutablePointerToElements { fill(UnsafeMutableRawBufferPointer(start: $0, count: count)) }
    }

    public init(_ bytes: [UInt8]) {
        self.init(count: bytes.count) { target in bytes.withUnsafeBytes { if $0.count > 0 { target.copyMemory(from: $0) } } }
    }

    public init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count) { target in if bytes.count > 0 { target.copyMemory(from: bytes) } }
    }

    /// The first `count` bytes of a temporary (all of them when nil), which is wiped: a
    /// key computed into an array leaves no copy of itself behind.
    public init(wiping bytes: inout [UInt8], count: Int? = nil) {
        let count = count ?? bytes.count
        self = bytes.withUnsafeBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        wipe(&bytes)
    }

    public var count: Int { Int(storage.header) }

    /// No bytes, shared: what a key that was handed over or is no longer needed becomes.
    nonisolated(unsafe) public static let none = SecretBytes([])

    /// Lends the bytes to a cryptographic operation; they must not escape `body`.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.withUnsafeMutablePointers { count, bytes in body(UnsafeRawBufferPointer(start: bytes, count: Int(count.pointee))) }
    }

    /// Lends `range` of the bytes, as `withBytes` does.
    public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// `range` of the bytes as keys of their own.
    public func copy(_ range: Range<Int>) -> SecretBytes {
        withBytes(range) { SecretBytes(copying: $0) }
    }

    /// Constant-time comparison (CRYPTO_memcmp): no early exit on the first difference.
    public static func == (a: SecretBytes, b: SecretBytes) -> Bool {
        guard a.count == b.count else { return false }
        return a.withBytes { x in b.withBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0 } }
    }

    public var description: String { "<redacted>" }
}

/// A prf input made of keys and then public values (g^xy | CKY-I | CKY-R | 0, g^ir | Ni |
/// Nr): one allocation sized first, so that no growth leaves a copy of a key behind. The
/// caller wipes it (`PRF.secret` does).
public func keyInput(_ secrets: [SecretBytes], then tail: [UInt8]) -> [UInt8] {
    var input: [UInt8] = []
    input.reserveCapacity(secrets.reduce(tail.count) { $0 + $1.count })
    for secret in secrets { secret.withBytes { input.append(contentsOf: $0) } }
    input += tail
    return input
}
