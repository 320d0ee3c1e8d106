// The libc surface the Platform module uses, plus small helpers for what Swift cannot
// express directly: errno, packed epoll_event, control messages (IP_PKTINFO,
// IPV6_PKTINFO), sockaddr_un, variadic syslog. Nothing else in the project includes libc.
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <syslog.h>

static inline int ike_errno(void) { return errno; }

/// An IPv4 or IPv6 transport address in a flat, Swift-friendly form. `family` is
/// AF_INET or AF_INET6; an IPv4 address is in the first 4 bytes of `addr`. `ifindex`
/// is the interface a datagram arrived on (0 when unknown or when sending).
struct ike_endpoint {
    uint8_t addr[16];
    uint32_t ifindex;
    uint32_t scope_id;
    uint16_t port;
    uint8_t family;
};

/// epoll: register `fd` for `events` with an opaque 64-bit token.
int ike_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);
/// epoll_wait into parallel arrays; returns the count or -errno.
int ike_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms);

/// Nanoseconds on CLOCK_MONOTONIC.
uint64_t ike_monotonic_ns(void);
/// Arms a timerfd for the absolute CLOCK_MONOTONIC time `deadline_ns`; 0 disarms.
int ike_timerfd_arm(int fd, uint64_t deadline_ns);
/// Reads and discards a timerfd's expiration count; returns 0 or -errno.
int ike_timerfd_drain(int fd);

/// Blocks `signals` for the process and returns a non-blocking signalfd for them, or -errno.
int ike_signalfd_open(const int *signals, int count);
/// Reads one signal from a signalfd: the signal number, 0 when none is pending, or -errno.
int ike_signalfd_read(int fd);

/// A non-blocking UDP socket bound to `local` (family, address, port), reporting each
/// datagram's local address (IP_PKTINFO / IPV6_RECVPKTINFO). IPv6 sockets are
/// IPV6_V6ONLY. Returns the fd or -errno.
int ike_udp_open(const struct ike_endpoint *local);
/// Makes a UDP socket the kernel's ESP-in-UDP endpoint (RFC 3948): ESP arriving on it
/// goes to XFRM, IKE (behind the non-ESP marker) and keepalives still reach the
/// socket. 0 or -errno.
int ike_udp_espinudp(int fd);
/// The port a socket is bound to, or -errno.
int ike_socket_port(int fd);
/// recvmsg into `buf`; fills the sender and the local address it was sent to.
/// Returns the datagram length, -EAGAIN when none is waiting, or -errno. A datagram
/// longer than `cap` is reported as -EMSGSIZE (and consumed).
long ike_udp_recv(int fd, void *buf, size_t cap, struct ike_endpoint *from,
                  struct ike_endpoint *local);
/// sendmsg of `len` bytes to `to`, from `from`'s address when `from` is not NULL.
/// Returns the byte count or -errno.
long ike_udp_send(int fd, const void *buf, size_t len, const struct ike_endpoint *to,
                  const struct ike_endpoint *from);
/// One datagram of `ike_udp_send_many`: `len` bytes at `buf` to `to`, from `from`'s
/// address when `has_from`.
struct ike_datagram {
    const void *buf;
    size_t len;
    struct ike_endpoint to;
    struct ike_endpoint from;
    int has_from;
};
/// sendmmsg of up to 32 datagrams in one system call. Returns how many were sent (the
/// rest, from the first that failed, are the caller's to send again), or -errno when
/// the first one failed.
long ike_udp_send_many(int fd, const struct ike_datagram *d, unsigned count);

/// A non-blocking Unix stream listener at `path` (an old socket there is replaced),
/// with file mode `mode`. Returns the fd or -errno.
int ike_unix_listen(const char *path, unsigned mode);
/// A blocking Unix stream connection to `path`; the fd or -errno.
int ike_unix_connect(const char *path);
/// accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC; the fd or -errno.
int ike_accept(int fd);

/// openlog with ident "ike" and LOG_PID at `facility`.
void ike_openlog(int facility);
/// Gives freed heap back to the system (malloc_trim).
void ike_release_freed_memory(void);
/// syslog(priority, "%s", message).
void ike_syslog(int priority, const char *message);
/// Looks up a syslog facility by name ("daemon", "local0", ...); -1 when unknown.
int ike_syslog_facility(const char *name);

/// The process's arguments, saved by an init_array constructor (glibc passes argc and
/// argv to it, in static executables too), since Embedded Swift has no CommandLine.
int ike_argc(void);
const char *ike_argv(int index);
/// Ignores SIGPIPE for the process: a peer that closes a socket makes write fail with
/// EPIPE instead of killing us. Returns 0 or -errno.
int ike_ignore_sigpipe(void);
/// 32 random bits from the kernel (getrandom(2)), for DNS query IDs.
uint32_t ike_random_u32(void);

/// fork and setsid. The parent waits on a pipe until the child reports with
/// `ike_daemon_report`: it exits 0 when the child is ready, or prints the child's error
/// and exits 1 (also when the child dies first). Returns 0 in the child or -errno.
int ike_daemonize(void);
/// Remembers the descriptors above 2 that the process inherited (call it first thing);
/// a daemonized child closes them, so that whoever started it, waiting for its own
/// child's descriptors to close, is not held by the daemon.
void ike_note_inherited_descriptors(void);
/// In a daemonized child: NULL reports readiness (stdio then goes to /dev/null), a
/// message reports failure. Not daemonized: a message goes to standard error.
void ike_daemon_report(const char *failure);

/// open(2) without varargs: O_CLOEXEC is added; `mode` matters with O_CREAT.
static inline int ike_open(const char *path, int flags, unsigned mode) {
    return open(path, flags | O_CLOEXEC, (mode_t)mode);
}

/// Switches O_NONBLOCK on or off; 0 or -errno.
int ike_set_nonblocking(int fd, int on);
/// SO_SNDTIMEO and SO_RCVTIMEO in milliseconds; 0 or -errno.
int ike_set_timeouts(int fd, unsigned send_ms, unsigned receive_ms);

/// The local address the kernel's routing would use toward `remote` (a connected UDP
/// socket's name); 0 and `local` filled, or -errno.
int ike_route_source(const struct ike_endpoint *remote, struct ike_endpoint *local);

/// The permission bits of a file (stat, following links); -errno on failure.
int ike_file_mode(const char *path);
/// The names in a directory, each ending in '\n', written into `out` (at most
/// `capacity` bytes); the length, or -errno (ENOTDIR for a file).
int ike_directory_names(const char *path, char *out, int capacity);
/// Starts the certificate proxy: a socketpair (SOCK_SEQPACKET) and a fork. In the child,
/// every descriptor but its end of the pair and 0-2 is closed and PR_SET_NO_NEW_PRIVS is
/// set; it returns 0 there with *fd set. In the parent it returns the child's PID with
/// *fd set to the parent's end; -errno on failure. The child also confines itself with
/// `ike_confine_proxy`.
int ike_spawn_proxy(int *fd);
/// cpsd's seccomp filter: the system calls it makes are allowed, any other fails with
/// EPERM, and another architecture's numbers kill it. 0, or -errno where the kernel (or
/// qemu-user) has no seccomp filters: cpsd then runs without one.
int ike_confine_proxy(void);
/// waitpid(pid, WNOHANG): the PID when it has exited, 0 while it runs, -errno.
int ike_reap(int pid);
/// Waits up to `timeout_ms` for `fd` to be readable; 1 readable (or hung up), 0 timeout, -errno.
int ike_wait_readable(int fd, int timeout_ms);
