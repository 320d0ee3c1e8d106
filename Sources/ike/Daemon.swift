import Broker
import CertificateProxy
import Control
import IKECrypto
import IKEWire
import IKEv1
import IKEv2
import Kernel
import Netlink
import Platform
import TunnelManager
import UCI

/// `ike daemon`: the AIX daemon group in one process around one event loop.
final class Daemon {
    struct Options {
        var foreground = false
        var configPath = Configuration.defaultPath
        /// nil: the configuration's `option socket`.
        var socketPath: String? = nil
        var pidPath = "/var/run/ike.pid"
    }

    /// Receive buffers: enough for bursts of IKE_SA_INIT under load, 1 MiB in all.
    static let poolBuffers = 128
    static let bufferSize = 8192

    let options: Options
    let log: Logger
    let loop: EventLoop
    let pool: PacketBufferPool
    let broker: Broker
    let kernel: any IPsecKernel
    /// The same kernel when it is XFRM, for the ownership sweeps.
    let xfrm: XFRMKernel?
    let ikev1: EngineKeying<IKEv1Engine>
    let ikev2: EngineKeying<IKEv2Engine>
    let manager: TunnelManager
    /// cpsd, started by `open`.
    let cpsd: CertificateProxyProcess
    private var cpsdFD: Int32? = nil
    var sockets: [UDPSocket] = []
    var control: ControlServer? = nil
    /// The loop's one timer for the engines and the Tunnel Manager: their earliest
    /// deadline (`rearm`).
    var wake: (id: TimerID, at: Instant)? = nil
    /// Datagrams the engines produced in this turn, by socket index (`flush`).
    var outbox: [(socket: Int, datagram: OutgoingDatagram)] = []
    /// Why the start failed, naming the file or port, for the log and the waiting parent.
    var startupProblem: String? = nil
    /// The locked pid file of a detached daemon.
    private var pidFile: PidFile? = nil
    private var events: XFRMEvents? = nil
    private var signals: SignalSource? = nil

    /// Why the daemon could not be set up, in words for the log and the terminal.
    struct StartError: Error, CustomStringConvertible {
        let description: String
    }

    init(options: Options, configuration: Configuration, log: Logger) throws(StartError) {
        self.options = options
        self.log = log
        do throws(SystemError) { loop = try EventLoop() } catch { throw StartError(description: "event loop: \(error)") }
        pool = PacketBufferPool(count: Daemon.poolBuffers, bufferSize: Daemon.bufferSize)
        broker = Broker(log: log, pool: pool)
        switch configuration.global.kernel {
        case .xfrm:
            do throws(KernelError) {
                let x = try XFRMKernel()
                xfrm = x
                kernel = x
            } catch {
                throw StartError(description: "netlink XFRM socket: \(error)")
            }
        case .none:
            xfrm = nil
            kernel = NoKernel()
        }
        let clock = loop.clock
        log.now = { clock.now }
        log.maxPerSecond = configuration.global.logRate
        ikev2 = EngineKeying<IKEv2Engine>(engine: IKEv2Engine(port: configuration.global.port, nattPort: configuration.global.nattPort) { Routing.sourceAddress(toward: $0) },
                            version: .v2, now: { clock.now })
        ikev1 = EngineKeying<IKEv1Engine>(engine: IKEv1Engine(port: configuration.global.port, nattPort: configuration.global.nattPort) { Routing.sourceAddress(toward: $0) },
                                          version: .v1, now: { clock.now })
        cpsd = CertificateProxyProcess(log: log)
        ikev2.engine.certificates = cpsd
        ikev1.engine.certificates = cpsd
        ikev2.engine.fragmentSize = Int(configuration.global.fragmentSize)
        ikev1.engine.logs = { [log] in log.enabled($0) }
        ikev2.engine.logs = { [log] in log.enabled($0) }
        manager = TunnelManager(configuration: configuration, ikev1: ikev1, ikev2: ikev2, kernel: kernel, log: log, clock: { clock.now })
        let resolver = Resolver(loop: loop)
        manager.resolve = { [self] name, v4, done in
            resolver.resolve(name, v4: v4) { result in
                switch result {
                case let .success(address): done(address, "")
                case let .failure(error): done(nil, error.description)
                }
                self.pump()
            }
        }
        if let xfrm {
            let allocate: (IPAddress, IPAddress) -> UInt32? = { [log] remote, local in
                do throws(KernelError) { return try xfrm.allocateSPI(from: remote, to: local, reqids: TunnelManager.larvalReqids) } catch {
                    log.error(.tmd, "SPI allocation: \(error); using a random SPI")
                    return nil
                }
            }
            ikev1.engine.allocateSPI = allocate
            ikev2.engine.allocateSPI = allocate
        }
        broker.unsupportedVersion = { [self] header, source, destination in
            self.ikev2.engine.answerUnsupportedVersion(header, from: source, to: destination, now: self.loop.clock.now)
            self.pump()
        }
        broker.ikev1 = { [self] message, source, destination in
            guard self.ikev1.engine.precheck(message.bytes) else { return }
            self.ikev1.engine.receive(Array(message.bytes), from: source, to: destination, now: self.loop.clock.now)
            self.pump()
        }
        broker.ikev2 = { [self] message, source, destination in
            guard self.ikev2.engine.precheck(message.bytes) else { return }
            self.ikev2.engine.receive(Array(message.bytes), from: source, to: destination, now: self.loop.clock.now)
            self.pump()
        }
    }

    /// Hands what the engines produced to the sockets, the log and the Tunnel Manager.
    func pump() {
        ikev1.drain(into: manager, send: { [self] bytes, from, to in self.send(bytes, from: from, to: to) },
                    keepalive: { [self] from, to in self.send([0xff], from: from, to: to, marker: false) },
                    log: { [log] level, text in log.log(level, .isakmpd, text) })
        ikev2.drain(into: manager, send: { [self] bytes, from, to in self.send(bytes, from: from, to: to) },
                    keepalive: { [self] from, to in self.send([0xff], from: from, to: to, marker: false) },
                    log: { [log] level, text in log.log(level, .ikev2d, text) })
        flush()
        control?.tunnelsChanged()
        rearm()
        // The answers are out and the waiting clients told: key pairs for the next
        // negotiations are made now, off the path of their first message.
        ikev1.engine.keyPairs.prepare()
        ikev2.engine.keyPairs.prepare()
    }

    /// Sets the loop's timer to the earliest deadline of the engines (retransmissions,
    /// expiries, rekeys, liveness checks, keepalives) and of the Tunnel Manager (retries):
    /// nothing runs between deadlines, however many SAs are held.
    func rearm() {
        var next = Soonest()
        next.add(ikev1.engine.wakeAt)
        next.add(ikev2.engine.wakeAt)
        next.add(manager.wakeAt)
        if wake?.at == next.at { return }
        if let w = wake { loop.cancel(w.id) }
        wake = nil
        guard let at = next.at else { return }
        let id = loop.schedule(at: at) { [self] in
            self.wake = nil
            let now = self.loop.clock.now
            self.ikev1.engine.tick(now: now)
            self.ikev2.engine.tick(now: now)
            self.manager.tick(now: now)
            self.pump()
        }
        wake = (id, at)
    }

    /// Queues a datagram for the socket bound to `from`'s port and family, with `from`'s
    /// address; `flush` sends the queue. `marker: false` for a NAT keepalive, which is
    /// one 0xFF octet (RFC 3948 §2.3).
    func send(_ bytes: [UInt8], from: Endpoint, to: Endpoint, marker: Bool = true) {
        guard let index = sockets.firstIndex(where: { $0.local.port == from.port && $0.local.address.isV4 == to.address.isV4 }) else {
            log.error(.iked, "no socket to send from \(from) to \(to)")
            return
        }
        // RFC 3948 §2.2: IKE on the NAT-T port carries the four-octet non-ESP marker.
        let datagram = marker && from.port == manager.configuration.global.nattPort ? [0, 0, 0, 0] + bytes : bytes
        outbox.append((index, OutgoingDatagram(datagram, to: to, from: from.address)))
    }

    /// Sends what the engines produced in this turn, each socket's datagrams together
    /// (sendmmsg): a hub that starts or answers many tunnels at once makes one system
    /// call per 32 datagrams, not one each.
    func flush() {
        guard !outbox.isEmpty else { return }
        let queued = outbox
        outbox = []
        for (index, socket) in sockets.enumerated() {
            let mine = queued.filter { $0.socket == index }.map { $0.datagram }
            if mine.isEmpty { continue }
            for (i, error) in socket.send(mine) { log.information(.iked, "sending to \(mine[i].to): \(error)") }
        }
    }

    /// A hub's 20,000 tunnels take about 5 MiB of UCI.
    static let maxConfigurationBytes = 16 << 20

    /// Reads and validates the configuration file; the error text is every `FILE:LINE:`
    /// line, or why the file could not be read.
    static func loadConfiguration(_ path: String) -> Result<Configuration, LoadError> {
        let bytes: [UInt8]
        do throws(SystemError) { bytes = try FileSystem.read(path, limit: Daemon.maxConfigurationBytes) } catch {
            let why = error.errno == 27 ? "larger than \(Daemon.maxConfigurationBytes >> 20) MiB" : error.message
            return .failure(LoadError(description: "\(path): cannot read: \(why)", missing: error.errno == 2))
        }
        switch Configuration.load(String(decoding: bytes, as: UTF8.self), file: path) {
        case let .success(c): return .success(c)
        case let .failure(errors): return .failure(LoadError(description: errors.description, missing: false))
        }
    }

    func loadConfigurationFile() -> Result<Configuration, LoadError> { Daemon.loadConfiguration(options.configPath) }

    /// Why a configuration file was not loaded: its `FILE:LINE:` errors, or why it could
    /// not be read.
    struct LoadError: Error, CustomStringConvertible {
        let description: String
        let missing: Bool
    }

    var socketPath: String { options.socketPath ?? manager.configuration.global.socket }

    /// Opens the IKE and NAT-T sockets, the control socket and the signal descriptor.
    func open() throws(SystemError) {
        if !options.foreground {
            do throws(PidFile.Problem) { pidFile = try PidFile(options.pidPath) } catch {
                switch error {
                case let .held(pid):
                    startupProblem = "another ike daemon (pid \(pid)) holds the pid file \(options.pidPath); stop it first, or give --pidfile"
                    throw SystemError.inUse("flock")
                case let .system(e):
                    startupProblem = "cannot write the pid file \(options.pidPath): \(e.message)"
                    throw e
                }
            }
        }
        try startCertificateProxy()
        let global = manager.configuration.global
        let addresses = global.listen.isEmpty ? [IPAddress.anyV4, IPAddress.anyV6] : global.listen
        for address in addresses {
            for port in [global.port, global.nattPort] {
                do throws(SystemError) {
                    try openUDP(Endpoint(address, port), natt: port == global.nattPort)
                } catch {
                    // A host without IPv6 still serves IPv4 when listening everywhere.
                    if global.listen.isEmpty && !address.isV4 && error.errno == 97 {
                        log.information(.iked, "IPv6 unavailable, not listening on \(Endpoint(address, port))")
                        continue
                    }
                    startupProblem = "cannot listen on UDP \(Endpoint(address, port)): \(error.message); is another IKE daemon running?"
                    throw error
                }
            }
        }
        // One daemon per control socket: a live one is never unlinked from under it.
        if (try? StreamConnection.connect(path: socketPath, timeoutMilliseconds: 500)) != nil {
            startupProblem = "another ike daemon answers on \(socketPath); stop it first (ike cmd=status socket=\(socketPath) names its PID)"
            throw SystemError.inUse("bind")
        }
        do throws(SystemError) {
            control = try ControlServer(path: socketPath, loop: loop, log: log) { [self] request in
                let outcome = self.execute(request)
                self.pump()
                return outcome
            }
        } catch {
            startupProblem = "cannot create the control socket \(socketPath): \(error.message)"
            throw error
        }
        log.information(.tmd, "control socket \(socketPath)")
        let signals = try SignalSource()
        try signals.attach(to: loop) { [self] signal in self.received(signal) }
        self.signals = signals
        if xfrm != nil {
            do throws(KernelError) {
                events = try XFRMEvents()
            } catch {
                log.error(.tmd, "no kernel events (start 'trap' and kernel expiries will not work): \(error)")
            }
            if let events {
                try loop.watch(events.fd) { [self] in
                    let batch = events.read()
                    self.log.debug(.tmd, "kernel events: \(events.lastRawCount) read, \(batch.count) understood")
                    for event in batch { self.manager.handle(event) }
                    self.pump()
                }
            }
        }
    }

    /// Forks cpsd and has it load the configuration's certificates and keys; a file that
    /// is missing, unreadable or wrong stops the start with its `FILE:LINE:` error.
    private func startCertificateProxy() throws(SystemError) {
        cpsd.onChannel = { [self] channel in
            if let old = self.cpsdFD { self.loop.unwatch(old) }
            self.cpsdFD = channel.fd
            // Readable between requests means the other end closed: cpsd died.
            try? self.loop.watch(channel.fd) { [self] in self.cpsd.checkAlive() }
        }
        do throws(SystemError) { try cpsd.start() } catch {
            startupProblem = "cannot start cpsd: \(error.message)"
            throw error
        }
        if let problem = applyCredentials(manager.configuration) {
            startupProblem = problem + "\nike: the daemon does not start with a broken configuration; fix it (ike check shows the errors)"
            throw SystemError("cpsd", errno: 22)
        }
        ikev1.configure(manager.configuration)
        ikev2.configure(manager.configuration)
    }

    /// Loads the certificate credentials of `configuration` into cpsd and hands them to
    /// both engines; the `FILE:LINE:` errors when any is wrong (cpsd then keeps what
    /// it had).
    func applyCredentials(_ configuration: Configuration) -> String? {
        let specs = Credentials.specs(configuration)
        guard let results = cpsd.load(specs) else { return "\(options.configPath): cpsd did not answer; certificates cannot be loaded" }
        let problems = Credentials.diagnostics(configuration, file: options.configPath, specs, results)
        guard problems.isEmpty else { return ConfigurationErrors(problems).description }
        ikev2.credentials = Credentials.byTunnel(specs, results)
        ikev1.credentials = ikev2.credentials
        if !specs.isEmpty { log.information(.cpsd, "\(specs.count) certificate credentials loaded") }
        return nil
    }

    private func openUDP(_ endpoint: Endpoint, natt: Bool) throws(SystemError) {
        let socket = try UDPSocket(bind: endpoint)
        if natt && xfrm != nil { try socket.receiveESPInUDP() }
        try loop.watch(socket.fd) { [broker] in broker.receiveAll(from: socket, natt: natt) }
        sockets.append(socket)
        log.information(.iked, "listening on UDP \(socket.local)")
    }

    private func received(_ signal: Signal) {
        switch signal {
        case .terminate, .interrupt:
            log.event(.tmd, "\(signal) received, stopping")
            loop.stop()
        case .hangup:
            log.event(.tmd, "SIGHUP received, reloading configuration")
            _ = reload()
            pump()
        }
    }

    /// Removes the kernel SAs and policies in the daemon's reqid range, and only those.
    func sweepKernel(_ why: String) {
        guard let xfrm else { return }
        let swept = xfrm.sweep(reqids: TunnelManager.reqidRange)
        if swept.sas > 0 || swept.policies > 0 {
            log.event(.tmd, "removed \(swept.sas) kernel SAs and \(swept.policies) policies \(why)")
        }
        for error in swept.errors { log.error(.tmd, "cleaning up the kernel: \(error)") }
    }

    /// Removes the pid file and drops its lock (at the end, or when the start failed).
    func releasePidFile() {
        pidFile?.release()
        pidFile = nil
    }

    /// Runs until SIGTERM or SIGINT, then removes every tunnel and releases everything.
    func run() throws(SystemError) {
        if !options.foreground { Process.daemonReady() }
        let c = manager.configuration
        log.event(.tmd, "ike \(Version.release) started (pid \(Process.id), \(Version.flavour) build, \(c.tunnels.count) tunnels in \(options.configPath))")
        sweepKernel("left by an earlier run")
        manager.installTraps()
        manager.startAutoTunnels()
        pump()
        try loop.run()
        manager.removeAll()
        pump()
        sweepKernel("left after the tunnels were removed")
        control?.close()
        control = nil
        for socket in sockets { loop.unwatch(socket.fd) }
        sockets.removeAll()
        if let fd = cpsdFD { loop.unwatch(fd) }
        cpsd.stop()
        releasePidFile()
        log.event(.tmd, "ike stopped")
    }
}
