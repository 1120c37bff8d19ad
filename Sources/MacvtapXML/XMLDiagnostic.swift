internal import CLibXML2

/// A position in a source document: 1-based line and 1-based column in Unicode code points.
public struct SourcePosition: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static let unknown = SourcePosition(line: 0, column: 0)

    public static func < (lhs: SourcePosition, rhs: SourcePosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    public var description: String { "\(line):\(column)" }
}

/// One error or warning reported by libxml2 (parser or RelaxNG validator), kept as a value.
public struct XMLDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case warning, error, fatal
    }

    public var file: String
    public var position: SourcePosition
    public var severity: Severity
    /// libxml2's `xmlErrorDomain` and `xmlParserErrors` numbers, kept so callers can branch on them.
    public var domain: Int
    public var code: Int
    public var message: String
    /// For validity errors: the qualified name of the element the error is about.
    public var elementName: String?

    public init(
        file: String, position: SourcePosition, severity: Severity, domain: Int = 0, code: Int = 0,
        message: String, elementName: String? = nil
    ) {
        self.file = file
        self.position = position
        self.severity = severity
        self.domain = domain
        self.code = code
        self.message = message
        self.elementName = elementName
    }

    public var description: String {
        "\(file):\(position.line):\(position.column): \(severity.rawValue): \(message)"
    }
}

extension XMLDiagnostic {
    /// Copies what we need out of libxml2's error, which is only valid during the callback.
    init(_ error: UnsafePointer<xmlError>, file: String, position: SourcePosition?) {
        let raw = error.pointee
        let message = raw.message.map { String(cString: $0) } ?? "unknown libxml2 error"
        let severity: Severity =
            switch raw.level {
            case XML_ERR_WARNING: .warning
            case XML_ERR_FATAL: .fatal
            default: .error
            }
        var elementName: String?
        if let node = raw.node?.assumingMemoryBound(to: xmlNode.self), node.pointee.type == XML_ELEMENT_NODE,
            let name = node.pointee.name
        {
            elementName = String(cString: name)
        }
        self.init(
            file: file,
            position: position ?? SourcePosition(line: Int(raw.line), column: Int(max(raw.int2, 0))),
            severity: severity,
            domain: Int(raw.domain),
            code: Int(raw.code),
            message: Self.readable(message, code: raw.code),
            elementName: elementName
        )
    }

    /// One line (libxml2 appends the offending bytes on a second line), and our own words for
    /// the reports whose libxml2 text suggests the wrong remedy or none.
    static func readable(_ message: String, code: Int32) -> String {
        let oneLine = message.split(whereSeparator: \.isNewline).map { String($0).trimmingWhitespace() }
            .filter { !$0.isEmpty }.joined(separator: "; ")
        if code == Int32(XML_ERR_ENTITY_LOOP.rawValue) {
            return "entity references expand without end (an entity loop or a 'billion laughs' document); "
                + "nothing was expanded"
        }
        if oneLine.hasPrefix("Excessive depth in document") {
            // libxml2 suggests XML_PARSE_HUGE, which neither we nor libvirt set.
            return "elements are nested more than 256 levels deep; libxml2, and so libvirt, refuses such a document"
        }
        if oneLine.hasPrefix("Char 0x0 out of allowed range") {
            return "a NUL byte (0x00) is not allowed anywhere in XML"
        }
        if oneLine.hasPrefix("Input is not proper UTF-8") {
            let bytes = oneLine.firstRange(of: "Bytes: ").map { " (bytes \(oneLine[$0.upperBound...]))" } ?? ""
            return "the text is not valid UTF-8\(bytes); save the file as UTF-8 or declare its encoding in <?xml … encoding='…'?>"
        }
        return oneLine
    }
}

extension String {
    package func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        return String(scalars)
    }
}

/// The document could not be parsed: it is not well-formed, or could not be read.
public struct XMLParseError: Error, Sendable, CustomStringConvertible {
    public var file: String
    /// Every error libxml2 reported, first one first.
    public var diagnostics: [XMLDiagnostic]

    public var description: String {
        guard let first = diagnostics.first(where: { $0.severity != .warning }) ?? diagnostics.first else {
            return "\(file): not a well-formed XML document"
        }
        return "\(first.file):\(first.position.line):\(first.position.column): \(first.message)"
    }
}
