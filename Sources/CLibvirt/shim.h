#ifndef VIRT_MACVTAP_CLIBVIRT_SHIM_H
#define VIRT_MACVTAP_CLIBVIRT_SHIM_H
/* Types and constants only: the functions are resolved at run time from libvirt.so.0
 * (MacvtapLibvirt/LibvirtAPI.swift), so commands that never talk to libvirt do not pay for
 * loading its ~50 dependent libraries, and work where libvirt0 is not installed. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <dlfcn.h>
#endif
