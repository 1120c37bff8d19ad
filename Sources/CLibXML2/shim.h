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
#include <libxml/xmlIO.h>
#include <libxml/globals.h>
#endif
