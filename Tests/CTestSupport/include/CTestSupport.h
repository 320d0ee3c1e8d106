#pragma once
/// Moves the calling thread into a new network namespace; returns a descriptor of the
/// old one for ike_test_leave_netns, or -errno.
int ike_test_enter_new_netns(void);
/// Returns the calling thread to the namespace `original` and closes it; 0 or -errno.
int ike_test_leave_netns(int original);
/// Sends one raw netlink request (`len` bytes from `message`, header included; the
/// request and ack flags are set here) on a new NETLINK_XFRM socket and waits for the
/// kernel's answer: 0, or the kernel's errno. For requests the daemon never sends itself,
/// such as XFRM_MSG_MIGRATE from a mobility daemon.
int ike_test_xfrm_request(const void *message, unsigned int len);
/// Forks a child that confines itself with cpsd's seccomp filter (ike_confine_proxy) and
/// then tries what cpsd never does and what it does: 0 when the filter is in place, a UDP
/// socket and an exec fail with EPERM, and reading a file, memory and randomness still
/// work; otherwise a number saying which step went wrong (-1: no filter on this kernel).
int ike_test_confined_proxy(const char *readable_file);
