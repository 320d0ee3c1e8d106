import COpenSSL

/// Key material: wiped when released, printed as `<redacted>`, compared in constant
/// time. Every key, PSK, SKEYSEED and prf+ output lives in one of these.
public final class SecretBytes: Equatable, CustomStringConvertible {
    private let storage: UnsafeMutableRawBufferPointer

    private init(count: Int) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 8)
        self.count = count
    }

    public convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeBytes { fill(from: $0) }
    }

    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        fill(from: bytes)
    }

    private func fill(from bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { UnsafeMutableRawBufferPointer(rebasing: storage[0..<bytes.count]).copyMemory(from: bytes) }
    }

    deinit {
        OPENSSL_cleanse(storage.baseAddress, storage.count)
        storage.deallocate()
    }

    public let count: Int

    /// No bytes, shared: what a key that was handed over or is no longer needed becomes.
    nonisolated(unsafe) public static let none = SecretBytes([])

    /// Lends the bytes to a cryptographic operation; they must not escape `body`.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// Constant-time comparison (CRYPTO_memcmp): no early exit on the first difference.
    public static func == (a: SecretBytes, b: SecretBytes) -> Bool {
        guard a.count == b.count else { return false }
        return CRYPTO_memcmp(a.storage.baseAddress, b.storage.baseAddress, a.count) == 0
    }

    public var description: String { "<redacted>" }
}
