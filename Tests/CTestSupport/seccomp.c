#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/// In CLibc (Sources/CLibc/shim.c), linked into every test binary.
int ike_confine_proxy(void);

int ike_test_confined_proxy(const char *readable_file) {
    pid_t pid = fork();
    if (pid < 0) return 100;
    if (pid == 0) {
        int r = ike_confine_proxy();
        if (r == -ENOSYS || r == -EINVAL) _exit(99);
        if (r != 0) _exit(1);
        if (socket(AF_INET, SOCK_DGRAM, 0) >= 0 || errno != EPERM) _exit(2);
        char *argv[] = { "/bin/true", NULL };
        execv("/bin/true", argv);
        if (errno != EPERM) _exit(3);
        int fd = open(readable_file, O_RDONLY | O_CLOEXEC);
        char b[16];
        if (fd < 0 || read(fd, b, sizeof b) <= 0) _exit(4);
        close(fd);
        void *m = malloc(1 << 20);
        if (!m) _exit(5);
        free(m);
        if (getrandom(b, sizeof b, 0) != sizeof b) _exit(6);
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) return 101;
    if (!WIFEXITED(status)) return 102;
    return WEXITSTATUS(status) == 99 ? -1 : WEXITSTATUS(status);
}
