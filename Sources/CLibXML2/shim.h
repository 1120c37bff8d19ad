#ifndef VIRT_MACVTAP_CLIBXML2_SHIM_H
#define VIRT_MACVTAP_CLIBXML2_SHIM_H
/* libxml2's encoding.h pulls ICU headers when LIBXML_ICU_ENABLED is set; those clash with
 * Foundation's _FoundationICU ("'UErrorCode' has different definitions"). We never use
 * libxml2's ICU converters, so hide them before any other libxml2 header is read. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>
#include <libxml/c14n.h>
#include <libxml/relaxng.h>
#include <libxml/xmlschemastypes.h>
#include <libxml/xmlIO.h>
#include <libxml/globals.h>

/* libxml2's generic error handler is variadic, which Swift cannot define. Some reports still go
 * through it (RelaxNG type registration, I/O), and its default prints to stderr: route them here. */
static inline void virt_macvtap_discard_generic_error(void *context, const char *message, ...) {
    (void)context;
    (void)message;
}

static inline xmlGenericErrorFunc virt_macvtap_silent_generic_error_handler(void) {
    return virt_macvtap_discard_generic_error;
}
#endif
