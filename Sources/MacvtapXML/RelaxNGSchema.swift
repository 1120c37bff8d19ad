internal import CLibXML2
import Synchronization

/// A RelaxNG schema compiled once and shared by every thread.
///
/// The compiled grammar is only read during validation. Validation contexts are not
/// thread-safe, so each validation borrows one from a pool and returns it: a context is never
/// used by two threads at once, and at most one exists per thread validating concurrently.
public final class RelaxNGSchema: @unchecked Sendable {
    // @unchecked: `schema` is immutable after init and libxml2 only reads it while validating;
    // the contexts are mutable and guarded by `pool`.
    public let path: String
    private let schema: xmlRelaxNGPtr
    private let pool = Mutex<[ValidationContext]>([])

    /// Compiles the schema at `path`, following its local includes.
    public init(contentsOfFile path: String) throws(XMLParseError) {
        LibXML2Runtime.prepareCurrentThread()
        let collector = DiagnosticCollector(file: path)
        var compiled: xmlRelaxNGPtr?
        if let parser = xmlRelaxNGNewParserCtxt(path) {
            xmlRelaxNGSetParserStructuredErrors(parser, collectValidityError, Unmanaged.passUnretained(collector).toOpaque())
            compiled = xmlRelaxNGParse(parser)
            xmlRelaxNGFreeParserCtxt(parser)
        }
        withExtendedLifetime(collector) {}
        guard let compiled else {
            var diagnostics = collector.diagnostics
            if diagnostics.isEmpty {
                diagnostics = [
                    XMLDiagnostic(
                        file: path, position: .unknown, severity: .fatal,
                        message: "cannot compile the RelaxNG schema")
                ]
            }
            throw XMLParseError(file: path, diagnostics: diagnostics)
        }
        self.path = path
        self.schema = compiled
    }

    deinit {
        pool.withLock { contexts in
            for context in contexts { xmlRelaxNGFreeValidCtxt(context.pointer) }
            contexts.removeAll()
        }
        xmlRelaxNGFree(schema)
    }

    /// Validates a whole document. An empty result means it is valid.
    public func validate(_ document: XMLDocument) -> [XMLDiagnostic] {
        withContext { context, collector in
            collector.document = document
            _ = xmlRelaxNGValidateDoc(context, document.pointer)
        }
    }

    /// Validates one element as if it were the root of its own document: a copy of its subtree
    /// is validated, and positions point back into the original document.
    public func validate(_ element: XMLElement) -> [XMLDiagnostic] {
        LibXML2Runtime.prepareCurrentThread()
        guard let standalone = xmlNewDoc("1.0") else { return [] }
        defer { xmlFreeDoc(standalone) }
        guard let copy = xmlDocCopyNode(element.node, standalone, 1) else { return [] }
        Self.copySpanMarkers(from: element.node, to: copy)
        xmlDocSetRootElement(standalone, copy)
        return withContext { context, collector in
            collector.document = element.document
            _ = xmlRelaxNGValidateDoc(context, standalone)
        }
    }

    private func withContext(_ body: (xmlRelaxNGValidCtxtPtr, DiagnosticCollector) -> Void) -> [XMLDiagnostic] {
        LibXML2Runtime.prepareCurrentThread()
        let borrowed = pool.withLock { $0.popLast() }
        guard let context = borrowed ?? xmlRelaxNGNewValidCtxt(schema).map(ValidationContext.init) else {
            return [
                XMLDiagnostic(
                    file: path, position: .unknown, severity: .fatal, message: "out of memory creating a validator")
            ]
        }
        let collector = DiagnosticCollector(file: "")
        xmlRelaxNGSetValidStructuredErrors(
            context.pointer, collectValidityError, Unmanaged.passUnretained(collector).toOpaque())
        body(context.pointer, collector)
        xmlRelaxNGSetValidStructuredErrors(context.pointer, nil, nil)
        withExtendedLifetime(collector) {}
        pool.withLock { $0.append(context) }
        return collector.diagnostics
    }

    /// Copies carry libxml2's line numbers but not our span markers; give them back so errors
    /// in the copy report columns in the original.
    private static func copySpanMarkers(from original: xmlNodePtr, to copy: xmlNodePtr) {
        copy.pointee._private = original.pointee._private
        var originalChild = original.pointee.children
        var copyChild = copy.pointee.children
        while let originalNode = originalChild, let copyNode = copyChild {
            if originalNode.pointee.type == XML_ELEMENT_NODE {
                copySpanMarkers(from: originalNode, to: copyNode)
            }
            originalChild = originalNode.pointee.next
            copyChild = copyNode.pointee.next
        }
    }
}

/// A libxml2 validation context; only ever used by one thread at a time (see `RelaxNGSchema`).
private struct ValidationContext: @unchecked Sendable {
    let pointer: xmlRelaxNGValidCtxtPtr
}

final class DiagnosticCollector {
    let file: String
    var document: XMLDocument?
    var diagnostics: [XMLDiagnostic] = []

    init(file: String) {
        self.file = file
    }

    func append(_ error: UnsafePointer<xmlError>) {
        var position: SourcePosition?
        if let document, let node = error.pointee.node?.assumingMemoryBound(to: xmlNode.self),
            node.pointee.type == XML_ELEMENT_NODE
        {
            position = XMLElement(document: document, node: node).position
        }
        diagnostics.append(XMLDiagnostic(error, file: document?.fileName ?? file, position: position))
    }
}

private let collectValidityError: xmlStructuredErrorFunc = { userData, error in
    guard let userData, let error else { return }
    Unmanaged<DiagnosticCollector>.fromOpaque(userData).takeUnretainedValue().append(error)
}
