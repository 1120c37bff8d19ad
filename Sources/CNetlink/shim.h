// rtnetlink's constants (kernel and glibc headers, always present). libnl-route-3's functions
// are resolved at run time by MacvtapNetlink (dlopen), so only `host-shim` loads libnl and the
// tool runs where it is not installed; their signatures are written out there.
#include <sys/socket.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/if_link.h>
