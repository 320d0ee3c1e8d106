import Control
import Platform

/// `ike cmd=...`: checks the parameters, sends the request to the daemon's control
/// socket and prints the answer. Exit 0 success, 1 the operation failed, 2 usage
/// error, 3 no daemon answers.
enum ControlClient {
    static func main(_ arguments: [String]) -> Never {
        let request: ControlRequest, socketParameter: String?
        switch ControlRequest.parse(arguments) {
        case let .success((r, s)):
            request = r
            socketParameter = s
        case let .failure(problem):
            Process.printError("ike: \(problem)")
            Process.printError(ControlRequest.usage)
            Process.exit(2)
        }
        let path = socketParameter ?? Process.environment("IKE_SOCKET") ?? ControlRequest.defaultSocketPath
        var timeout: UInt32 = 30_000
        if case let .activate(_, _, wait?) = request { timeout += wait * 1000 }
        let connection: StreamConnection
        do throws(SystemError) {
            connection = try StreamConnection.connect(path: path, timeoutMilliseconds: timeout)
        } catch {
            Process.printError("ike: no ike daemon answers on \(path) (\(error)); start it with 'ike daemon', or give socket=PATH")
            Process.exit(3)
        }
        var sendError: SystemError? = nil
        do throws(SystemError) {
            try connection.writeAll(ControlFrame.encode(.request, request.body))
        } catch {
            sendError = error
        }
        // A daemon that refuses the connection (busy) answers and closes before it reads:
        // its answer says more than our EPIPE.
        let response = receive(connection, path, unsent: sendError)
        if !response.output.isEmpty { Process.printOut(response.output, newline: false) }
        if !response.error.isEmpty { Process.printError(response.error) }
        Process.exit(Int32(response.status))
    }

    static func receive(_ connection: StreamConnection, _ path: String, unsent: SystemError? = nil) -> ControlResponse {
        var buffer: [UInt8] = []
        while true {
            switch ControlFrame.decode(buffer, limit: ControlFrame.maxResponse) {
            case let .frame(.response, body, _):
                guard let response = ControlResponse(body: body) else { fail("the daemon's answer is malformed") }
                return response
            case .frame(.request, _, _):
                fail("the daemon's answer is malformed")
            case let .malformed(reason):
                fail("the daemon's answer is malformed: \(reason)")
            case .incomplete:
                let result = connection.read(into: &buffer, max: 65536)
                if let unsent, result.isEnd {
                    Process.printError("ike: sending to the daemon on \(path) failed: \(unsent)")
                    Process.exit(3)
                }
                switch result {
                case .data: continue
                case .closed: fail("the daemon on \(path) closed the connection without an answer")
                case .wouldBlock: fail("the daemon on \(path) did not answer in time")
                case let .failed(error): fail("reading the daemon's answer: \(error)")
                }
            }
        }
    }

    static func fail(_ message: String) -> Never {
        Process.printError("ike: \(message)")
        Process.exit(1)
    }
}
