internal import CLibXML2

/// One-time, process-wide libxml2 configuration.
///
/// Runs before the first parser or schema is created. Swift initialises global `let`s exactly
/// once, even when many threads race to the first use.
enum LibXML2Runtime {
    static let ready: Void = {
        xmlInitParser()
        // Entities and DTDs are never loaded by our parse options; this is the second fence,
        // for anything else that would resolve a URI (schema includes are local files).
        xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader)
        // Errors are delivered to the structured handler of each context; the global one only
        // catches stray reports so that libxml2 never prints to our users' stderr.
        xmlThrDefSetStructuredErrorFunc(nil, discardStructuredError)
        xmlSetStructuredErrorFunc(nil, discardStructuredError)
        xmlThrDefSetGenericErrorFunc(nil, virt_macvtap_silent_generic_error_handler())
        xmlSetGenericErrorFunc(nil, virt_macvtap_silent_generic_error_handler())
        // The RelaxNG datatype libraries are registered lazily by the first schema compiled, and
        // that registration is not thread-safe: two schemas compiled at once printed
        // "Relax-NG types library failed to register". Register them here, once.
        _ = xmlRelaxNGInitTypes()
        // The XML Schema datatypes behind that library (`unsignedInt`, `positiveInteger`, …) are
        // built lazily by the first schema that names one, without a lock: two schemas compiling
        // at once (domain.rng and ours at start-up, network.rng on the first network) could each
        // rebuild the table while the other read it, and a compile then failed with "type
        // 'unsignedInt' is not exported by type library" (seen in 2 of 5 CI runs). Build it here.
        xmlSchemaInitTypes()
    }()

    /// libxml2's error handlers are thread-local; call this on the thread that is about to use it.
    static func prepareCurrentThread() {
        _ = ready
        xmlSetStructuredErrorFunc(nil, discardStructuredError)
        xmlSetGenericErrorFunc(nil, virt_macvtap_silent_generic_error_handler())
    }

    /// libxml2 reports its version as digits, e.g. "20914" for 2.9.14.
    static var versionString: String {
        guard let raw = __xmlParserVersion().pointee.map({ String(cString: $0) }), let number = Int(raw) else {
            return "unknown"
        }
        return "\(number / 10_000).\(number / 100 % 100).\(number % 100)"
    }
}

private let discardStructuredError: xmlStructuredErrorFunc = { _, _ in }

/// libxml2 exposes `xmlFree` as a mutable global function pointer; read it once through
/// `xmlMemGet` (which reports the allocator libxml2 actually uses) instead of touching the var.
let libxmlFree: xmlFreeFunc = {
    var free: xmlFreeFunc?
    var malloc: xmlMallocFunc?
    var realloc: xmlReallocFunc?
    var strdup: xmlStrdupFunc?
    _ = xmlMemGet(&free, &malloc, &realloc, &strdup)
    return free!
}()

/// Frees memory that libxml2 allocated and handed to us.
func freeXML(_ pointer: UnsafeMutableRawPointer?) {
    libxmlFree(pointer)
}
