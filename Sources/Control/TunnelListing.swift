import IKECore
import IKEWire
import Kernel
import TunnelManager
import UCI

/// One row of `ike cmd=list`: a phase of a tunnel, with its SAs as they are now.
public struct ListRow {
    public let tunnel: Tunnel
    public let phase1: Phase1SA?
    public let child: ChildSA?
    public let phase: Phase
    public let status: PhaseStatus
    public let localID: String
    public let remoteID: String
}

/// `ike cmd=list`: the AIX table (columns at 0, 7, 15, 27, 59), its `verbose` detail,
/// and `format=json`.
public enum TunnelListing {
    public static let header = "Phase  Tun Id  Status      Local Id                        Remote Id"
    static let columns = [0, 7, 15, 27, 59]

    /// The rows the options select, in tunnel order, phase 1 before phase 2; an
    /// established tunnel's SAs come from its engine (`TunnelManager.sas(of:)`).
    public static func rows(_ manager: TunnelManager, _ options: ListOptions) -> [ListRow] {
        var rows: [ListRow] = []
        for t in manager.tunnels {
            if !options.numbers.isEmpty && !options.numbers.contains(t.number) { continue }
            if !options.names.isEmpty && !options.names.contains(t.name) { continue }
            let (p1, child) = manager.sas(of: t)
            if options.phases != .two {
                rows.append(ListRow(tunnel: t, phase1: p1, child: child, phase: .one, status: t.phase1Status,
                                    localID: phase1LocalID(t, p1), remoteID: phase1RemoteID(t, p1)))
            }
            if options.phases != .one, let status = t.phase2Status {
                let (l, r) = phase2IDs(t)
                rows.append(ListRow(tunnel: t, phase1: p1, child: child, phase: .two, status: status, localID: l, remoteID: r))
            }
        }
        return rows
    }

    static func phase1LocalID(_ t: Tunnel, _ p1: Phase1SA?) -> String {
        if let p1 { return p1.localID.description }
        if let id = t.config.localID { return id.description }
        return t.config.localAddress?.description ?? "-"
    }

    static func phase1RemoteID(_ t: Tunnel, _ p1: Phase1SA?) -> String {
        if let p1 { return p1.remoteID.description }
        return t.config.remoteID.description
    }

    /// Phase 2 IDs are address ranges: the negotiated selectors, else the configured
    /// subnets, else the endpoints themselves.
    static func phase2IDs(_ t: Tunnel) -> (String, String) {
        func ranges(_ subnets: [Subnet]) -> String { subnets.map { $0.rangeDescription }.joined(separator: ",") }
        if let sas = t.installed { return (ranges(sas.localSubnets), ranges(sas.remoteSubnets)) }
        if !t.config.localSubnets.isEmpty { return (ranges(t.config.localSubnets), ranges(t.config.remoteSubnets)) }
        let l = t.endpoints?.local ?? t.config.localAddress
        let r = t.remoteAddress
        return (l.map { "\($0)-\($0)" } ?? "-", r.map { "\($0)-\($0)" } ?? "-")
    }

    /// The table text, ending in a newline; the header alone when there are no rows.
    /// `counters` reads an SA's traffic from the kernel; `rekeyIn` says in how many
    /// seconds a tunnel's phase 1 and phase 2 are rekeyed.
    public static func table(_ rows: [ListRow], verbose: Bool, now: Instant = .zero, counters: (SAIdentifier) -> SACounters?,
                             rekeyIn: (TunnelNumber) -> (phase1: UInt64?, phase2: UInt64?) = { _ in (nil, nil) }) -> String {
        var out = header + "\n"
        for row in rows {
            out += line([row.phase.description, row.tunnel.number.description, row.status.rawValue, row.localID, row.remoteID])
            if verbose { out += details(row, now: now, counters: counters, rekeyIn: rekeyIn(row.tunnel.number)) }
        }
        return out
    }

    static func line(_ fields: [String], columns: [Int] = columns) -> String {
        var text = ""
        for (i, field) in fields.enumerated() {
            if i > 0 {
                let column = columns[i]
                let pad = column - text.utf8.count
                text += pad > 0 ? String(repeating: " ", count: pad) : " "
            }
            text += field
        }
        return text + "\n"
    }

    static let indent = "       "

    static func details(_ row: ListRow, now: Instant, counters: (SAIdentifier) -> SACounters?, rekeyIn: (phase1: UInt64?, phase2: UInt64?)) -> String {
        let t = row.tunnel
        var out = ""
        func add(_ s: String) { out += indent + s + "\n" }
        switch row.phase {
        case .one:
            let version = t.config.version == .v1 ? "IKEv1" : "IKEv2"
            let remote = t.remoteAddress?.description ?? "any"
            if let p1 = row.phase1 {
                add("name \(t.name), \(version), \(t.role.rawValue), \(p1.localAddress) -> \(p1.remoteAddress)")
                add("algorithms \(p1.algorithms)")
                let rekey = rekeyIn.phase1.map { ", rekey in \($0)s" } ?? ""
                add("spi i \(Hex.prefixed(p1.initiatorSPI)) r \(Hex.prefixed(p1.responderSPI)), NAT-T \(p1.natTraversal ? "yes" : "no"), lifetime \(p1.lifetimeSeconds)s\(rekey)")
            } else {
                add("name \(t.name), \(version), \(t.role.rawValue), -> \(remote)")
                add("proposals \(t.config.ikeProposals.map { $0.description }.joined(separator: ", "))")
            }
            if row.status == .failed, let failure = t.failure { add("failed at \(failure)") }
            if let retry = retryText(t, now: now) { add(retry) }
            else if t.attempt > 1 { add("attempt \(t.attempt)") }
        case .two:
            if let child = row.child, let p1 = row.phase1 {
                let integrity = child.integrity.map { "/\($0)" } ?? ""
                add("esp \(child.cipher)\(integrity), PFS \(child.group?.description ?? "no"), mode \(child.mode.rawValue)")
                let rekey = rekeyIn.phase2.map { ", rekey in \($0)s" } ?? ""
                add("spi in \(Hex.prefixed(child.inboundSPI)) out \(Hex.prefixed(child.outboundSPI)), lifetime \(child.lifetimeSeconds)s\(rekey)")
                let inbound = counters(SAIdentifier(destination: p1.localAddress, spi: child.inboundSPI))
                let outbound = counters(SAIdentifier(destination: p1.remoteAddress, spi: child.outboundSPI))
                if let i = inbound, let o = outbound {
                    add("in \(i.bytes) bytes \(i.packets) packets, out \(o.bytes) bytes \(o.packets) packets")
                } else {
                    add("counters: none kept by the kernel")
                }
            } else {
                add("proposals \(t.config.espProposals.map { $0.description }.joined(separator: ", "))")
            }
            if row.status == .failed, let failure = t.failure { add("failed at \(failure)") }
        }
        return out
    }

    /// When a failed tunnel is tried again, or that it no longer is.
    static func retryText(_ t: Tunnel, now: Instant) -> String? {
        guard t.isFailed, t.role == .initiator else { return nil }
        guard let at = t.nextAttempt else { return "attempt \(t.attempt); no further attempts (keyingtries, or a manual activation)" }
        return "attempt \(t.attempt); next attempt in \((at - now).milliseconds / 1000)s"
    }

    /// `format=json`: one array of objects, one per row; `verbose` adds what the verbose
    /// table shows (ike(8) lists every field).
    public static func json(_ rows: [ListRow], verbose: Bool = false, now: Instant = .zero,
                            counters: (SAIdentifier) -> SACounters? = { _ in nil },
                            rekeyIn: (TunnelNumber) -> (phase1: UInt64?, phase2: UInt64?) = { _ in (nil, nil) }) -> String {
        var items: [String] = []
        for row in rows {
            let t = row.tunnel
            var fields: [(String, String)] = [
                ("tunnel", t.number.description),
                ("name", JSON.string(t.name)),
                ("phase", row.phase.description),
                ("status", JSON.string(row.status.rawValue)),
                ("version", t.config.version.rawValue),
                ("role", JSON.string(t.role.rawValue)),
                ("local_id", JSON.string(row.localID)),
                ("remote_id", JSON.string(row.remoteID)),
                ("local_address", JSON.optional((t.endpoints?.local ?? t.config.localAddress)?.description)),
                ("remote_address", JSON.optional(t.remoteAddress?.description)),
            ]
            if row.phase == .one, let p1 = row.phase1 { fields.append(("algorithms", JSON.string(p1.algorithms.description))) }
            if row.phase == .two, let child = row.child {
                fields.append(("spi_in", JSON.string(Hex.prefixed(child.inboundSPI))))
                fields.append(("spi_out", JSON.string(Hex.prefixed(child.outboundSPI))))
            }
            if row.status == .failed, let failure = t.failure { fields.append(("error", JSON.string(failure))) }
            if row.phase == .one { fields.append(("attempt", t.attempt.description)) }
            if row.phase == .one, t.isFailed, let at = t.nextAttempt { fields.append(("next_attempt_in", ((at - now).milliseconds / 1000).description)) }
            if verbose { fields += verboseFields(row, counters: counters, rekeyIn: rekeyIn(t.number)) }
            items.append(JSON.object(fields))
        }
        return "[" + items.joined(separator: ",\n ") + "]\n"
    }

    /// The verbose table's details as JSON fields: proposals while negotiating, the SA's
    /// parameters, lifetimes and (phase 2) the kernel's counters once established.
    static func verboseFields(_ row: ListRow, counters: (SAIdentifier) -> SACounters?,
                              rekeyIn: (phase1: UInt64?, phase2: UInt64?)) -> [(String, String)] {
        let t = row.tunnel
        var fields: [(String, String)] = []
        func proposals(_ list: [Proposal]) -> String { "[" + list.map { JSON.string($0.description) }.joined(separator: ", ") + "]" }
        switch row.phase {
        case .one:
            if let p1 = row.phase1 {
                fields.append(("spi_i", JSON.string(Hex.prefixed(p1.initiatorSPI))))
                fields.append(("spi_r", JSON.string(Hex.prefixed(p1.responderSPI))))
                fields.append(("nat_t", p1.natTraversal ? "true" : "false"))
                fields.append(("lifetime", p1.lifetimeSeconds.description))
                fields.append(("rekey_in", JSON.optionalNumber(rekeyIn.phase1)))
            } else {
                fields.append(("proposals", proposals(t.config.ikeProposals)))
            }
        case .two:
            if let child = row.child, let p1 = row.phase1 {
                fields.append(("esp", JSON.string(child.cipher.description + (child.integrity.map { "/\($0)" } ?? ""))))
                fields.append(("pfs", JSON.optional(child.group?.description)))
                fields.append(("mode", JSON.string(child.mode.rawValue)))
                fields.append(("lifetime", child.lifetimeSeconds.description))
                fields.append(("rekey_in", JSON.optionalNumber(rekeyIn.phase2)))
                let inbound = counters(SAIdentifier(destination: p1.localAddress, spi: child.inboundSPI))
                let outbound = counters(SAIdentifier(destination: p1.remoteAddress, spi: child.outboundSPI))
                fields.append(("bytes_in", JSON.optionalNumber(inbound?.bytes)))
                fields.append(("packets_in", JSON.optionalNumber(inbound?.packets)))
                fields.append(("bytes_out", JSON.optionalNumber(outbound?.bytes)))
                fields.append(("packets_out", JSON.optionalNumber(outbound?.packets)))
            } else {
                fields.append(("proposals", proposals(t.config.espProposals)))
            }
        }
        return fields
    }
}

/// Just enough JSON writing for `format=json`.
public enum JSON {
    public static func string(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 {
                    out += "\\u00" + Hex.encode([UInt8(c.value)])
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }

    public static func optional(_ s: String?) -> String { s.map(string) ?? "null" }

    public static func optionalNumber<N: BinaryInteger & CustomStringConvertible>(_ n: N?) -> String { n?.description ?? "null" }

    /// An object from (key, JSON value) pairs, in order.
    public static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }
}
