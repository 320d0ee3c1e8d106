// libnl-3, libnl-genl-3 and libnl-xfrm-3, as the Netlink module sees them.
#pragma once
#include <netlink/netlink.h>
#include <netlink/version.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/genl/genl.h>
#include <netlink/xfrm/sa.h>
#include <netlink/xfrm/sp.h>
#include <netlink/xfrm/ae.h>
#include <netlink/xfrm/lifetime.h>
#include <netlink/xfrm/selector.h>
#include <netlink/xfrm/template.h>
#include <errno.h>
#include <netlink/handlers.h>
#include <linux/netlink.h>

/// The outcome of one netlink request: done, and the kernel's errno (0: acknowledged).
struct ike_nl_result { int done; int error; };

static int ike_nl_on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg) {
    (void)nla;
    struct ike_nl_result *r = (struct ike_nl_result *)arg;
    r->error = -err->error;
    r->done = 1;
    return NL_STOP;
}

static int ike_nl_on_ack(struct nl_msg *msg, void *arg) {
    (void)msg;
    ((struct ike_nl_result *)arg)->done = 1;
    return NL_STOP;
}

/// Sends `msg` and waits for the kernel's answer; returns 0 or the kernel's errno
/// (libnl's own results map errnos to its codes and lose them).
static inline int ike_nl_transact(struct nl_sock *sk, struct nl_msg *msg) {
    struct ike_nl_result r = { 0, 0 };
    if (nl_send_auto(sk, msg) < 0) return EIO;
    struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (cb == NULL) return ENOMEM;
    nl_cb_err(cb, NL_CB_CUSTOM, ike_nl_on_error, &r);
    nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ike_nl_on_ack, &r);
    while (!r.done) {
        if (nl_recvmsgs(sk, cb) < 0 && !r.done) {
            r.error = EIO;
            break;
        }
    }
    nl_cb_put(cb);
    return r.error;
}
