#include "CTestSupport.h"
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ike_test_xfrm_request(const void *message, unsigned int len) {
    char buffer[8192];
    if (len > sizeof buffer || len < sizeof(struct nlmsghdr)) return EINVAL;
    memcpy(buffer, message, len);
    struct nlmsghdr *h = (struct nlmsghdr *)buffer;
    h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = 1;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
    if (fd < 0) return errno;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(fd, buffer, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
        int e = errno;
        close(fd);
        return e;
    }
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    int result = EIO;
    if (n >= (ssize_t)(sizeof(struct nlmsghdr) + sizeof(struct nlmsgerr)) && h->nlmsg_type == NLMSG_ERROR) {
        result = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
    }
    close(fd);
    return result;
}
