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
