internal import CLibXML2

/// A description of an element to build: plain data that the model layer fills in.
/// `XMLFragmentWriter` turns it into libxml2 nodes, never into concatenated strings.
public struct XMLElementSpec: Sendable, Hashable {
    public var name: String
    public var attributes: [(name: String, value: String)]
    public var children: [XMLElementSpec]
    /// Text content, written before the children (escaped by libxml2).
    public var text: String?

    public init(
        _ name: String, attributes: [(name: String, value: String)] = [], children: [XMLElementSpec] = [],
        text: String? = nil
    ) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    public static func == (lhs: XMLElementSpec, rhs: XMLElementSpec) -> Bool {
        lhs.name == rhs.name && lhs.children == rhs.children && lhs.text == rhs.text
            && lhs.attributes.map(\.name) == rhs.attributes.map(\.name)
            && lhs.attributes.map(\.value) == rhs.attributes.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        for attribute in attributes {
            hasher.combine(attribute.name)
            hasher.combine(attribute.value)
        }
        hasher.combine(children)
        hasher.combine(text)
    }
}

/// A value that cannot be written into XML 1.0 at all (a control character, for instance).
public struct XMLValueError: Error, Sendable, CustomStringConvertible {
    public var element: String
    public var attribute: String
    public var value: String

    public var description: String {
        "value for \(element)/@\(attribute) contains a character XML 1.0 cannot represent: \(value.debugDescription)"
    }
}

/// Builds elements with libxml2's tree API and serializes them.
public enum XMLFragmentWriter {
    /// Serializes `spec` as one element. Children go on their own lines, indented by
    /// `indentUnit` per level below `baseIndent`; the first line carries no indentation, so the
    /// caller places it where the element goes.
    public static func serialize(
        _ spec: XMLElementSpec, baseIndent: String = "", indentUnit: String = "  "
    ) throws(XMLValueError) -> [UInt8] {
        LibXML2Runtime.prepareCurrentThread()
        guard let document = xmlNewDoc("1.0") else { return [] }
        defer { xmlFreeDoc(document) }
        let root = try build(spec, in: document, depth: 0, baseIndent: baseIndent, indentUnit: indentUnit)
        xmlDocSetRootElement(document, root)
        guard let buffer = xmlBufferCreate() else { return [] }
        defer { xmlBufferFree(buffer) }
        xmlNodeDump(buffer, document, root, 0, 0)
        guard let content = xmlBufferContent(buffer) else { return [] }
        return Array(UnsafeBufferPointer(start: content, count: Int(xmlBufferLength(buffer))))
    }

    private static func build(
        _ spec: XMLElementSpec, in document: xmlDocPtr, depth: Int, baseIndent: String, indentUnit: String
    ) throws(XMLValueError) -> xmlNodePtr {
        let node = xmlNewDocNode(document, nil, spec.name, nil)!
        for attribute in spec.attributes {
            guard isRepresentable(attribute.value) else {
                xmlFreeNode(node)
                throw XMLValueError(element: spec.name, attribute: attribute.name, value: attribute.value)
            }
            // xmlSetProp stores the raw value; the serializer escapes it, so no value can
            // close the attribute or the element.
            xmlSetProp(node, attribute.name, attribute.value)
        }
        if let text = spec.text {
            guard isRepresentable(text) else {
                xmlFreeNode(node)
                throw XMLValueError(element: spec.name, attribute: "#text", value: text)
            }
            xmlAddChild(node, xmlNewDocText(document, text))
        }
        guard !spec.children.isEmpty else { return node }
        let childIndent = "\n" + baseIndent + String(repeating: indentUnit, count: depth + 1)
        for child in spec.children {
            xmlAddChild(node, xmlNewDocText(document, childIndent))
            let childNode: xmlNodePtr
            do {
                childNode = try build(
                    child, in: document, depth: depth + 1, baseIndent: baseIndent, indentUnit: indentUnit)
            } catch {
                xmlFreeNode(node)
                throw error
            }
            xmlAddChild(node, childNode)
        }
        let closingIndent = "\n" + baseIndent + String(repeating: indentUnit, count: depth)
        xmlAddChild(node, xmlNewDocText(document, closingIndent))
        return node
    }

    /// XML 1.0 Char production: tab, newline, carriage return, and everything from U+0020
    /// except surrogates and U+FFFE/U+FFFF.
    static func isRepresentable(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy { scalar in
            switch scalar.value {
            case 0x9, 0xA, 0xD: true
            case 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
            default: false
            }
        }
    }
}
