import IKEWire

/// A UCI file as written, before any meaning is given to it: sections in file order,
/// each with its options and lists in order, every item with its line number.
public struct UCIDocument: Equatable {
    public struct Item: Equatable {
        public var key: String
        public var value: String
        /// `list` rather than `option`.
        public var isList: Bool
        public var line: Int
    }

    public struct Section: Equatable {
        public var type: String
        /// nil for an anonymous section.
        public var name: String?
        public var line: Int
        public var items: [Item] = []
    }

    public var sections: [Section] = []
}

/// The UCI file syntax of OpenWrt: `config TYPE ['NAME']`, `option KEY VALUE`,
/// `list KEY VALUE`; words bare, in single quotes (literal) or double quotes (with
/// backslash escapes), adjacent parts joined (`'it'\''s'`); `#` comments; blank lines.
public enum UCISyntax {
    /// Parses `text`; every syntax error of the file is reported, not just the first.
    /// Lines end in LF or CRLF, as `uci` reads them (Swift takes "\r\n" for one
    /// Character, so both are named).
    public static func parse(_ text: String, file: String) -> (UCIDocument, [Diagnostic]) {
        var document = UCIDocument()
        var errors: [Diagnostic] = []
        var lineNumber = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let words: [String]
            switch tokenize(rawLine) {
            case let .success(w): words = w
            case let .failure(problem):
                errors.append(Diagnostic(file: file, line: lineNumber, message: problem.message))
                continue
            }
            guard let keyword = words.first else { continue }
            let problem = apply(keyword, Array(words.dropFirst()), line: lineNumber, to: &document)
            if let problem { errors.append(Diagnostic(file: file, line: lineNumber, message: problem)) }
        }
        return (document, errors)
    }

    private static func apply(_ keyword: String, _ args: [String], line: Int, to document: inout UCIDocument) -> String? {
        switch keyword {
        case "config":
            guard args.count == 1 || args.count == 2, !args[0].isEmpty else {
                return "expected: config TYPE ['NAME']"
            }
            if args.count == 2 && !isName(args[1]) {
                return "section name '\(args[1])' may contain only letters, digits and '_'"
            }
            document.sections.append(.init(type: args[0], name: args.count == 2 ? args[1] : nil, line: line))
            return nil
        case "option", "list":
            guard args.count == 2, !args[0].isEmpty else {
                return args.count > 2 ? "\(keyword) '\(args[0])': more than one value; quote values that contain spaces"
                    : "expected: \(keyword) KEY 'VALUE'"
            }
            guard !document.sections.isEmpty else {
                return "\(keyword) '\(args[0])' outside a section: put it after a 'config' line"
            }
            document.sections[document.sections.count - 1].items.append(
                .init(key: args[0], value: args[1], isList: keyword == "list", line: line))
            return nil
        case "package":
            // `uci export` writes `package ike` first; `uci import` reads it.
            guard args.count == 1, args[0] == "ike" else {
                return "expected: package ike (this is the ike configuration)"
            }
            guard document.sections.isEmpty else { return "'package ike' belongs before the first 'config' line" }
            return nil
        default:
            return "unknown keyword '\(keyword)': expected config, option or list"
        }
    }

    /// UCI section names: letters, digits and underscores.
    public static func isName(_ text: String) -> Bool {
        guard !text.isEmpty else { return false }
        for c in text.utf8 {
            let ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f
            if !ok { return false }
        }
        return true
    }

    /// `@tunnel[0]`: how `uci show` names an anonymous section.
    public static func isAnonymousName(_ text: String) -> Bool {
        guard text.hasPrefix("@"), text.hasSuffix("]"), let open = text.firstIndex(of: "[") else { return false }
        let type = text[text.index(after: text.startIndex)..<open]
        let index = text[text.index(after: open)..<text.index(before: text.endIndex)]
        return isName(String(type)) && index.isASCIIDigits
    }

    struct Problem: Error {
        let message: String
    }

    /// Splits one line into words, removing quotes and the comment.
    static func tokenize(_ line: Substring) -> Result<[String], Problem> {
        var words: [String] = []
        var word = ""
        var inWord = false
        var chars = line.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = chars.next()
        func advance() { pending = chars.next() }
        while let c = pending {
            switch c {
            case " ", "\t", "\r":
                if inWord { words.append(word); word = ""; inWord = false }
                advance()
            case "#" where !inWord:
                return .success(words)
            case "'":
                inWord = true
                advance()
                while true {
                    guard let q = pending else { return .failure(Problem(message: "unterminated single quote")) }
                    advance()
                    if q == "'" { break }
                    word.unicodeScalars.append(q)
                }
            case "\"":
                inWord = true
                advance()
                while true {
                    guard let q = pending else { return .failure(Problem(message: "unterminated double quote")) }
                    advance()
                    if q == "\"" { break }
                    if q == "\\" {
                        guard let escaped = pending else { return .failure(Problem(message: "unterminated double quote")) }
                        advance()
                        word.unicodeScalars.append(escaped)
                    } else {
                        word.unicodeScalars.append(q)
                    }
                }
            case "\\":
                inWord = true
                advance()
                guard let escaped = pending else { return .failure(Problem(message: "a backslash at the end of the line escapes nothing")) }
                advance()
                word.unicodeScalars.append(escaped)
            default:
                inWord = true
                word.unicodeScalars.append(c)
                advance()
            }
        }
        if inWord { words.append(word) }
        return .success(words)
    }

    /// A value in single quotes, `'` written as `'\''`: what the printer emits.
    public static func quote(_ value: String) -> String {
        var out = "'"
        for c in value.unicodeScalars {
            if c == "'" { out += "'\\''" } else { out.unicodeScalars.append(c) }
        }
        return out + "'"
    }
}
