#define _GNU_SOURCE
#include "CTestSupport.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

int ike_test_enter_new_netns(void) {
    int original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (original < 0) return -errno;
    if (unshare(CLONE_NEWNET) != 0) {
        int err = errno;
        close(original);
        return -err;
    }
    return original;
}

int ike_test_leave_netns(int original) {
    int ok = setns(original, CLONE_NEWNET);
    int err = errno;
    close(original);
    return ok == 0 ? 0 : -err;
}
