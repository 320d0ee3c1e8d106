import Testing
@testable import UCI

@Suite struct UCISyntaxTests {
    func words(_ line: String) -> [String]? {
        if case let .success(w) = UCISyntax.tokenize(line[...]) { return w }
        return nil
    }

    @Test(arguments: [
        ("option psk secret", ["option", "psk", "secret"]),
        ("\toption  psk\t'a long secret'  ", ["option", "psk", "a long secret"]),
        ("option psk \"double \\\"quoted\\\" \\\\ text\"", ["option", "psk", "double \"quoted\" \\ text"]),
        ("option psk 'it'\\''s'", ["option", "psk", "it's"]),
        ("option psk 'single \\n stays'", ["option", "psk", "single \\n stays"]),
        ("option psk ''", ["option", "psk", ""]),
        ("option psk abc#def # a comment", ["option", "psk", "abc#def"]),
        ("option psk 'a # in quotes'", ["option", "psk", "a # in quotes"]),
        ("# only a comment", []),
        ("", []),
        ("option psk a\\ b", ["option", "psk", "a b"]),
        ("config tunnel \"x\"'y'z", ["config", "tunnel", "xyz"]),
    ])
    func tokenizes(line: String, expected: [String]) {
        #expect(words(line) == expected)
    }

    @Test(arguments: [
        ("option psk 'open", "unterminated single quote"),
        ("option psk \"open", "unterminated double quote"),
        ("option psk \"ends in \\", "unterminated double quote"),
        ("option psk abc\\", "a backslash at the end of the line escapes nothing"),
    ])
    func reportsBrokenQuoting(line: String, message: String) {
        guard case let .failure(problem) = UCISyntax.tokenize(line[...]) else {
            Issue.record("'\(line)' tokenized")
            return
        }
        #expect(problem.message == message)
    }

    @Test func buildsSectionsWithLinesAndAnonymousSections() {
        let text = """
            # comment

            config ike
            \toption log_level 'debug'
            config tunnel 'a'
            \tlist local_subnet '10.1.0.0/24'
            \tlist local_subnet '10.3.0.0/24'
            \toption psk x
            """
        let (doc, errors) = UCISyntax.parse(text, file: "f")
        #expect(errors.isEmpty)
        #expect(doc.sections.count == 2)
        #expect(doc.sections[0].type == "ike" && doc.sections[0].name == nil && doc.sections[0].line == 3)
        #expect(doc.sections[1].name == "a")
        #expect(doc.sections[1].items.map(\.value) == ["10.1.0.0/24", "10.3.0.0/24", "x"])
        #expect(doc.sections[1].items.map(\.line) == [6, 7, 8])
        #expect(doc.sections[1].items.map(\.isList) == [true, true, false])
    }

    @Test func reportsEverySyntaxErrorWithItsLine() {
        let text = """
            option psk early
            config
            config tunnel 'bad-name'
            config tunnel ok
            option psk one two
            package network
            frobnicate x
            list remote_subnet
            option psk 'unterminated
            """
        let (_, errors) = UCISyntax.parse(text, file: "/etc/config/ike")
        #expect(errors.map(\.description) == [
            "/etc/config/ike:1: option 'psk' outside a section: put it after a 'config' line",
            "/etc/config/ike:2: expected: config TYPE ['NAME']",
            "/etc/config/ike:3: section name 'bad-name' may contain only letters, digits and '_'",
            "/etc/config/ike:5: option 'psk': more than one value; quote values that contain spaces",
            "/etc/config/ike:6: expected: package ike (this is the ike configuration)",
            "/etc/config/ike:7: unknown keyword 'frobnicate': expected config, option or list",
            "/etc/config/ike:8: expected: list KEY 'VALUE'",
            "/etc/config/ike:9: unterminated single quote",
        ])
    }

    @Test func quotingRoundTrips() {
        for value in ["plain", "with space", "it's", "''", "#hash", "back\\slash", ""] {
            let line = "option k " + UCISyntax.quote(value)
            #expect(words(line) == ["option", "k", value])
        }
    }
}

/// Files as OpenWrt's `uci` writes them: CRLF line ends (an editor on another system),
/// anonymous sections from `uci add` and LuCI, and `package ike` from `uci export`.
@Suite struct OpenWrtFilesTests {
    static let written = """
        package ike

        # the site's tunnels
        config ike 'global'
        \toption log_level 'event'

        config tunnel
        \toption remote_address '198.51.100.7'
        \toption psk 'secret'

        config tunnel 'named'
        \toption remote_address '198.51.100.8'
        \toption psk 'secret'

        config tunnel
        \toption remote_address '198.51.100.9'
        \toption psk 'secret'

        """

    @Test func anonymousSectionsAreNamedAsUciShowNamesThem() throws {
        let c = try Configuration.load(OpenWrtFilesTests.written, file: "/etc/config/ike").get()
        #expect(c.tunnels.map(\.name) == ["@tunnel[0]", "named", "@tunnel[2]"])
        // Printed without a name, as written, and read back the same.
        let printed = c.print()
        #expect(printed.contains("config tunnel\n\toption enabled '1'"))
        #expect(try Configuration.load(printed, file: "x").get().tunnels.map(\.name) == ["@tunnel[0]", "named", "@tunnel[2]"])
    }

    @Test func crlfLineEndsReadAsLF() throws {
        let crlf = OpenWrtFilesTests.written.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(crlf.contains("\r\n") && !crlf.split(separator: "\n").isEmpty)
        let lf = try Configuration.load(OpenWrtFilesTests.written, file: "a").get()
        let read = try Configuration.load(crlf, file: "a").get()
        #expect(read == lf)
        #expect(read.tunnels.count == 3 && read.global.logLevel == .event)
        // Errors keep their lines.
        let broken = "config tunnel 'x'\r\n\toption remote_address '198.51.100.300'\r\n\toption psk 'k'\r\n"
        guard case let .failure(errors) = Configuration.load(broken, file: "b") else { Issue.record("accepted"); return }
        #expect(errors.description.hasPrefix("b:2: remote_address '198.51.100.300'"))
    }
}
