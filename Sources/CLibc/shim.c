#define _GNU_SOURCE
#include <sys/random.h>
#include <dirent.h>
#include "CLibc.h"
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/un.h>

int ike_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev = { .events = events, .data = { .u64 = token } };
    return epoll_ctl(epfd, op, fd, &ev) == 0 ? 0 : -errno;
}

int ike_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
        tokens[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

uint64_t ike_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ike_timerfd_arm(int fd, uint64_t deadline_ns) {
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (deadline_ns != 0) {
        uint64_t seconds = deadline_ns / 1000000000ull;
        // A 32-bit time_t (armhf) takes at most 2^31-1 s: 68 years of uptime.
        if (sizeof(time_t) == 4 && seconds > 0x7fffffffull) seconds = 0x7fffffffull;
        its.it_value.tv_sec = (time_t)seconds;
        its.it_value.tv_nsec = (long)(deadline_ns % 1000000000ull);
    }
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) == 0 ? 0 : -errno;
}

int ike_timerfd_drain(int fd) {
    uint64_t count;
    return read(fd, &count, sizeof count) == (ssize_t)sizeof count ? 0 : -errno;
}

int ike_signalfd_open(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -errno;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

int ike_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n == (ssize_t)sizeof info) return (int)info.ssi_signo;
    if (n < 0 && errno == EAGAIN) return 0;
    return n < 0 ? -errno : -EIO;
}

static socklen_t to_sockaddr(const struct ike_endpoint *e, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (e->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(e->port);
        memcpy(&sin->sin_addr, e->addr, 4);
        return sizeof *sin;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(e->port);
    sin6->sin6_scope_id = e->scope_id;
    memcpy(&sin6->sin6_addr, e->addr, 16);
    return sizeof *sin6;
}

static void from_sockaddr(const struct sockaddr_storage *ss, struct ike_endpoint *e) {
    memset(e, 0, sizeof *e);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        e->family = AF_INET;
        e->port = ntohs(sin->sin_port);
        memcpy(e->addr, &sin->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        e->family = AF_INET6;
        e->port = ntohs(sin6->sin6_port);
        e->scope_id = sin6->sin6_scope_id;
        memcpy(e->addr, &sin6->sin6_addr, 16);
    }
}

int ike_udp_open(const struct ike_endpoint *local) {
    int fd = socket(local->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) return -errno;
    int one = 1;
    int ok;
    if (local->family == AF_INET) {
        ok = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    } else {
        ok = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (ok == 0) ok = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    }
    // A flood of first messages must not crowd a configured peer's datagrams out of
    // the queue while a Diffie-Hellman runs: 1 MiB (about 1000 IKE datagrams'
    // kernel memory), past net.core.rmem_max when we may (CAP_NET_ADMIN).
    int rcvbuf = 1 << 20;
    if (ok == 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_storage ss;
    socklen_t len = to_sockaddr(local, &ss);
    if (ok == 0) ok = bind(fd, (struct sockaddr *)&ss, len);
    if (ok != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int ike_udp_espinudp(int fd) {
    int type = UDP_ENCAP_ESPINUDP;
    return setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof type) == 0 ? 0 : -errno;
}

int ike_socket_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -errno;
    struct ike_endpoint e;
    from_sockaddr(&ss, &e);
    return e.port;
}

long ike_udp_recv(int fd, void *buf, size_t cap, struct ike_endpoint *from,
                  struct ike_endpoint *local) {
    struct sockaddr_storage ss;
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr msg = {
        .msg_name = &ss, .msg_namelen = sizeof ss,
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) return -errno;
    from_sockaddr(&ss, from);
    memset(local, 0, sizeof *local);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            local->family = AF_INET;
            memcpy(local->addr, &pi.ipi_addr, 4);
            local->ifindex = (uint32_t)pi.ipi_ifindex;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            local->family = AF_INET6;
            memcpy(local->addr, &pi.ipi6_addr, 16);
            local->ifindex = pi.ipi6_ifindex;
        }
    }
    if (msg.msg_flags & MSG_TRUNC) return -EMSGSIZE;
    return (long)n;
}

/// The control buffer of one datagram: the source address (IP_PKTINFO / IPV6_PKTINFO).
union ike_pktinfo_control {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
};

/// Fills `msg` to send `len` bytes to `to`, from `from`'s address when not NULL.
static void prepare_send(struct msghdr *msg, struct iovec *iov, struct sockaddr_storage *ss,
                         union ike_pktinfo_control *control, const void *buf, size_t len,
                         const struct ike_endpoint *to, const struct ike_endpoint *from) {
    socklen_t sslen = to_sockaddr(to, ss);
    memset(control, 0, sizeof *control);
    iov->iov_base = (void *)buf;
    iov->iov_len = len;
    memset(msg, 0, sizeof *msg);
    msg->msg_name = ss;
    msg->msg_namelen = sslen;
    msg->msg_iov = iov;
    msg->msg_iovlen = 1;
    if (from == NULL) return;
    msg->msg_control = control->buf;
    struct cmsghdr *c = (struct cmsghdr *)control->buf;
    if (from->family == AF_INET) {
        struct in_pktinfo pi;
        memset(&pi, 0, sizeof pi);
        memcpy(&pi.ipi_spec_dst, from->addr, 4);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        msg->msg_controllen = CMSG_SPACE(sizeof pi);
    } else {
        struct in6_pktinfo pi;
        memset(&pi, 0, sizeof pi);
        memcpy(&pi.ipi6_addr, from->addr, 16);
        pi.ipi6_ifindex = from->ifindex;
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        msg->msg_controllen = CMSG_SPACE(sizeof pi);
    }
}

long ike_udp_send(int fd, const void *buf, size_t len, const struct ike_endpoint *to,
                  const struct ike_endpoint *from) {
    struct sockaddr_storage ss;
    union ike_pktinfo_control control;
    struct iovec iov;
    struct msghdr msg;
    prepare_send(&msg, &iov, &ss, &control, buf, len, to, from);
    ssize_t n = sendmsg(fd, &msg, 0);
    return n < 0 ? -errno : (long)n;
}

#define IKE_SEND_BATCH 32

long ike_udp_send_many(int fd, const struct ike_datagram *d, unsigned count) {
    struct mmsghdr msgs[IKE_SEND_BATCH];
    struct iovec iov[IKE_SEND_BATCH];
    struct sockaddr_storage ss[IKE_SEND_BATCH];
    union ike_pktinfo_control control[IKE_SEND_BATCH];
    if (count > IKE_SEND_BATCH) count = IKE_SEND_BATCH;
    for (unsigned i = 0; i < count; i++) {
        memset(&msgs[i], 0, sizeof msgs[i]);
        prepare_send(&msgs[i].msg_hdr, &iov[i], &ss[i], &control[i], d[i].buf, d[i].len, &d[i].to,
                     d[i].has_from ? &d[i].from : NULL);
    }
    int n = sendmmsg(fd, msgs, count, 0);
    return n < 0 ? -errno : (long)n;
}

static int unix_address(const char *path, struct sockaddr_un *sun) {
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof sun->sun_path) return -ENAMETOOLONG;
    memcpy(sun->sun_path, path, n);
    return 0;
}

int ike_unix_listen(const char *path, unsigned mode) {
    struct sockaddr_un sun;
    int err = unix_address(path, &sun);
    if (err != 0) return err;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path);
    mode_t old = umask(0177);
    int ok = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (ok == 0) ok = chmod(path, (mode_t)mode);
    if (ok == 0) ok = listen(fd, 16);
    if (ok != 0) {
        err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int ike_unix_connect(const char *path) {
    struct sockaddr_un sun;
    int err = unix_address(path, &sun);
    if (err != 0) return err;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
        err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int ike_accept(int fd) {
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return c >= 0 ? c : -errno;
}

#include <malloc.h>

void ike_release_freed_memory(void) { malloc_trim(0); }

// The system log, without syslog(3): one datagram socket connected to /dev/log and the
// PID taken once (and again after the fork that detaches), so a line is one send().
// Where no syslogd listens (a container, a board before its syslogd runs) the line is
// dropped and a reconnect is tried at most every ten seconds, not once per line.
static int log_fd = -1;
static int log_facility = LOG_DAEMON;
static pid_t log_pid;
static time_t log_retry_at;

static void log_connect(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec < log_retry_at) return;
    log_retry_at = now.tv_sec + 10;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    strcpy(sun.sun_path, "/dev/log");
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
        close(fd);
        return;
    }
    log_fd = fd;
}

void ike_openlog(int facility) {
    log_facility = facility;
    log_pid = getpid();
    log_retry_at = 0;
    if (log_fd < 0) log_connect();
}

void ike_syslog(int priority, const char *message) {
    if (log_fd < 0) log_connect();
    if (log_fd < 0) return;
    // RFC 3164 as syslogd reads it from /dev/log: <PRI>Mmm dd hh:mm:ss ike[PID]: text
    char line[2048];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    int head = snprintf(line, sizeof line, "<%d>", log_facility | priority);
    head += (int)strftime(line + head, sizeof line - (size_t)head, "%b %e %T ", &tm);
    int n = snprintf(line + head, sizeof line - (size_t)head, "ike[%d]: %s", (int)log_pid, message);
    size_t length = (size_t)head + (n < 0 ? 0 : (size_t)n);
    if (length >= sizeof line) length = sizeof line - 1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (send(log_fd, line, length, MSG_NOSIGNAL) >= 0) return;
        // syslogd restarted (its socket is new): connect again, once.
        if (attempt > 0 || (errno != ECONNREFUSED && errno != ENOTCONN && errno != ENOENT)) return;
        close(log_fd);
        log_fd = -1;
        log_retry_at = 0;
        log_connect();
        if (log_fd < 0) return;
    }
}

int ike_syslog_facility(const char *name) {
    static const struct { const char *name; int value; } table[] = {
        { "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "auth", LOG_AUTH },
        { "authpriv", LOG_AUTHPRIV }, { "syslog", LOG_SYSLOG },
        { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
        { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
        { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return table[i].value;
    return -1;
}

static int saved_argc;
static char **saved_argv;

__attribute__((constructor)) static void ike_save_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

int ike_argc(void) { return saved_argc; }

const char *ike_argv(int index) {
    return index >= 0 && index < saved_argc ? saved_argv[index] : NULL;
}

static int daemon_ready_fd = -1;
static int inherited[64];
static int inherited_count;

void ike_note_inherited_descriptors(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return;
    int own = dirfd(dir);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && inherited_count < 64) {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9' && fd > 2 && fd != own) inherited[inherited_count++] = fd;
    }
    closedir(dir);
}

/// Points descriptors 0-2 at /dev/null.
static void stdio_to_null(void) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return;
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
}

int ike_daemonize(void) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid > 0) {
        close(fds[1]);
        char report[2048];
        size_t n = 0;
        while (n < sizeof report) {
            ssize_t r = read(fds[0], report + n, sizeof report - n);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            n += (size_t)r;
        }
        if (n >= 1 && report[0] == 0) _exit(0);
        if (n > 1) {
            (void)!write(2, report + 1, n - 1);
            (void)!write(2, "\n", 1);
        } else {
            const char *m = "ike: the daemon exited before it was ready; see the system log\n";
            (void)!write(2, m, strlen(m));
        }
        _exit(1);
    }
    close(fds[0]);
    daemon_ready_fd = fds[1];
    log_pid = getpid();
    for (int i = 0; i < inherited_count; i++) close(inherited[i]);
    inherited_count = 0;
    if (setsid() < 0) return -errno;
    return 0;
}

void ike_daemon_report(const char *failure) {
    if (daemon_ready_fd < 0) {
        if (failure) {
            (void)!write(2, failure, strlen(failure));
            (void)!write(2, "\n", 1);
        }
        return;
    }
    char status = failure ? 1 : 0;
    (void)!write(daemon_ready_fd, &status, 1);
    if (failure) (void)!write(daemon_ready_fd, failure, strlen(failure));
    close(daemon_ready_fd);
    daemon_ready_fd = -1;
    if (!failure) stdio_to_null();
}

int ike_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -errno;
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, flags) == 0 ? 0 : -errno;
}

int ike_set_timeouts(int fd, unsigned send_ms, unsigned receive_ms) {
    struct timeval snd = { .tv_sec = send_ms / 1000, .tv_usec = (send_ms % 1000) * 1000 };
    struct timeval rcv = { .tv_sec = receive_ms / 1000, .tv_usec = (receive_ms % 1000) * 1000 };
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd) != 0) return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv) != 0) return -errno;
    return 0;
}

int ike_route_source(const struct ike_endpoint *remote, struct ike_endpoint *local) {
    int fd = socket(remote->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) return -errno;
    struct sockaddr_storage ss;
    socklen_t len = to_sockaddr(remote, &ss);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    len = sizeof ss;
    int ok = getsockname(fd, (struct sockaddr *)&ss, &len);
    int err = errno;
    close(fd);
    if (ok != 0) return -err;
    from_sockaddr(&ss, local);
    return 0;
}

int ike_ignore_sigpipe(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &action, NULL) == 0 ? 0 : -errno;
}

uint32_t ike_random_u32(void) {
    uint32_t value = 0;
    while (getrandom(&value, sizeof value, 0) < 0 && errno == EINTR) {}
    return value;
}

#include <sys/prctl.h>

int ike_file_mode(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return -errno;
    return (int)(st.st_mode & 07777);
}

int ike_directory_names(const char *path, char *out, int capacity) {
    DIR *dir = opendir(path);
    if (!dir) return -errno;
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        int length = (int)strlen(entry->d_name);
        if (n + length + 1 > capacity) break;
        memcpy(out + n, entry->d_name, (size_t)length);
        n += length;
        out[n++] = '\n';
    }
    closedir(dir);
    return n;
}

#include <stddef.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

// The system calls cpsd makes: its socketpair end, reading credential files (on a
// reload), memory, randomness (signatures), time (validity), locks, and dying. Anything
// else (a socket, exec, ptrace, writes to files...) fails with EPERM.
#define ALLOW(name) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

#if defined(__x86_64__)
#define IKE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define IKE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__)
#define IKE_AUDIT_ARCH AUDIT_ARCH_ARM
#endif

int ike_confine_proxy(void) {
#ifdef IKE_AUDIT_ARCH
    struct sock_filter filter[] = {
        // Another architecture's numbers (x86_64's x32 or i386 entry points) are refused.
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IKE_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
        // The channel.
        ALLOW(recvfrom), ALLOW(sendto), ALLOW(recvmsg), ALLOW(sendmsg), ALLOW(ppoll),
#ifdef __NR_poll
        ALLOW(poll),
#endif
#ifdef __NR_ppoll_time64
        ALLOW(ppoll_time64),
#endif
#ifdef __NR_recv
        ALLOW(recv),
#endif
#ifdef __NR_send
        ALLOW(send),
#endif
        ALLOW(read), ALLOW(write), ALLOW(close),
        // Credential files and directories.
        ALLOW(openat), ALLOW(lseek), ALLOW(getdents64), ALLOW(fcntl),
#ifdef __NR_newfstatat
        ALLOW(newfstatat),
#endif
#ifdef __NR_open
        ALLOW(open),
#endif
#ifdef __NR_fstat
        ALLOW(fstat),
#endif
#ifdef __NR_fstat64
        ALLOW(fstat64),
#endif
#ifdef __NR_fstatat64
        ALLOW(fstatat64),
#endif
#ifdef __NR_stat
        ALLOW(stat),
#endif
#ifdef __NR_stat64
        ALLOW(stat64),
#endif
#ifdef __NR_statx
        ALLOW(statx),
#endif
#ifdef __NR__llseek
        ALLOW(_llseek),
#endif
#ifdef __NR_fcntl64
        ALLOW(fcntl64),
#endif
        // Memory, randomness, time, locks.
        ALLOW(brk), ALLOW(munmap), ALLOW(mremap), ALLOW(mprotect), ALLOW(madvise),
#ifdef __NR_mmap
        ALLOW(mmap),
#endif
#ifdef __NR_mmap2
        ALLOW(mmap2),
#endif
        ALLOW(getrandom), ALLOW(futex), ALLOW(clock_gettime), ALLOW(gettimeofday),
#ifdef __NR_futex_time64
        ALLOW(futex_time64),
#endif
#ifdef __NR_clock_gettime64
        ALLOW(clock_gettime64),
#endif
#ifdef __NR_time
        ALLOW(time),
#endif
        // Signals and the end (an abort raises SIGABRT at itself).
        ALLOW(rt_sigreturn), ALLOW(rt_sigprocmask), ALLOW(rt_sigaction), ALLOW(restart_syscall),
        ALLOW(getpid), ALLOW(gettid), ALLOW(tgkill), ALLOW(exit), ALLOW(exit_group),
#ifdef __NR_sigreturn
        ALLOW(sigreturn),
#endif
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog program = { .len = sizeof filter / sizeof filter[0], .filter = filter };
    // A filter needs no new privileges (without CAP_SYS_ADMIN).
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) return -errno;
    return 0;
#else
    return -ENOSYS;
#endif
}

int ike_spawn_proxy(int *fd) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return -errno;
    // A message must fit the sender's buffer whole: 1 MiB (past wmem_max as root).
    int size = 1 << 20;
    for (int i = 0; i < 2; i++) {
        if (setsockopt(pair[i], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
            setsockopt(pair[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pair[0]);
        close(pair[1]);
        return -e;
    }
    if (pid > 0) {
        close(pair[1]);
        *fd = pair[0];
        return pid;
    }
    // The child: nothing of the daemon's (UDP sockets, the control socket, netlink,
    // syslog) stays open in the process that parses untrusted certificates.
    int keep = pair[1];
    DIR *dir = opendir("/proc/self/fd");
    if (dir) {
        int own = dirfd(dir);
        int fds[1024];
        int count = 0;
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL && count < 1024) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
            int d = atoi(entry->d_name);
            if (d > 2 && d != keep && d != own) fds[count++] = d;
        }
        closedir(dir);
        for (int i = 0; i < count; i++) close(fds[i]);
    } else {
        for (int d = 3; d < 1024; d++) if (d != keep) close(d);
    }
    // stdio goes to /dev/null: cpsd writes nothing, and must not hold the pipes of
    // whoever started the daemon (they would never see the end of its output).
    stdio_to_null();
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    prctl(PR_SET_NAME, "cpsd", 0, 0, 0);
    // Signals the daemon handles through signalfd are blocked; cpsd takes the defaults.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    ike_confine_proxy();
    *fd = keep;
    return 0;
}

int ike_reap(int pid) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    return r < 0 ? -errno : (int)r;
}

#include <poll.h>

int ike_wait_readable(int fd, int timeout_ms) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    for (;;) {
        int n = poll(&p, 1, timeout_ms);
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? -errno : n;
    }
}
