import Broker
import Control
import IKEWire
import Platform
import UCI

/// `ike daemon`: the AIX daemon group in one process around one event loop.
final class Daemon {
    struct Options {
        var foreground = false
        var configPath = Configuration.defaultPath
        var socketPath = Control.defaultSocketPath
        var pidPath = "/var/run/ike.pid"
    }

    static let ikePort: UInt16 = 500
    static let nattPort: UInt16 = 4500
    /// Receive buffers: enough for bursts of IKE_SA_INIT under load, 1 MiB in all.
    static let poolBuffers = 128
    static let bufferSize = 8192

    private let options: Options
    private let log: Logger
    private let loop: EventLoop
    private let pool: PacketBufferPool
    private let broker: Broker
    private var sockets: [UDPSocket] = []
    private var control: UnixListener? = nil
    private var signals: SignalSource? = nil

    init(options: Options, log: Logger) throws(SystemError) {
        self.options = options
        self.log = log
        loop = try EventLoop()
        pool = PacketBufferPool(count: Daemon.poolBuffers, bufferSize: Daemon.bufferSize)
        broker = Broker(log: log, pool: pool)
    }

    /// Loads the configuration; false (logged) when it exists but cannot be read.
    func loadConfiguration() -> Bool {
        do throws(SystemError) {
            let bytes = try FileSystem.read(options.configPath)
            log.event(.tmd, "configuration \(options.configPath) loaded (\(bytes.count) bytes)")
            return true
        } catch {
            if error.errno == 2 {
                log.event(.tmd, "no configuration at \(options.configPath); running without tunnels")
                return true
            }
            log.error(.tmd, "cannot read configuration \(options.configPath): \(error); check the path and its permissions")
            return false
        }
    }

    /// Opens the IKE and NAT-T sockets on IPv4 and IPv6, the control socket and the
    /// signal descriptor, all on the loop.
    func open() throws(SystemError) {
        for address in [IPAddress.anyV4, IPAddress.anyV6] {
            for port in [Daemon.ikePort, Daemon.nattPort] {
                do throws(SystemError) {
                    try openUDP(Endpoint(address, port))
                } catch {
                    // A host without IPv6 still serves IPv4.
                    if !address.isV4 && error.errno == 97 {
                        log.information(.iked, "IPv6 unavailable, not listening on \(Endpoint(address, port))")
                        continue
                    }
                    log.error(.iked, "cannot listen on UDP \(Endpoint(address, port)): \(error); is another IKE daemon running?")
                    throw error
                }
            }
        }
        try openControl()
        let signals = try SignalSource()
        try signals.attach(to: loop) { [self] signal in self.received(signal) }
        self.signals = signals
    }

    private func openUDP(_ endpoint: Endpoint) throws(SystemError) {
        let socket = try UDPSocket(bind: endpoint)
        let natt = endpoint.port == Daemon.nattPort
        try loop.watch(socket.fd) { [broker] in broker.receiveAll(from: socket, natt: natt) }
        sockets.append(socket)
        log.information(.iked, "listening on UDP \(socket.local)")
    }

    private func openControl() throws(SystemError) {
        let listener: UnixListener
        do throws(SystemError) {
            listener = try UnixListener(path: options.socketPath)
        } catch {
            log.error(.tmd, "cannot create control socket \(options.socketPath): \(error)")
            throw error
        }
        // The request protocol arrives with the Control module; until then a client is
        // accepted and closed, so it sees the daemon alive.
        try loop.watch(listener.fd) {
            while let fd = try? listener.accept() { UnixListener.closeConnection(fd) }
        }
        control = listener
        log.information(.tmd, "control socket \(options.socketPath)")
    }

    private func received(_ signal: Signal) {
        switch signal {
        case .terminate, .interrupt:
            log.event(.tmd, "\(signal) received, stopping")
            loop.stop()
        case .hangup:
            log.event(.tmd, "SIGHUP received, reloading configuration")
            _ = loadConfiguration()
        }
    }

    /// Runs until SIGTERM or SIGINT, then releases everything it holds.
    func run() throws(SystemError) {
        if !options.foreground {
            try FileSystem.write(options.pidPath, "\(Process.id)\n")
        }
        log.event(.tmd, "ike \(Version.release) started (pid \(Process.id), \(Version.flavour) build)")
        try loop.run()
        for socket in sockets { loop.unwatch(socket.fd) }
        sockets.removeAll()
        if let control { loop.unwatch(control.fd) }
        control = nil
        if !options.foreground { FileSystem.remove(options.pidPath) }
        log.event(.tmd, "ike stopped")
    }
}
