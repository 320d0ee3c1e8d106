/// One configuration error: `FILE:LINE: message`, where the message names the option
/// and says what is allowed.
public struct Diagnostic: Equatable, CustomStringConvertible, Sendable {
    public let file: String
    public let line: Int
    public let message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}

/// Every error of a configuration file, in line order.
public struct ConfigurationErrors: Error, CustomStringConvertible {
    public let diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    /// One `FILE:LINE: message` line per error.
    public var description: String {
        var text = ""
        for d in diagnostics {
            if !text.isEmpty { text += "\n" }
            text += d.description
        }
        return text
    }
}
