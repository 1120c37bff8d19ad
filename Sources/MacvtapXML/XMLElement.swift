internal import CLibXML2

/// A read-only view of one element of an `XMLDocument`. It keeps its document alive; the
/// libxml2 node never leaves this module.
public struct XMLElement {
    public let document: XMLDocument
    let node: xmlNodePtr

    init(document: XMLDocument, node: xmlNodePtr) {
        self.document = document
        self.node = node
    }

    /// The local name, without a namespace prefix.
    public var name: String {
        node.pointee.name.map { String(cString: $0) } ?? ""
    }

    /// The name as written: `prefix:local` for namespaced elements.
    public var qualifiedName: String {
        if let namespace = node.pointee.ns, let prefix = namespace.pointee.prefix {
            return String(cString: prefix) + ":" + name
        }
        return name
    }

    /// The namespace URI, or nil for elements in no namespace (all of libvirt's own elements).
    public var namespaceURI: String? {
        node.pointee.ns?.pointee.href.map { String(cString: $0) }
    }

    /// Child elements in document order (text, comments and processing instructions skipped).
    public var children: [XMLElement] {
        var result: [XMLElement] = []
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE {
                result.append(XMLElement(document: document, node: current))
            }
            child = current.pointee.next
        }
        return result
    }

    public func children(named name: String) -> [XMLElement] {
        children.filter { $0.name == name && $0.namespaceURI == nil }
    }

    public func firstChild(named name: String) -> XMLElement? {
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE, current.pointee.ns == nil,
                let childName = current.pointee.name, xmlStrEqual(childName, name) != 0
            {
                return XMLElement(document: document, node: current)
            }
            child = current.pointee.next
        }
        return nil
    }

    public var parent: XMLElement? {
        guard let parent = node.pointee.parent, parent.pointee.type == XML_ELEMENT_NODE else { return nil }
        return XMLElement(document: document, node: parent)
    }

    /// Attributes in document order, with their values as the parser resolved them.
    public var attributes: [XMLAttribute] {
        var result: [XMLAttribute] = []
        var attribute = node.pointee.properties
        while let current = attribute {
            let localName = current.pointee.name.map { String(cString: $0) } ?? ""
            var qualified = localName
            if let namespace = current.pointee.ns, let prefix = namespace.pointee.prefix {
                qualified = String(cString: prefix) + ":" + localName
            }
            var value = ""
            if let text = xmlNodeListGetString(node.pointee.doc, current.pointee.children, 1) {
                value = String(cString: text)
                freeXML(text)
            }
            result.append(
                XMLAttribute(
                    name: qualified, value: value,
                    position: attributePosition(qualifiedName: qualified) ?? position))
            attribute = current.pointee.next
        }
        return result
    }

    /// The value of an attribute without a namespace, or nil when absent.
    public func attribute(_ name: String) -> String? {
        guard let value = xmlGetNoNsProp(node, name) else { return nil }
        defer { freeXML(value) }
        return String(cString: value)
    }

    public func hasAttribute(_ name: String) -> Bool {
        xmlHasNsProp(node, name, nil) != nil
    }

    /// All text inside the element, entities resolved.
    public var textContent: String {
        guard let content = xmlNodeGetContent(node) else { return "" }
        defer { freeXML(content) }
        return String(cString: content)
    }

    /// Where the element's start tag begins.
    public var position: SourcePosition {
        if let span = span {
            return document.position(ofByteOffset: span.start)
        }
        return SourcePosition(line: Int(xmlGetLineNo(node)), column: 1)
    }

    /// Where the element's last `>` is (its end tag, or the `/>` of an empty element).
    public var endPosition: SourcePosition {
        if let span = span { return document.position(ofByteOffset: max(span.end - 1, span.start)) }
        return position
    }

    /// The text of the comments directly before this element (only whitespace between), nearest last.
    public var precedingComments: [String] {
        var comments: [String] = []
        var sibling = node.pointee.prev
        while let current = sibling {
            if current.pointee.type == XML_COMMENT_NODE {
                if let content = current.pointee.content { comments.insert(String(cString: content), at: 0) }
            } else if current.pointee.type != XML_TEXT_NODE || xmlIsBlankNode(current) == 0 {
                break
            }
            sibling = current.pointee.prev
        }
        return comments
    }

    /// Where the attribute's name is written in the start tag, or nil if the element has no span.
    public func position(ofAttribute name: String) -> SourcePosition? {
        attributePosition(qualifiedName: name)
    }

    /// The element's bytes in `document.source`: from its `<` to just past its last `>`.
    public var byteRange: Range<Int>? {
        span.map { $0.start..<$0.end }
    }

    /// The byte range of the start tag alone.
    public var startTagRange: Range<Int>? {
        span.map { $0.start..<$0.startTagEnd }
    }

    var span: ElementSpan? {
        guard document.hasByteSpans, let index = SpanRecorder.spanIndex(of: node),
            index >= 0, index < document.spans.count
        else { return nil }
        return document.spans[index]
    }

    private func attributePosition(qualifiedName: String) -> SourcePosition? {
        guard let span = span,
            let offset = StartTagScanner.offset(
                ofAttribute: Array(qualifiedName.utf8), in: document.source, tag: span.start..<span.startTagEnd)
        else { return nil }
        return document.position(ofByteOffset: offset)
    }
}

/// One attribute of an element, with where its name is written.
public struct XMLAttribute: Sendable, Hashable {
    public var name: String
    public var value: String
    public var position: SourcePosition
}

/// Finds attribute names inside a start tag's bytes, skipping over quoted values.
enum StartTagScanner {
    static func offset(ofAttribute name: [UInt8], in source: [UInt8], tag: Range<Int>) -> Int? {
        var index = tag.lowerBound + 1
        // Skip the element name.
        while index < tag.upperBound, !isSpace(source[index]), source[index] != UInt8(ascii: ">"),
            source[index] != UInt8(ascii: "/")
        {
            index += 1
        }
        while index < tag.upperBound {
            while index < tag.upperBound, isSpace(source[index]) { index += 1 }
            let nameStart = index
            while index < tag.upperBound, !isSpace(source[index]), source[index] != UInt8(ascii: "="),
                source[index] != UInt8(ascii: ">"), source[index] != UInt8(ascii: "/")
            {
                index += 1
            }
            guard index > nameStart else { return nil }
            if source[nameStart..<index].elementsEqual(name) { return nameStart }
            while index < tag.upperBound, source[index] != UInt8(ascii: "\""), source[index] != UInt8(ascii: "'") {
                index += 1
            }
            guard index < tag.upperBound else { return nil }
            let quote = source[index]
            index += 1
            while index < tag.upperBound, source[index] != quote { index += 1 }
            index += 1
        }
        return nil
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}

extension XMLElement {
    /// The bytes of an attribute's value in `document.source`, between its quotes, as
    /// written (entities not expanded); nil when the attribute is absent or spans are unknown.
    public func valueRange(ofAttribute qualifiedName: String) -> Range<Int>? {
        guard let span = span,
            var index = StartTagScanner.offset(
                ofAttribute: Array(qualifiedName.utf8), in: document.source, tag: span.start..<span.startTagEnd)
        else { return nil }
        let source = document.source
        while index < span.startTagEnd, source[index] != UInt8(ascii: "\""), source[index] != UInt8(ascii: "'") {
            index += 1
        }
        guard index < span.startTagEnd else { return nil }
        let quote = source[index]
        let start = index + 1
        var end = start
        while end < span.startTagEnd, source[end] != quote { end += 1 }
        return end < span.startTagEnd ? start..<end : nil
    }

    /// The byte range of an attribute's name in the start tag.
    public func nameRange(ofAttribute qualifiedName: String) -> Range<Int>? {
        guard let span = span,
            let start = StartTagScanner.offset(
                ofAttribute: Array(qualifiedName.utf8), in: document.source, tag: span.start..<span.startTagEnd)
        else { return nil }
        return start..<(start + qualifiedName.utf8.count)
    }

    /// The bytes a removal of the attribute takes: the whitespace before its name through the
    /// closing quote of its value.
    public func removalRange(ofAttribute qualifiedName: String) -> Range<Int>? {
        guard let name = nameRange(ofAttribute: qualifiedName), let value = valueRange(ofAttribute: qualifiedName) else { return nil }
        var start = name.lowerBound
        let source = document.source
        while start > 0,
            source[start - 1] == UInt8(ascii: " ") || source[start - 1] == UInt8(ascii: "\t")
                || source[start - 1] == UInt8(ascii: "\n") || source[start - 1] == UInt8(ascii: "\r")
        {
            start -= 1
        }
        return start..<(value.upperBound + 1)
    }

    /// This element and every element inside it, in document order.
    public var selfAndDescendants: [XMLElement] {
        [self] + children.flatMap(\.selfAndDescendants)
    }
}

extension XMLElementSpec {
    /// A copy of `element` and everything inside it, to change and write out again (a device's
    /// XML sent back to libvirt). Comments and whitespace between elements are not carried;
    /// the text of an element without child elements is.
    public init(copying element: XMLElement) {
        let children = element.children
        self.init(
            element.qualifiedName, attributes: element.attributes.map { ($0.name, $0.value) },
            children: children.map(XMLElementSpec.init(copying:)),
            text: children.isEmpty && !element.textContent.isEmpty ? element.textContent : nil)
    }

    /// The first child element named `name`.
    public func firstChild(named name: String) -> XMLElementSpec? {
        children.first { $0.name == name }
    }

    /// The value of attribute `name`, or nil.
    public func attribute(_ name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }

    /// Sets attribute `name` (in place when present, else appended); nil removes it.
    public mutating func setAttribute(_ name: String, to value: String?) {
        if let index = attributes.firstIndex(where: { $0.name == name }) {
            if let value { attributes[index].value = value } else { attributes.remove(at: index) }
        } else if let value {
            attributes.append((name, value))
        }
    }

    /// Replaces the first child named `name` with `child` (appending it when there is none);
    /// nil removes every child of that name.
    public mutating func setChild(_ name: String, to child: XMLElementSpec?) {
        guard let child else {
            children.removeAll { $0.name == name }
            return
        }
        if let index = children.firstIndex(where: { $0.name == name }) {
            children[index] = child
        } else {
            children.append(child)
        }
    }
}
