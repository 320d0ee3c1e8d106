import CLibc
import IKEWire

/// A stub resolver for peers named by DNS (dynamic DNS is how small sites find each
/// other), usable in a static binary without glibc's NSS modules: /etc/hosts first, then
/// UDP queries to the resolv.conf name servers in turn, on the daemon's event loop so
/// that a slow server never stalls IKE. A query has its own socket and a random ID;
/// answers that do not match are ignored.
public final class Resolver {
    public static let timeout: Interval = .seconds(2)
    let loop: EventLoop
    let hostsPath: String
    let resolvConfPath: String
    /// Two buffers for answers, made at the first query (most routers name no peer by DNS).
    lazy var pool = PacketBufferPool(count: 2, bufferSize: 1500)

    public init(loop: EventLoop, hostsPath: String = "/etc/hosts", resolvConfPath: String = "/etc/resolv.conf") {
        self.loop = loop
        self.hostsPath = hostsPath
        self.resolvConfPath = resolvConfPath
    }

    /// Finds an address for `name`, of the family `v4` asks for (nil: IPv4 first, then
    /// IPv6), and calls `done` once, later, from the loop.
    public func resolve(_ name: String, v4: Bool?, done: @escaping (Result<IPAddress, ResolveError>) -> Void) {
        let fromHosts = ResolverFiles.hosts(read(hostsPath), name: name).filter { v4 == nil || $0.isV4 == v4! }
        if let address = fromHosts.first(where: { v4 != nil || $0.isV4 }) ?? fromHosts.first {
            _ = loop.schedule(after: .milliseconds(0)) { done(.success(address)) }
            return
        }
        var servers = ResolverFiles.nameservers(read(resolvConfPath))
        if servers.isEmpty { servers = [IPAddress("127.0.0.1")!] }
        var types: [UInt16] = []
        if v4 != false { types.append(DNSMessage.typeA) }
        if v4 != true { types.append(DNSMessage.typeAAAA) }
        Query(resolver: self, name: name, servers: servers, types: types, done: done).next()
    }

    func read(_ path: String) -> String {
        do throws(SystemError) { return String(decoding: try FileSystem.read(path, limit: 1 << 16), as: UTF8.self) } catch {
            return ""
        }
    }

    /// One resolution: each type at each server in turn until an address comes back.
    final class Query {
        let resolver: Resolver
        let name: String
        let servers: [IPAddress]
        let types: [UInt16]
        let done: (Result<IPAddress, ResolveError>) -> Void
        var step = 0
        var socket: UDPSocket?
        var timer: TimerID?
        var id: UInt16 = 0
        var problems: [String] = []

        init(resolver: Resolver, name: String, servers: [IPAddress], types: [UInt16], done: @escaping (Result<IPAddress, ResolveError>) -> Void) {
            self.resolver = resolver
            self.name = name
            self.servers = servers
            self.types = types
            self.done = done
        }

        var server: IPAddress { servers[step / types.count] }
        var type: UInt16 { types[step % types.count] }

        /// Sends the query of the current step, or gives up when there is none left.
        func next() {
            close()
            guard step < servers.count * types.count else {
                finish(.failure(ResolveError(name: name, reason: problems.isEmpty ? "no answer" : problems.joined(separator: "; "))))
                return
            }
            let to = Endpoint(server, 53)
            do throws(SystemError) {
                let s = try UDPSocket(bind: Endpoint(to.address.isV4 ? IPAddress("0.0.0.0")! : IPAddress("::")!, 0))
                socket = s
                id = UInt16(truncatingIfNeeded: ike_random_u32())
                try s.send(DNSMessage.query(id: id, name: name, type: type), to: to)
                try resolver.loop.watch(s.fd) { [self] in self.readable() }
            } catch {
                problems.append("\(server): \(error)")
                step += 1
                next()
                return
            }
            timer = resolver.loop.schedule(after: Resolver.timeout) { [self] in
                self.timer = nil
                self.problems.append("\(self.server): no answer in \(Resolver.timeout)")
                self.step += types.count - self.step % types.count
                self.next()
            }
        }

        func readable() {
            guard let socket else { return }
            while true {
                switch socket.receive(into: resolver.pool) {
                case let .datagram(d):
                    guard d.source.address == server, d.source.port == 53 else { continue }
                    let bytes = d.payload.withBytes { Array($0) }
                    guard let answer = DNSMessage.parse(bytes, id: id, type: type) else { continue }
                    handle(answer)
                    return
                case .empty: return
                case .dropped: continue
                case let .failed(error):
                    problems.append("\(server): \(error)")
                    step += types.count - step % types.count
                    next()
                    return
                }
            }
        }

        func handle(_ answer: DNSMessage.Answer) {
            switch answer {
            case let .addresses(list):
                if let first = list.first {
                    finish(.success(first))
                    return
                }
                step += 1
                if step % types.count == 0 { problems.append("\(server): \(name) has no address") }
            case .noSuchName:
                finish(.failure(ResolveError(name: name, reason: "no such name (NXDOMAIN from \(server))")))
                return
            case let .failure(code):
                problems.append("\(server): error code \(code)")
                step += types.count - step % types.count
            }
            next()
        }

        func close() {
            if let timer { _ = resolver.loop.cancel(timer) }
            timer = nil
            if let socket { resolver.loop.unwatch(socket.fd) }
            socket = nil
        }

        func finish(_ result: Result<IPAddress, ResolveError>) {
            close()
            done(result)
        }
    }
}

/// Why a name gave no address.
public struct ResolveError: Error, CustomStringConvertible {
    public let name: String
    public let reason: String
    public var description: String { "resolving \(name): \(reason)" }
}
