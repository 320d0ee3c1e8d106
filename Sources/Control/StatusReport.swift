/// `ike cmd=status`: the subsystems like `lssrc -g ike`, then the counters.
public enum StatusReport {
    public struct Subsystem {
        public let name: String
        public let active: Bool
        public init(_ name: String, active: Bool) {
            self.name = name
            self.active = active
        }
    }

    public static let header = "Subsystem         Group            PID          Status"

    public static func render(_ subsystems: [Subsystem], pid: Int32, counters: [(String, String)]) -> String {
        var out = header + "\n"
        for s in subsystems {
            out += " " + padded(s.name, 17) + padded("ike", 17) + padded(pid.description, 13) + (s.active ? "active" : "inoperative") + "\n"
        }
        if !counters.isEmpty { out += "\n" }
        for (name, value) in counters { out += padded(name + ":", 32) + value + "\n" }
        return out
    }

    static func padded(_ s: String, _ width: Int) -> String {
        let n = s.utf8.count
        return n < width ? s + String(repeating: " ", count: width - n) : s + " "
    }
}
