import IKECore
import Control
import IKEWire
import Testing
import TunnelManager

@Suite struct ControlRequestTests {
    func parse(_ line: String) -> Result<(ControlRequest, socket: String?), UsageError> {
        ControlRequest.parse(line.split(separator: " ").map(String.init))
    }

    @Test(arguments: [
        ("cmd=activate", "cmd=activate"),
        ("cmd=activate phase=1 namelist=site_b,site_c", "cmd=activate phase=1 namelist=site_b,site_c"),
        ("cmd=remove namelist=@tunnel[0],site_b", "cmd=remove namelist=@tunnel[0],site_b"),
        ("cmd=activate numlist=3,1 wait=10", "cmd=activate numlist=3,1 wait=10"),
        ("cmd=activate autostart", "cmd=activate autostart"),
        ("cmd=activate remid=@gw.example.org", "cmd=activate remid=@gw.example.org"),
        ("cmd=activate ipaddr=192.0.2.1,198.51.100.7", "cmd=activate ipaddr=192.0.2.1,198.51.100.7"),
        ("cmd=remove all", "cmd=remove all"),
        ("cmd=remove phase=2 numlist=4", "cmd=remove phase=2 numlist=4"),
        ("cmd=rekey namelist=site_b", "cmd=rekey namelist=site_b"),
        ("cmd=rekey phase=1 numlist=2", "cmd=rekey phase=1 numlist=2"),
        ("cmd=list", "cmd=list"),
        ("cmd=list verbose phase=1+ format=json", "cmd=list phase=1+ verbose format=json"),
        ("cmd=list format=table namelist=a", "cmd=list namelist=a"),
        ("cmd=log", "cmd=log"),
        ("cmd=log level=debug", "cmd=log level=debug"),
        ("cmd=reload", "cmd=reload"),
        ("cmd=status socket=/tmp/x.sock", "cmd=status"),
        ("cmd=status format=json", "cmd=status format=json"),
        ("cmd=log format=json level=error", "cmd=log level=error format=json"),
        ("cmd=list configured format=json namelist=a", "cmd=list namelist=a configured format=json"),
    ])
    func parsesAndPrintsCanonically(line: String, canonical: String) throws {
        let (request, _) = try parse(line).get()
        #expect(request.parameters.joined(separator: " ") == canonical)
        #expect(try ControlRequest.decode(body: request.body).get() == request)
    }

    @Test func socketIsTheClientsOwn() throws {
        let (_, socket) = try parse("cmd=status socket=/tmp/x.sock").get()
        #expect(socket == "/tmp/x.sock")
        guard case let .failure(e) = ControlRequest.decode(body: Array("cmd=status\nsocket=/tmp/x".utf8)) else {
            Issue.record("socket= accepted by the daemon")
            return
        }
        #expect(e.description == "socket= is not sent to the daemon")
    }

    @Test(arguments: [
        ("list", "the first parameter must be cmd=SUBCOMMAND"),
        ("cmd=", "cmd= needs a subcommand: activate, remove, list, log, reload or status"),
        ("cmd=frobnicate", "unknown subcommand 'frobnicate': expected activate, remove, rekey, list, log, reload or status"),
        ("cmd=list phase=3", "phase=3: expected 1, 1+ or 2"),
        ("cmd=activate phase=1+", "phase=1+: expected 1 or 2"),
        ("cmd=activate numlist=a", "numlist=a: expected tunnel numbers separated by commas, e.g. 1,3"),
        ("cmd=activate numlist=1,,2", "numlist=1,,2: expected tunnel numbers separated by commas, e.g. 1,3"),
        ("cmd=activate numlist=0", "numlist=0: expected tunnel numbers separated by commas, e.g. 1,3"),
        ("cmd=activate namelist=bad-name", "namelist=bad-name: expected tunnel names separated by commas, e.g. site_b,site_c"),
        ("cmd=activate namelist=@tunnel[x]", "namelist=@tunnel[x]: expected tunnel names separated by commas, e.g. site_b,site_c"),
        ("cmd=activate remid=a@", "remid=a@: an e-mail identity is user@domain.example"),
        ("cmd=activate ipaddr=192.0.2.1", "ipaddr=192.0.2.1: expected ipaddr=LOCAL,REMOTE with two IP addresses"),
        ("cmd=activate wait=0", "wait=0: expected seconds from 1 to 3600"),
        ("cmd=activate wait=soon", "wait=soon: expected seconds from 1 to 3600"),
        ("cmd=activate verbose", "'verbose' is not a parameter of cmd=activate"),
        ("cmd=remove", "remove: say which tunnels: numlist=, namelist=, remid=, ipaddr= or all"),
        ("cmd=rekey", "rekey: say which tunnels: numlist= or namelist="),
        ("cmd=remove all numlist=1", "remove: give either all or a selection, not both"),
        ("cmd=list format=xml", "format=xml: expected json or table"),
        ("cmd=list verbose=1", "'verbose=1' is not a parameter of cmd=list"),
        ("cmd=list numlist=1 numlist=2", "numlist is given twice"),
        ("cmd=list phase=", "phase= needs a value"),
        ("cmd=list =1", "'=1' has no parameter name"),
        ("cmd=log level=loud", "level=loud: expected none, error, event, information or debug"),
        ("cmd=reload now", "'now' is not a parameter of cmd=reload"),
        ("cmd=status socket=ike.sock", "socket=ike.sock: give an absolute path"),
        ("cmd=status format=yaml", "format=yaml: expected json or table"),
        ("cmd=log format=json level=x", "level=x: expected none, error, event, information or debug"),
        ("cmd=list configured verbose", "list configured takes namelist= and format= only"),
        ("cmd=list configured numlist=1", "list configured takes namelist= and format= only"),
    ])
    func usageErrors(line: String, message: String) {
        guard case let .failure(e) = parse(line) else {
            Issue.record("'\(line)' was accepted")
            return
        }
        #expect(e.description == message)
    }
}

@Suite struct ControlFrameTests {
    @Test func requestFramesRoundTrip() {
        let frame = ControlFrame.encode(.request, Array("cmd=status".utf8))
        #expect(Array(frame[0..<8]) == [0x49, 0x4b, 1, 1, 0, 0, 0, 10])
        #expect(ControlFrame.decode(frame, limit: 100) == .frame(kind: .request, body: Array("cmd=status".utf8), consumed: 18))
        for cut in 0..<frame.count { #expect(ControlFrame.decode(Array(frame[0..<cut]), limit: 100) == .incomplete) }
    }

    @Test func malformedFramesSayWhy() {
        #expect(ControlFrame.decode(Array("GET / HTTP/1.0".utf8), limit: 100) == .malformed("not an ike control message"))
        #expect(ControlFrame.decode([0x49, 0x4b, 9, 1, 0, 0, 0, 0], limit: 100)
                == .malformed("control protocol version 9 is not supported; this daemon speaks version 1"))
        #expect(ControlFrame.decode([0x49, 0x4b, 1, 7, 0, 0, 0, 0], limit: 100) == .malformed("unknown message kind 7"))
        #expect(ControlFrame.decode([0x49, 0x4b, 1, 1, 0, 1, 0, 0], limit: 100)
                == .malformed("message of 65536 bytes exceeds the limit of 100"))
    }

    @Test func responsesRoundTrip() {
        let r = ControlResponse(status: 1, output: "1 site_b\n", error: "ike: tunnel 1 failed")
        #expect(ControlResponse(body: r.body) == r)
        #expect(ControlResponse(body: [3, 0, 0, 0, 0]) == nil)
        #expect(ControlResponse(body: [0, 0, 0, 0, 9, 65]) == nil)
    }

    @Test func requestBodiesWithNULAreRefused() {
        guard case let .failure(e) = ControlRequest.decode(body: [0x63, 0, 0x64]) else { return }
        #expect(e.description == "malformed request: NUL byte")
    }
}
