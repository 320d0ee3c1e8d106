import IKECore
/// `ike cmd=status`: the subsystems like `lssrc -g ike`, then the counters; or the same as
/// one JSON object (`format=json`, schema in ike(8)).
public enum StatusReport {
    public struct Subsystem {
        public let name: String
        public let active: Bool
        /// A subsystem in a process of its own (cpsd); nil: the daemon's.
        public let pid: Int32?
        public init(_ name: String, active: Bool, pid: Int32? = nil) {
            self.name = name
            self.active = active
            self.pid = pid
        }
    }

    /// One line of the counters: its label and text in the table, and the JSON fields it
    /// gives the object of its component (`group`).
    public struct Counter {
        public let label: String
        public let text: String
        public let group: String
        public let fields: [(String, String)]

        public init(_ label: String, _ text: String, group: String, fields: [(String, String)]) {
            self.label = label
            self.text = text
            self.group = group
            self.fields = fields
        }

        /// A count shown as itself.
        public static func count<N: BinaryInteger & CustomStringConvertible>(_ label: String, _ n: N, group: String, key: String) -> Counter {
            Counter(label, n.description, group: group, fields: [(key, n.description)])
        }

        /// A word or path shown as itself.
        public static func text(_ label: String, _ text: String, group: String, key: String) -> Counter {
            Counter(label, text, group: group, fields: [(key, JSON.string(text))])
        }

        /// Several counts under one label, the table text given.
        public static func counts<N: BinaryInteger & CustomStringConvertible>(_ label: String, _ text: String, group: String, _ values: [(String, N)]) -> Counter {
            Counter(label, text, group: group, fields: values.map { ($0.0, $0.1.description) })
        }
    }

    public static let header = "Subsystem         Group            PID          Status"

    public static func render(_ subsystems: [Subsystem], pid: Int32, counters: [Counter]) -> String {
        var out = header + "\n"
        for s in subsystems {
            out += " " + padded(s.name, 17) + padded("ike", 17) + padded((s.pid ?? pid).description, 13) + (s.active ? "active" : "inoperative") + "\n"
        }
        if !counters.isEmpty { out += "\n" }
        for c in counters { out += padded(c.label + ":", 32) + c.text + "\n" }
        return out
    }

    /// `{"subsystems": [...], GROUP: {KEY: VALUE, ...}, ...}`, groups in order of first use.
    public static func json(_ subsystems: [Subsystem], pid: Int32, counters: [Counter]) -> String {
        let list = subsystems.map {
            JSON.object([("name", JSON.string($0.name)), ("group", JSON.string("ike")), ("pid", ($0.pid ?? pid).description),
                         ("status", JSON.string($0.active ? "active" : "inoperative"))])
        }
        var groups: [String] = [], fields: [String: [(String, String)]] = [:]
        for c in counters {
            if fields[c.group] == nil { groups.append(c.group) }
            fields[c.group, default: []] += c.fields
        }
        var top: [(String, String)] = [("subsystems", "[" + list.joined(separator: ", ") + "]")]
        for g in groups { top.append((g, JSON.object(fields[g] ?? []))) }
        return "{" + top.map { "\(JSON.string($0.0)): \($0.1)" }.joined(separator: ",\n ") + "}\n"
    }

    static func padded(_ s: String, _ width: Int) -> String {
        let n = s.utf8.count
        return n < width ? s + String(repeating: " ", count: width - n) : s + " "
    }
}
