#ifndef VIRT_MACVTAP_CLIBPQ_SHIM_H
#define VIRT_MACVTAP_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
