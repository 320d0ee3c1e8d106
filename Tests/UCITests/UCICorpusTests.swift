import Foundation
import Testing
import UCI

/// ike reads every corpus file exactly as OpenWrt's `uci` does (Corpus/README.md).
@Suite struct UCICorpusTests {
    static let corpus = String(#filePath.dropLast("UCICorpusTests.swift".count)) + "Corpus/"

    /// What `uci show ike` prints for a parsed file: sections in order, anonymous ones as
    /// `@type[N]` (N counting every section of that type), options in order of their first
    /// line, a list's values on one line, every value single-quoted.
    static func show(_ document: UCIDocument) -> String {
        func quoted(_ v: String) -> String { "'" + v.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        var out = "", counts: [String: Int] = [:]
        for section in document.sections {
            let index = counts[section.type, default: 0]
            counts[section.type] = index + 1
            let id = section.name ?? "@\(section.type)[\(index)]"
            out += "ike.\(id)=\(section.type)\n"
            var keys: [String] = [], values: [String: [String]] = [:]
            for item in section.items {
                if values[item.key] == nil { keys.append(item.key) }
                values[item.key, default: []].append(item.value)
            }
            for key in keys { out += "ike.\(id).\(key)=" + values[key, default: []].map(quoted).joined(separator: " ") + "\n" }
        }
        return out
    }

    @Test(arguments: ["crlf", "quoting", "written"])
    func readsAsUCIDoes(name: String) throws {
        let text = try String(contentsOfFile: UCICorpusTests.corpus + name, encoding: .utf8)
        let expected = try String(contentsOfFile: UCICorpusTests.corpus + name + ".show", encoding: .utf8)
        let (document, errors) = UCISyntax.parse(text, file: name)
        #expect(errors.isEmpty, "\(errors)")
        #expect(UCICorpusTests.show(document) == expected)
        // The daemon's configuration names the tunnels as uci show does.
        let configuration = try Configuration.load(text, file: name).get()
        let shown = expected.split(separator: "\n").compactMap { line -> String? in
            guard line.hasSuffix("=tunnel") else { return nil }
            return String(line.dropFirst("ike.".count).dropLast("=tunnel".count))
        }
        #expect(configuration.tunnels.map { $0.name } == shown)
    }
}
