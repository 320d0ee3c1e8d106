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
#include <linux/xfrm.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

struct ike_spi_result { int done; int error; unsigned int spi; };

static int ike_spi_on_valid(struct nl_msg *msg, void *arg) {
    struct ike_spi_result *r = (struct ike_spi_result *)arg;
    struct nlmsghdr *h = nlmsg_hdr(msg);
    if (h->nlmsg_type == XFRM_MSG_NEWSA && nlmsg_datalen(h) >= (int)sizeof(struct xfrm_usersa_info)) {
        struct xfrm_usersa_info *info = (struct xfrm_usersa_info *)nlmsg_data(h);
        r->spi = ntohl(info->id.spi);
    }
    return NL_OK;
}

/// The acknowledgement that follows the new SA: the answer is complete, nothing stale
/// is left on the socket for the next request.
static int ike_spi_on_ack(struct nl_msg *msg, void *arg) {
    (void)msg;
    ((struct ike_spi_result *)arg)->done = 1;
    return NL_STOP;
}

static int ike_spi_on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg) {
    (void)nla;
    struct ike_spi_result *r = (struct ike_spi_result *)arg;
    r->error = -err->error;
    r->done = 1;
    return NL_STOP;
}

/// XFRM_MSG_ALLOCSPI: the kernel picks an unused ESP SPI in [min, max] for SAs from `src`
/// to `dst` (4 or 16 address bytes of `family`) and holds it in a larval SA until the
/// real one replaces it. Returns 0 and `*spi`, or the kernel's errno.
/// The XFRM_MSG_ALLOCSPI request: the kernel picks an unused ESP SPI in [min, max] for
/// SAs from `src` to `dst` (4 or 16 address bytes of `family`). NULL without memory.
static inline struct nl_msg *ike_xfrm_allocspi_request(int family, const void *src, const void *dst, size_t len,
                                                      unsigned int reqid, unsigned int min, unsigned int max) {
    struct xfrm_userspi_info info;
    memset(&info, 0, sizeof info);
    info.info.family = (unsigned short)family;
    memcpy(&info.info.saddr, src, len);
    memcpy(&info.info.id.daddr, dst, len);
    info.info.id.proto = IPPROTO_ESP;
    info.info.mode = XFRM_MODE_TUNNEL;
    info.info.reqid = reqid;
    info.info.sel.family = (unsigned short)family;
    info.min = min;
    info.max = max;
    struct nl_msg *msg = nlmsg_alloc_simple(XFRM_MSG_ALLOCSPI, 0);
    if (msg == NULL) return NULL;
    if (nlmsg_append(msg, &info, sizeof info, NLMSG_ALIGNTO) < 0) {
        nlmsg_free(msg);
        return NULL;
    }
    return msg;
}

/// Allocates an SPI (see ike_xfrm_allocspi_request); the kernel holds it in a larval SA
/// until the real one replaces it. Returns 0 and `*spi`, or the kernel's errno.
static inline int ike_xfrm_allocspi(struct nl_sock *sk, int family, const void *src, const void *dst, size_t len,
                                    unsigned int reqid, unsigned int min, unsigned int max, unsigned int *spi) {
    struct nl_msg *msg = ike_xfrm_allocspi_request(family, src, dst, len, reqid, min, max);
    if (msg == NULL) return ENOMEM;
    struct ike_spi_result r = { 0, 0, 0 };
    int sent = nl_send_auto(sk, msg);
    nlmsg_free(msg);
    if (sent < 0) return EIO;
    struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (cb == NULL) return ENOMEM;
    nl_cb_err(cb, NL_CB_CUSTOM, ike_spi_on_error, &r);
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, ike_spi_on_valid, &r);
    nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ike_spi_on_ack, &r);
    while (!r.done) {
        if (nl_recvmsgs(sk, cb) < 0 && !r.done) {
            r.error = EIO;
            break;
        }
    }
    nl_cb_put(cb);
    if (r.error == 0 && r.spi == 0) r.error = EIO;
    if (r.error == 0) *spi = r.spi;
    return r.error;
}

struct ike_sa_key { xfrm_address_t daddr; unsigned int spi; unsigned short family; unsigned char proto; };
struct ike_sa_dump { struct ike_sa_key keys[256]; int count; unsigned int min, max; int done; int error; };

static int ike_dump_on_valid(struct nl_msg *msg, void *arg) {
    struct ike_sa_dump *d = (struct ike_sa_dump *)arg;
    struct nlmsghdr *h = nlmsg_hdr(msg);
    if (h->nlmsg_type != XFRM_MSG_NEWSA || nlmsg_datalen(h) < (int)sizeof(struct xfrm_usersa_info)) return NL_OK;
    struct xfrm_usersa_info *info = (struct xfrm_usersa_info *)nlmsg_data(h);
    if (info->reqid >= d->min && info->reqid <= d->max && d->count < 256) {
        struct ike_sa_key *k = &d->keys[d->count++];
        k->daddr = info->id.daddr;
        k->spi = info->id.spi;
        k->family = info->family;
        k->proto = info->id.proto;
    }
    return NL_OK;
}

static int ike_dump_on_finish(struct nl_msg *msg, void *arg) {
    (void)msg;
    ((struct ike_sa_dump *)arg)->done = 1;
    return NL_STOP;
}

/// The XFRM_MSG_DELSA request for the SA `key` names; NULL without memory.
static inline struct nl_msg *ike_xfrm_delsa_request(const struct ike_sa_key *key) {
    struct xfrm_usersa_id id;
    memset(&id, 0, sizeof id);
    id.daddr = key->daddr;
    id.spi = key->spi;
    id.family = key->family;
    id.proto = key->proto;
    struct nl_msg *del = nlmsg_alloc_simple(XFRM_MSG_DELSA, 0);
    if (del == NULL) return NULL;
    if (nlmsg_append(del, &id, sizeof id, NLMSG_ALIGNTO) < 0) {
        nlmsg_free(del);
        return NULL;
    }
    return del;
}

/// Deletes every SA (larval ones included) whose reqid lies in [min, max], from a dump
/// of the kernel's SAs; `*deleted` counts them. Returns 0 or the first errno.
static inline int ike_xfrm_sweep_sas(struct nl_sock *sk, unsigned int min, unsigned int max, int *deleted) {
    static struct ike_sa_dump d;
    memset(&d, 0, sizeof d);
    d.min = min;
    d.max = max;
    *deleted = 0;
    struct xfrm_usersa_info none;
    memset(&none, 0, sizeof none);
    struct nl_msg *msg = nlmsg_alloc_simple(XFRM_MSG_GETSA, NLM_F_DUMP);
    if (msg == NULL) return ENOMEM;
    int sent = nl_send_auto(sk, msg);
    nlmsg_free(msg);
    if (sent < 0) return EIO;
    struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (cb == NULL) return ENOMEM;
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, ike_dump_on_valid, &d);
    nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, ike_dump_on_finish, &d);
    while (!d.done) {
        if (nl_recvmsgs(sk, cb) < 0) break;
    }
    nl_cb_put(cb);
    int first = 0;
    for (int i = 0; i < d.count; i++) {
        struct nl_msg *del = ike_xfrm_delsa_request(&d.keys[i]);
        if (del == NULL) return ENOMEM;
        int e = ike_nl_transact(sk, del);
        nlmsg_free(del);
        if (e == 0) (*deleted)++;
        else if (first == 0) first = e;
    }
    return first;
}

/// A kernel event for the daemon: 1 acquire (a packet matched a policy with no SA), 2
/// expire (an SA reached a lifetime), 3 migrate (a policy's SAs moved to new addresses:
/// `src`/`dst` are the old tunnel endpoints, `new_src`/`new_dst` the new ones).
struct ike_xfrm_event {
    int kind;
    unsigned short family;
    xfrm_address_t src, dst;
    unsigned char src_prefix, dst_prefix;
    unsigned int spi, reqid;
    int hard;
    unsigned short new_family;
    xfrm_address_t new_src, new_dst;
};

/// Parses one notification into `e`; 1 when it is one the daemon acts on, else 0.
/// Everything is bounds-checked against the message's own length.
static inline int ike_xfrm_event_parse(const struct nlmsghdr *h, struct ike_xfrm_event *e) {
    memset(e, 0, sizeof *e);
    if (h->nlmsg_len < NLMSG_HDRLEN) return 0;
    int payload = (int)h->nlmsg_len - NLMSG_HDRLEN;
    const void *data = (const char *)h + NLMSG_HDRLEN;
    if (h->nlmsg_type == XFRM_MSG_ACQUIRE && payload >= (int)sizeof(struct xfrm_user_acquire)) {
        const struct xfrm_user_acquire *a = (const struct xfrm_user_acquire *)data;
        e->kind = 1;
        e->family = a->policy.sel.family;
        e->src = a->policy.sel.saddr;
        e->dst = a->policy.sel.daddr;
        e->src_prefix = a->policy.sel.prefixlen_s;
        e->dst_prefix = a->policy.sel.prefixlen_d;
        return 1;
    }
    if (h->nlmsg_type == XFRM_MSG_EXPIRE && payload >= (int)sizeof(struct xfrm_user_expire)) {
        const struct xfrm_user_expire *x = (const struct xfrm_user_expire *)data;
        e->kind = 2;
        e->family = x->state.family;
        e->dst = x->state.id.daddr;
        e->spi = ntohl(x->state.id.spi);
        e->reqid = x->state.reqid;
        e->hard = x->hard;
        return 1;
    }
    if (h->nlmsg_type == XFRM_MSG_MIGRATE && payload >= (int)NLMSG_ALIGN(sizeof(struct xfrm_userpolicy_id))) {
        int offset = NLMSG_ALIGN(sizeof(struct xfrm_userpolicy_id));
        while (offset + (int)sizeof(struct nlattr) <= payload) {
            const struct nlattr *attr = (const struct nlattr *)((const char *)data + offset);
            if (attr->nla_len < sizeof(struct nlattr) || offset + attr->nla_len > payload) return 0;
            if ((attr->nla_type & NLA_TYPE_MASK) == XFRMA_MIGRATE &&
                attr->nla_len >= NLA_HDRLEN + sizeof(struct xfrm_user_migrate)) {
                const struct xfrm_user_migrate *m = (const struct xfrm_user_migrate *)((const char *)attr + NLA_HDRLEN);
                e->kind = 3;
                e->family = m->old_family;
                e->src = m->old_saddr;
                e->dst = m->old_daddr;
                e->new_family = m->new_family;
                e->new_src = m->new_saddr;
                e->new_dst = m->new_daddr;
                e->reqid = m->reqid;
                return 1;
            }
            offset += NLA_ALIGN(attr->nla_len);
        }
    }
    return 0;
}

struct ike_event_batch { struct ike_xfrm_event *events; int max; int count; };

static int ike_events_on_valid(struct nl_msg *msg, void *arg) {
    struct ike_event_batch *b = (struct ike_event_batch *)arg;
    if (b->count >= b->max) return NL_STOP;
    if (ike_xfrm_event_parse(nlmsg_hdr(msg), &b->events[b->count])) b->count++;
    return NL_OK;
}

/// A non-blocking socket in the XFRM acquire, expire and migrate groups; NULL on failure.
static inline struct nl_sock *ike_xfrm_events_open(void) {
    struct nl_sock *sk = nl_socket_alloc();
    if (sk == NULL) return NULL;
    nl_socket_disable_seq_check(sk);
    if (nl_connect(sk, NETLINK_XFRM) < 0 ||
        nl_socket_add_memberships(sk, XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE, XFRMNLGRP_MIGRATE, 0) < 0 ||
        nl_socket_set_nonblocking(sk) < 0) {
        nl_socket_free(sk);
        return NULL;
    }
    return sk;
}

static int ike_events_any_seq(struct nl_msg *msg, void *arg) {
    (void)msg;
    (void)arg;
    return NL_OK;
}

/// Reads what is waiting into `events` (at most `max`); the count. Multicast messages
/// carry no sequence number of ours, so the sequence check is off.
static inline int ike_xfrm_events_read(struct nl_sock *sk, struct ike_xfrm_event *events, int max) {
    struct ike_event_batch b = { events, max, 0 };
    struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (cb == NULL) return 0;
    nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, ike_events_any_seq, NULL);
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, ike_events_on_valid, &b);
    nl_recvmsgs(sk, cb);
    nl_cb_put(cb);
    return b.count;
}
