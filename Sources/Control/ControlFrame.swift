import IKECore
/// The control socket's framing: every message is an 8-byte header and a body.
///
///      0       1       2       3       4       5       6       7
///     +-------+-------+-------+-------+-------+-------+-------+-------+
///     |  'I'  |  'K'  |version| kind  |          body length          |
///     +-------+-------+-------+-------+-------+-------+-------+-------+
///
/// A request body is the canonical `ike cmd=` parameters, one per line. A response body
/// is the exit status (one byte), the length of the standard-output text (4 bytes),
/// that text, and the standard-error text. Sizes are bounded both ways.
public enum ControlFrame {
    public static let version: UInt8 = 1
    public static let headerSize = 8
    public static let maxRequest = 16 * 1024
    public static let maxResponse = 16 * 1024 * 1024

    public enum Kind: UInt8, Sendable {
        case request = 1, response = 2
    }

    /// What a complete or partial frame in a buffer amounts to.
    public enum Decoded: Equatable {
        /// More bytes are needed.
        case incomplete
        /// A whole frame: its body and the bytes it took.
        case frame(kind: Kind, body: [UInt8], consumed: Int)
        case malformed(String)
    }

    public static func encode(_ kind: Kind, _ body: [UInt8]) -> [UInt8] {
        let n = UInt32(body.count)
        return [0x49, 0x4b, version, kind.rawValue,
                UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + body
    }

    /// Decodes the frame at the start of `bytes`, refusing bodies over `limit`.
    public static func decode(_ bytes: [UInt8], limit: Int) -> Decoded {
        if bytes.count >= 2 && (bytes[0] != 0x49 || bytes[1] != 0x4b) {
            return .malformed("not an ike control message")
        }
        guard bytes.count >= headerSize else { return .incomplete }
        guard bytes[2] == version else {
            return .malformed("control protocol version \(bytes[2]) is not supported; this daemon speaks version \(version)")
        }
        guard let kind = Kind(rawValue: bytes[3]) else { return .malformed("unknown message kind \(bytes[3])") }
        var length = 0
        for i in 4..<8 { length = length << 8 | Int(bytes[i]) }
        guard length <= limit else { return .malformed("message of \(length) bytes exceeds the limit of \(limit)") }
        guard bytes.count >= headerSize + length else { return .incomplete }
        return .frame(kind: kind, body: Array(bytes[headerSize..<(headerSize + length)]), consumed: headerSize + length)
    }
}

/// The daemon's answer: what the client prints and the exit status it ends with.
public struct ControlResponse: Equatable, Sendable {
    /// 0 success, 1 the operation failed, 2 usage error (interface.md).
    public var status: UInt8
    public var output: String
    public var error: String

    public init(status: UInt8, output: String = "", error: String = "") {
        self.status = status
        self.output = output
        self.error = error
    }

    public static func ok(_ output: String = "") -> ControlResponse { ControlResponse(status: 0, output: output) }
    public static func failed(_ error: String) -> ControlResponse { ControlResponse(status: 1, error: error) }
    public static func usage(_ error: String) -> ControlResponse { ControlResponse(status: 2, error: error) }

    public var body: [UInt8] {
        let out = Array(output.utf8)
        let n = UInt32(out.count)
        return [status, UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
                UInt8(truncatingIfNeeded: n)] + out + Array(error.utf8)
    }

    public init?(body: [UInt8]) {
        guard body.count >= 5, body[0] <= 2 else { return nil }
        var n = 0
        for i in 1..<5 { n = n << 8 | Int(body[i]) }
        guard 5 + n <= body.count else { return nil }
        status = body[0]
        output = String(decoding: body[5..<(5 + n)], as: UTF8.self)
        error = String(decoding: body[(5 + n)...], as: UTF8.self)
    }
}

extension ControlRequest {
    /// The request body: canonical parameters, one per line.
    public var body: [UInt8] { Array(parameters.joined(separator: "\n").utf8) }

    /// Reads a request body; a malformed one is a usage error.
    public static func decode(body: [UInt8]) -> Result<ControlRequest, UsageError> {
        guard !body.contains(0) else { return .failure(UsageError("malformed request: NUL byte")) }
        let text = String(decoding: body, as: UTF8.self)
        var words: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { words.append(String(line)) }
        switch parse(words) {
        case let .success((request, socket)):
            if socket != nil { return .failure(UsageError("socket= is not sent to the daemon")) }
            return .success(request)
        case let .failure(e): return .failure(e)
        }
    }
}
