import IKEWire

/// The in-memory kernel for tests: keeps what was installed, refuses duplicates and
/// unknown deletions like XFRM does (EEXIST, ESRCH), and can be told to fail the next
/// operation of a kind.
public final class MemoryKernel: IPsecKernel {
    public let name = "memory"
    public private(set) var sas: [SAIdentifier: SecurityAssociation] = [:]
    public private(set) var policies: [PolicyIdentifier: Policy] = [:]
    /// Operations in order, e.g. `addSA esp spi 0x... dst ...`.
    public private(set) var journal: [String] = []
    private var failures: [String: KernelError] = [:]
    /// Counters the test sets; an installed SA without an entry has carried nothing.
    public var traffic: [SAIdentifier: SACounters] = [:]

    public init() {}

    /// Makes the next call of `operation` ("addSA", "deleteSA", "addPolicy",
    /// "deletePolicy") fail with `errno`.
    public func failNext(_ operation: String, errno: Int32, message: String) {
        failures[operation] = KernelError(operation: operation, errno: errno, message: message)
    }

    private func check(_ operation: String) throws(KernelError) {
        if let failure = failures.removeValue(forKey: operation) { throw failure }
    }

    public func addSA(_ sa: SecurityAssociation) throws(KernelError) {
        try check("addSA")
        guard sas[sa.id] == nil else { throw KernelError(operation: "addSA", errno: 17, message: "File exists") }
        sas[sa.id] = sa
        journal.append("addSA \(sa.id)")
    }

    public func deleteSA(_ id: SAIdentifier) throws(KernelError) {
        try check("deleteSA")
        guard sas.removeValue(forKey: id) != nil else { throw KernelError(operation: "deleteSA", errno: 3, message: "No such process") }
        journal.append("deleteSA \(id)")
    }

    public func addPolicy(_ policy: Policy) throws(KernelError) {
        try check("addPolicy")
        guard policies[policy.id] == nil || policy.replacesTrap else {
            throw KernelError(operation: "addPolicy", errno: 17, message: "File exists")
        }
        policies[policy.id] = policy
        journal.append("addPolicy \(policy.id)")
    }

    public func deletePolicy(_ id: PolicyIdentifier) throws(KernelError) {
        try check("deletePolicy")
        guard policies.removeValue(forKey: id) != nil else { throw KernelError(operation: "deletePolicy", errno: 2, message: "No such file or directory") }
        journal.append("deletePolicy \(id)")
    }

    public func counters(_ id: SAIdentifier) -> SACounters? {
        guard sas[id] != nil else { return nil }
        return traffic[id] ?? SACounters(bytes: 0, packets: 0)
    }

    /// What XFRM_MSG_MIGRATE from another program does: the SAs and policy templates of
    /// `reqid` between `from`'s addresses (either way round) move to `to`'s.
    public func migrate(reqid: UInt32, from: KernelEvent.Endpoints, to: KernelEvent.Endpoints) {
        func moved(_ a: IPAddress) -> IPAddress {
            if a == from.source { return to.source }
            if a == from.destination { return to.destination }
            return a
        }
        for (id, sa) in sas where sa.reqid == reqid {
            var m = sa
            m.id.destination = moved(sa.id.destination)
            m.source = moved(sa.source)
            sas.removeValue(forKey: id)
            sas[m.id] = m
        }
        for (id, p) in policies where p.reqid == reqid {
            var m = p
            m.templateSource = moved(p.templateSource)
            m.templateDestination = moved(p.templateDestination)
            policies[id] = m
        }
        journal.append("migrate reqid \(reqid) \(from) => \(to)")
    }
}

/// `option kernel 'none'`: negotiate and report, install nothing.
public final class NoKernel: IPsecKernel {
    public let name = "none"
    public init() {}
    public func addSA(_ sa: SecurityAssociation) throws(KernelError) {}
    public func deleteSA(_ id: SAIdentifier) throws(KernelError) {}
    public func addPolicy(_ policy: Policy) throws(KernelError) {}
    public func deletePolicy(_ id: PolicyIdentifier) throws(KernelError) {}
    public func counters(_ id: SAIdentifier) -> SACounters? { nil }
}
