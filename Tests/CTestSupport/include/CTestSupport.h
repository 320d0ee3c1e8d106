#pragma once
/// Moves the calling thread into a new network namespace; returns a descriptor of the
/// old one for ike_test_leave_netns, or -errno.
int ike_test_enter_new_netns(void);
/// Returns the calling thread to the namespace `original` and closes it; 0 or -errno.
int ike_test_leave_netns(int original);
