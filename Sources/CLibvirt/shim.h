#ifndef VIRT_MACVTAP_CLIBVIRT_SHIM_H
#define VIRT_MACVTAP_CLIBVIRT_SHIM_H
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif
