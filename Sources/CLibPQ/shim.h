#ifndef VIRT_MACVTAP_CLIBPQ_SHIM_H
#define VIRT_MACVTAP_CLIBPQ_SHIM_H
/* Headers only (libpq-dev): libpq.so.5 is loaded on first use (MacvtapPostgres's PostgresAPI). */
#include <postgresql/libpq-fe.h>
#endif
