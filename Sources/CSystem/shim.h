#ifndef VIRT_MACVTAP_CSYSTEM_SHIM_H
#define VIRT_MACVTAP_CSYSTEM_SHIM_H
/* glibc's GNU scheduling calls and CPU-set macros, which Swift's Glibc module does not import. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>

/* The CPU the calling thread runs on, or -1. */
static inline int virt_macvtap_current_cpu(void) { return sched_getcpu(); }

/* A CPU the process may run on other than `avoid`, or -1 when there is none. */
static inline int virt_macvtap_other_allowed_cpu(int avoid) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (cpu != avoid && CPU_ISSET(cpu, &allowed)) return cpu;
    }
    return -1;
}

/* Thread attributes that start the thread on `cpu` only. */
static inline int virt_macvtap_attr_pin(pthread_attr_t *attributes, int cpu) {
    cpu_set_t only;
    CPU_ZERO(&only);
    CPU_SET(cpu, &only);
    return pthread_attr_setaffinity_np(attributes, sizeof only, &only);
}

/* Lets the calling thread run on every CPU the process may use. */
static inline int virt_macvtap_unpin_current_thread(void) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    return pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);
}
#endif
