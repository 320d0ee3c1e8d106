import IKECore
import IKEWire
import TunnelManager
import UCI

/// What `ike cmd=...` asks of the daemon: the AIX subcommands with their parameters,
/// parsed and checked. The same parser reads the client's command line and the
/// request on the daemon's side, so both agree on what is valid.
public enum ControlRequest: Equatable, Sendable {
    case activate(phase: Phase?, selection: Selection, wait: UInt32?)
    case remove(phase: Phase?, selection: Selection, all: Bool)
    /// `ike cmd=rekey`: new SAs for the selected tunnels' phase (default 2) now.
    case rekey(phase: Phase?, selection: Selection)
    case list(ListOptions)
    /// `format=json` answers as one JSON object.
    case log(LogLevel?, json: Bool)
    case reload
    case status(json: Bool)

    /// The daemon's control socket unless `--socket`, `socket=` or `IKE_SOCKET` says otherwise.
    public static let defaultSocketPath = "/var/run/ike.sock"

    public static let usage = """
        usage: ike cmd=activate [phase=1|2] [numlist=N,...] [namelist=NAME,...] [remid=ID] [ipaddr=SRC,DST] [autostart] [wait=SECONDS]
               ike cmd=remove [phase=1|2] [numlist=N,...] [namelist=NAME,...] [remid=ID] [ipaddr=SRC,DST] | all
               ike cmd=rekey [phase=1|2] [numlist=N,...] [namelist=NAME,...]
               ike cmd=list [phase=1|1+|2] [numlist=N,...] [namelist=NAME,...] [verbose] [format=json]
               ike cmd=list configured [namelist=NAME,...] [format=json]
               ike cmd=list certs [verbose] [format=json]
               ike cmd=log [level=none|error|event|information|debug] [format=json]
               ike cmd=reload
               ike cmd=status [format=json]
               (every subcommand also takes socket=PATH; IKE_SOCKET sets the default)
        """
}

/// `ike cmd=list` parameters.
public struct ListOptions: Equatable, Sendable {
    public enum Phases: String, Sendable {
        case one = "1", onePlus = "1+", two = "2"
    }

    public var phases: Phases? = nil
    public var numbers: [TunnelNumber] = []
    public var names: [String] = []
    public var verbose = false
    public var json = false
    /// `configured`: the configuration's tunnels, active or not, instead of the table.
    public var configured = false
    /// `certs`: the certificates cpsd has loaded instead of the table.
    public var certificates = false

    public init() {}
}

/// A command line or request that does not follow the syntax: exit status 2.
public struct UsageError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ControlRequest {
    /// Parses AIX parameters: `cmd=SUB` first, then `param=value` and bare flags.
    /// `socket=PATH` is the client's own business and is returned apart.
    public static func parse(_ arguments: [String]) -> Result<(ControlRequest, socket: String?), UsageError> {
        guard let first = arguments.first, first.hasPrefix("cmd=") else {
            return .failure(UsageError("the first parameter must be cmd=SUBCOMMAND"))
        }
        var params = Parameters()
        for argument in arguments.dropFirst() {
            if let problem = params.add(argument) { return .failure(problem) }
        }
        let socket = params.take("socket")
        if let s = socket, !s.hasPrefix("/") { return .failure(UsageError("socket=\(s): give an absolute path")) }
        let request: Result<ControlRequest, UsageError>
        switch String(first.dropFirst(4)) {
        case "activate": request = parseActivate(&params)
        case "remove": request = parseRemove(&params)
        case "rekey": request = parseRekey(&params)
        case "list": request = parseList(&params)
        case "log":
            switch parseFormat(&params) {
            case let .success(json):
                request = params.take("level").map { name in
                    LogLevel(name: name).map { .success(.log($0, json: json)) }
                        ?? .failure(UsageError("level=\(name): expected none, error, event, information or debug"))
                } ?? .success(.log(nil, json: json))
            case let .failure(e): request = .failure(e)
            }
        case "reload": request = .success(.reload)
        case "status": request = parseFormat(&params).map { .status(json: $0) }
        case "": return .failure(UsageError("cmd= needs a subcommand: activate, remove, list, log, reload or status"))
        case let other:
            return .failure(UsageError("unknown subcommand '\(other)': expected activate, remove, rekey, list, log, reload or status"))
        }
        switch request {
        case let .failure(e): return .failure(e)
        case let .success(r):
            if let leftover = params.remaining.first {
                return .failure(UsageError("'\(leftover)' is not a parameter of cmd=\(first.dropFirst(4))"))
            }
            return .success((r, socket))
        }
    }

    private static func parsePhase(_ params: inout Parameters) -> Result<Phase?, UsageError> {
        guard let text = params.take("phase") else { return .success(nil) }
        switch text {
        case "1": return .success(.one)
        case "2": return .success(.two)
        default: return .failure(UsageError("phase=\(text): expected 1 or 2"))
        }
    }

    /// `numlist=` and `namelist=`, both optional.
    private static func parseLists(_ params: inout Parameters) -> Result<([TunnelNumber], [String]), UsageError> {
        var numbers: [TunnelNumber] = [], names: [String] = []
        if let list = params.take("numlist") {
            switch Parameters.numbers(list, "numlist") {
            case let .success(n): numbers = n
            case let .failure(e): return .failure(e)
            }
        }
        if let list = params.take("namelist") {
            switch Parameters.names(list) {
            case let .success(n): names = n
            case let .failure(e): return .failure(e)
            }
        }
        return .success((numbers, names))
    }

    private static func parseSelection(_ params: inout Parameters) -> Result<Selection, UsageError> {
        var s = Selection()
        switch parseLists(&params) {
        case let .success((numbers, names)):
            s.numbers = numbers
            s.names = names
        case let .failure(e): return .failure(e)
        }
        if let text = params.take("remid") {
            switch Identity.parse(text) {
            case let .success(id): s.remoteID = id
            case let .failure(problem): return .failure(UsageError("remid=\(text): \(problem)"))
            }
        }
        if let text = params.take("ipaddr") {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2, let src = IPAddress(String(parts[0])), let dst = IPAddress(String(parts[1])) else {
                return .failure(UsageError("ipaddr=\(text): expected ipaddr=LOCAL,REMOTE with two IP addresses"))
            }
            s.addresses = (src, dst)
        }
        return .success(s)
    }

    /// `phase=` and the tunnel selection, as `activate` and `remove` take them.
    private static func parsePhaseAndSelection(_ params: inout Parameters) -> Result<(Phase?, Selection), UsageError> {
        switch parsePhase(&params) {
        case let .success(phase):
            switch parseSelection(&params) {
            case let .success(selection): return .success((phase, selection))
            case let .failure(e): return .failure(e)
            }
        case let .failure(e): return .failure(e)
        }
    }

    private static func parseActivate(_ params: inout Parameters) -> Result<ControlRequest, UsageError> {
        let phase: Phase?, selection: Selection
        switch parsePhaseAndSelection(&params) {
        case let .success((p, s)):
            phase = p
            selection = s
        case let .failure(e): return .failure(e)
        }
        var s = selection
        s.autostart = params.flag("autostart")
        var wait: UInt32? = nil
        if let text = params.take("wait") {
            guard let n = UInt32(text), n > 0, n <= 3600 else {
                return .failure(UsageError("wait=\(text): expected seconds from 1 to 3600"))
            }
            wait = n
        }
        return .success(.activate(phase: phase, selection: s, wait: wait))
    }

    private static func parseRemove(_ params: inout Parameters) -> Result<ControlRequest, UsageError> {
        let phase: Phase?, selection: Selection
        switch parsePhaseAndSelection(&params) {
        case let .success((p, s)):
            phase = p
            selection = s
        case let .failure(e): return .failure(e)
        }
        let all = params.flag("all")
        if all && !selection.isEmpty { return .failure(UsageError("remove: give either all or a selection, not both")) }
        if !all && selection.isEmpty {
            return .failure(UsageError("remove: say which tunnels: numlist=, namelist=, remid=, ipaddr= or all"))
        }
        return .success(.remove(phase: phase, selection: selection, all: all))
    }

    private static func parseRekey(_ params: inout Parameters) -> Result<ControlRequest, UsageError> {
        let phase: Phase?
        switch parsePhase(&params) {
        case let .success(p): phase = p
        case let .failure(e): return .failure(e)
        }
        var s = Selection()
        switch parseLists(&params) {
        case let .success((numbers, names)):
            s.numbers = numbers
            s.names = names
        case let .failure(e): return .failure(e)
        }
        if s.isEmpty { return .failure(UsageError("rekey: say which tunnels: numlist= or namelist=")) }
        return .success(.rekey(phase: phase, selection: s))
    }

    private static func parseList(_ params: inout Parameters) -> Result<ControlRequest, UsageError> {
        var o = ListOptions()
        if let text = params.take("phase") {
            guard let p = ListOptions.Phases(rawValue: text) else {
                return .failure(UsageError("phase=\(text): expected 1, 1+ or 2"))
            }
            o.phases = p
        }
        switch parseLists(&params) {
        case let .success((numbers, names)):
            o.numbers = numbers
            o.names = names
        case let .failure(e): return .failure(e)
        }
        o.verbose = params.flag("verbose")
        o.configured = params.flag("configured")
        o.certificates = params.flag("certs")
        if o.configured {
            if o.verbose || o.phases != nil || !o.numbers.isEmpty || o.certificates {
                return .failure(UsageError("list configured takes namelist= and format= only"))
            }
        }
        if o.certificates, o.phases != nil || !o.numbers.isEmpty || !o.names.isEmpty {
            return .failure(UsageError("list certs takes verbose and format= only"))
        }
        switch parseFormat(&params) {
        case let .success(json): o.json = json
        case let .failure(e): return .failure(e)
        }
        return .success(.list(o))
    }

    /// `format=json|table`; whether it is JSON.
    private static func parseFormat(_ params: inout Parameters) -> Result<Bool, UsageError> {
        guard let format = params.take("format") else { return .success(false) }
        guard format == "json" || format == "table" else {
            return .failure(UsageError("format=\(format): expected json or table"))
        }
        return .success(format == "json")
    }

    /// The canonical parameters, as sent to the daemon (`parse` reads them back).
    public var parameters: [String] {
        switch self {
        case let .activate(phase, selection, wait):
            var p = ["cmd=activate"]
            if let phase { p.append("phase=\(phase)") }
            p += Parameters.encode(selection)
            if selection.autostart { p.append("autostart") }
            if let wait { p.append("wait=\(wait)") }
            return p
        case let .remove(phase, selection, all):
            var p = ["cmd=remove"]
            if let phase { p.append("phase=\(phase)") }
            p += Parameters.encode(selection)
            if all { p.append("all") }
            return p
        case let .rekey(phase, selection):
            var p = ["cmd=rekey"]
            if let phase { p.append("phase=\(phase)") }
            return p + Parameters.encode(selection)
        case let .list(o):
            var p = ["cmd=list"]
            if let phases = o.phases { p.append("phase=\(phases.rawValue)") }
            if !o.numbers.isEmpty { p.append("numlist=" + o.numbers.map { $0.description }.joined(separator: ",")) }
            if !o.names.isEmpty { p.append("namelist=" + o.names.joined(separator: ",")) }
            if o.verbose { p.append("verbose") }
            if o.configured { p.append("configured") }
            if o.certificates { p.append("certs") }
            if o.json { p.append("format=json") }
            return p
        case let .log(level, json):
            return ["cmd=log"] + (level.map { ["level=\($0)"] } ?? []) + (json ? ["format=json"] : [])
        case .reload: return ["cmd=reload"]
        case let .status(json): return ["cmd=status"] + (json ? ["format=json"] : [])
        }
    }
}

/// The `param=value` and bare-flag words after `cmd=`, each allowed once.
struct Parameters {
    private var values: [(key: String, value: String?)] = []

    mutating func add(_ word: String) -> UsageError? {
        let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let key = String(parts[0])
        guard !key.isEmpty else { return UsageError("'\(word)' has no parameter name") }
        if values.contains(where: { $0.key == key }) { return UsageError("\(key) is given twice") }
        if parts.count == 2 && parts[1].isEmpty { return UsageError("\(key)= needs a value") }
        values.append((key, parts.count == 2 ? String(parts[1]) : nil))
        return nil
    }

    /// The value of `key=value`, removed; nil when absent. A bare `key` stays, and is
    /// reported as not a parameter.
    mutating func take(_ key: String) -> String? {
        guard let i = values.firstIndex(where: { $0.key == key && $0.value != nil }) else { return nil }
        return values.remove(at: i).value
    }

    /// Whether the bare flag is present, removed.
    mutating func flag(_ key: String) -> Bool {
        guard let i = values.firstIndex(where: { $0.key == key && $0.value == nil }) else { return false }
        values.remove(at: i)
        return true
    }

    var remaining: [String] { values.map { $0.value == nil ? $0.key : "\($0.key)=\($0.value!)" } }

    static func numbers(_ text: String, _ key: String) -> Result<[TunnelNumber], UsageError> {
        var out: [TunnelNumber] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let n = TunnelNumber(part), n > 0 else {
                return .failure(UsageError("\(key)=\(text): expected tunnel numbers separated by commas, e.g. 1,3"))
            }
            out.append(n)
        }
        return .success(out)
    }

    static func names(_ text: String) -> Result<[String], UsageError> {
        var out: [String] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard UCISyntax.isName(String(part)) || UCISyntax.isAnonymousName(String(part)) else {
                return .failure(UsageError("namelist=\(text): expected tunnel names separated by commas, e.g. site_b,site_c"))
            }
            out.append(String(part))
        }
        return .success(out)
    }

    static func encode(_ s: Selection) -> [String] {
        var p: [String] = []
        if !s.numbers.isEmpty { p.append("numlist=" + s.numbers.map { $0.description }.joined(separator: ",")) }
        if !s.names.isEmpty { p.append("namelist=" + s.names.joined(separator: ",")) }
        if let id = s.remoteID { p.append("remid=\(id)") }
        if let pair = s.addresses { p.append("ipaddr=\(pair.local),\(pair.remote)") }
        return p
    }
}
