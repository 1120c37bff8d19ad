internal import CLibXML2

/// A parsed XML document that owns its libxml2 tree and the exact bytes it came from.
///
/// Every element parsed from the main input knows its byte span in `source`, recorded by
/// wrapping libxml2's SAX2 element callbacks. Edits splice those spans, so everything outside
/// the edited element stays byte-for-byte as the user wrote it.
public final class XMLDocument {
    /// The name used in diagnostics (a path, or `<stdin>`).
    public let fileName: String
    /// The bytes that were parsed, unchanged.
    public let source: [UInt8]
    /// Warnings libxml2 reported while parsing a document that is still well-formed.
    public let warnings: [XMLDiagnostic]
    /// False when the document's bytes are not UTF-8 (a declared legacy encoding or UTF-16):
    /// libxml2 then parses a converted copy, and positions in it do not map onto `source`.
    public let hasByteSpans: Bool

    let pointer: xmlDocPtr
    let spans: [ElementSpan]
    private lazy var lineStarts: [Int] = Self.lineStartOffsets(source)

    /// Parser options: never touch the network, never substitute entities or load external
    /// DTDs (XXE, billion laughs), keep line numbers past 65535, keep CDATA and blanks (lossless).
    static let parseOptions: Int32 = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue)

    public convenience init(bytes: [UInt8], fileName: String) throws(XMLParseError) {
        try self.init(parsing: bytes, fileName: fileName)
    }

    private init(parsing bytes: [UInt8], fileName: String) throws(XMLParseError) {
        LibXML2Runtime.prepareCurrentThread()
        guard bytes.count < Int(Int32.max) else {
            throw XMLParseError(
                file: fileName,
                diagnostics: [
                    XMLDiagnostic(
                        file: fileName, position: SourcePosition(line: 1, column: 1), severity: .fatal,
                        message: "file is larger than 2 GiB; libxml2 cannot parse it from memory")
                ])
        }
        if bytes.isEmpty {
            throw XMLParseError(
                file: fileName,
                diagnostics: [
                    XMLDiagnostic(
                        file: fileName, position: SourcePosition(line: 1, column: 1), severity: .fatal,
                        message: "empty file: expected an XML document")
                ])
        }
        let recorder = SpanRecorder(source: bytes, fileName: fileName)
        let parsed: xmlDocPtr? = bytes.withUnsafeBufferPointer { buffer -> xmlDocPtr? in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            guard let context = xmlCreateMemoryParserCtxt(base, Int32(buffer.count)) else { return nil }
            defer { xmlFreeParserCtxt(context) }
            recorder.context = context
            let unmanaged = Unmanaged.passUnretained(recorder)
            context.pointee._private = unmanaged.toOpaque()
            if let sax = context.pointee.sax {
                sax.pointee.startElementNs = recordElementStart
                sax.pointee.endElementNs = recordElementEnd
                sax.pointee.serror = collectParserError
            }
            xmlCtxtUseOptions(context, Self.parseOptions)
            _ = xmlParseDocument(context)
            let document = context.pointee.myDoc
            context.pointee.myDoc = nil
            recorder.context = nil
            if context.pointee.wellFormed == 0 {
                if let document { xmlFreeDoc(document) }
                return nil
            }
            return document
        }
        withExtendedLifetime(recorder) {}
        let failures = recorder.diagnostics.filter { $0.severity != .warning }
        guard let parsed, failures.isEmpty else {
            if let parsed { xmlFreeDoc(parsed) }
            var diagnostics = recorder.diagnostics
            if diagnostics.isEmpty {
                diagnostics = [
                    XMLDiagnostic(
                        file: fileName, position: SourcePosition(line: 1, column: 1), severity: .fatal,
                        message: "not a well-formed XML document")
                ]
            }
            throw XMLParseError(file: fileName, diagnostics: diagnostics)
        }
        self.fileName = fileName
        self.source = bytes
        self.pointer = parsed
        self.spans = recorder.spans
        self.warnings = recorder.diagnostics
        self.hasByteSpans = recorder.spansAreReliable && Self.isUTF8(parsed)
    }

    deinit {
        xmlFreeDoc(pointer)
    }

    /// The root element, if the document has one.
    public var root: XMLElement? {
        xmlDocGetRootElement(pointer).map { XMLElement(document: self, node: $0) }
    }

    /// The document as libxml2 serializes it (what a round trip through libxml2 gives).
    public func serialized() -> [UInt8] {
        LibXML2Runtime.prepareCurrentThread()
        var memory: UnsafeMutablePointer<xmlChar>?
        var size: Int32 = 0
        xmlDocDumpMemory(pointer, &memory, &size)
        guard let memory else { return [] }
        defer { freeXML(memory) }
        return Array(UnsafeBufferPointer(start: memory, count: Int(size)))
    }

    /// Canonical XML 1.0 with comments: equal for two documents with the same information.
    public func canonicalForm() throws(XMLParseError) -> [UInt8] {
        LibXML2Runtime.prepareCurrentThread()
        var memory: UnsafeMutablePointer<xmlChar>?
        let size = xmlC14NDocDumpMemory(pointer, nil, Int32(XML_C14N_1_0.rawValue), nil, 1, &memory)
        guard size >= 0, let memory else {
            throw XMLParseError(
                file: fileName,
                diagnostics: [
                    XMLDiagnostic(
                        file: fileName, position: .unknown, severity: .error,
                        message: "libxml2 could not write the canonical form of this document")
                ])
        }
        defer { freeXML(memory) }
        return Array(UnsafeBufferPointer(start: memory, count: Int(size)))
    }

    /// Every comment in the document, in document order (prolog, body and epilog).
    public var comments: [String] {
        var result: [String] = []
        func visit(_ first: xmlNodePtr?) {
            var node = first
            while let current = node {
                if current.pointee.type == XML_COMMENT_NODE, let content = current.pointee.content {
                    result.append(String(cString: content))
                } else if current.pointee.type == XML_ELEMENT_NODE {
                    visit(current.pointee.children)
                }
                node = current.pointee.next
            }
        }
        visit(pointer.pointee.children)
        return result
    }

    /// Elements whose directly preceding comments contain `marker`, with those comments.
    public func elements(precededByCommentContaining marker: String) -> [(element: XMLElement, comments: [String])] {
        var result: [(XMLElement, [String])] = []
        var stack = root.map { [$0] } ?? []
        while let element = stack.popLast() {
            let comments = element.precedingComments.filter { $0.contains(marker) }
            if !comments.isEmpty { result.append((element, comments)) }
            stack.append(contentsOf: element.children)
        }
        return result
    }

    /// The 1-based line and column (in Unicode code points, as SARIF's `unicodeCodePoints`) of a
    /// byte offset into `source`.
    public func position(ofByteOffset offset: Int) -> SourcePosition {
        var low = 0
        var high = lineStarts.count
        while low + 1 < high {
            let middle = (low + high) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle }
        }
        // UTF-8 continuation bytes (10xxxxxx) do not start a code point.
        var column = 1
        for index in lineStarts[low]..<min(offset, source.count) where source[index] & 0xC0 != 0x80 { column += 1 }
        return SourcePosition(line: low + 1, column: column)
    }

    private static func lineStartOffsets(_ bytes: [UInt8]) -> [Int] {
        var starts = [0]
        starts.reserveCapacity(bytes.count / 40 + 1)
        bytes.withUnsafeBufferPointer { buffer in
            for index in buffer.indices where buffer[index] == UInt8(ascii: "\n") {
                starts.append(index + 1)
            }
        }
        return starts
    }

    private static func isUTF8(_ document: xmlDocPtr) -> Bool {
        guard let encoding = document.pointee.encoding else { return true }
        let name = String(cString: encoding).uppercased()
        return name == "UTF-8" || name == "UTF8" || name == "US-ASCII" || name == "ASCII"
    }
}

/// Where an element's bytes are in the source: `start` is its `<`, `startTagEnd` is just past
/// the start tag's `>` (or `/>`), `end` is just past the end tag's `>`.
struct ElementSpan {
    var start: Int
    var startTagEnd: Int
    var end: Int
}

/// Collects spans and errors during one parse; reached from libxml2 callbacks through the
/// parser context's `_private` field.
final class SpanRecorder {
    let source: [UInt8]
    let fileName: String
    var context: xmlParserCtxtPtr?
    var spans: [ElementSpan] = []
    var diagnostics: [XMLDiagnostic] = []
    var spansAreReliable = true

    init(source: [UInt8], fileName: String) {
        self.source = source
        self.fileName = fileName
        spans.reserveCapacity(64)
    }

    /// The absolute byte offset of the parser's current position in the main input, or nil
    /// while libxml2 is reading something else (entity content).
    func currentOffset(_ parser: xmlParserCtxtPtr) -> Int? {
        guard parser == context, parser.pointee.inputNr == 1, let input = parser.pointee.input,
            let cur = input.pointee.cur, let base = input.pointee.base
        else { return nil }
        return Int(input.pointee.consumed) + (cur - base)
    }

    func elementStarted(_ parser: xmlParserCtxtPtr) {
        guard let node = parser.pointee.node, let offset = currentOffset(parser), offset <= source.count else {
            return
        }
        // libxml2 calls startElementNs with the input at the start tag's closing `>` or `/>`.
        // An attribute value cannot contain a literal `<`, so the nearest one before is the tag's.
        var start = offset - 1
        while start >= 0 && source[start] != UInt8(ascii: "<") { start -= 1 }
        guard start >= 0 else {
            spansAreReliable = false
            return
        }
        let closesImmediately = offset < source.count && source[offset] == UInt8(ascii: "/")
        let startTagEnd = offset + (closesImmediately ? 2 : 1)
        spans.append(ElementSpan(start: start, startTagEnd: startTagEnd, end: startTagEnd))
        node.pointee._private = UnsafeMutableRawPointer(bitPattern: spans.count)
    }

    func elementEnded(_ parser: xmlParserCtxtPtr) {
        guard let node = parser.pointee.node, let index = Self.spanIndex(of: node),
            let offset = currentOffset(parser)
        else { return }
        spans[index].end = offset
    }

    static func spanIndex(of node: xmlNodePtr) -> Int? {
        guard let marker = node.pointee._private else { return nil }
        return Int(bitPattern: marker) - 1
    }
}

private func recorder(from userData: UnsafeMutableRawPointer?) -> (SpanRecorder, xmlParserCtxtPtr)? {
    guard let userData else { return nil }
    let parser = userData.assumingMemoryBound(to: xmlParserCtxt.self)
    guard let marker = parser.pointee._private else { return nil }
    return (Unmanaged<SpanRecorder>.fromOpaque(marker).takeUnretainedValue(), parser)
}

private let recordElementStart: startElementNsSAX2Func = {
    userData, localName, prefix, uri, namespaceCount, namespaces, attributeCount, defaultedCount, attributes in
    xmlSAX2StartElementNs(
        userData, localName, prefix, uri, namespaceCount, namespaces, attributeCount, defaultedCount, attributes)
    guard let (recorder, parser) = recorder(from: userData) else { return }
    recorder.elementStarted(parser)
}

private let recordElementEnd: endElementNsSAX2Func = { userData, localName, prefix, uri in
    // The end offset must be read while the parser's node is still the closing element.
    if let (recorder, parser) = recorder(from: userData) {
        recorder.elementEnded(parser)
    }
    xmlSAX2EndElementNs(userData, localName, prefix, uri)
}

private let collectParserError: xmlStructuredErrorFunc = { userData, error in
    guard let error, let (recorder, _) = recorder(from: userData) else { return }
    let diagnostic = XMLDiagnostic(error, file: recorder.fileName, position: nil)
    // After a fatal error libxml2 may report the same thing again, here or further on.
    if !recorder.diagnostics.contains(where: { $0.message == diagnostic.message }) {
        recorder.diagnostics.append(diagnostic)
    }
}
