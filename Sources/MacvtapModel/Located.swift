public import MacvtapXML

/// A value read from a document, with where it was written.
public struct Located<Value: Sendable & Hashable>: Sendable, Hashable {
    public var value: Value
    public var position: SourcePosition

    public init(_ value: Value, at position: SourcePosition) {
        self.value = value
        self.position = position
    }
}

extension Located: Codable where Value: Codable {}

/// A plain-Swift snapshot of an element subtree: name, attributes and children with positions.
/// Rules use it for the parts of an interface that have no dedicated field.
public struct ElementRecord: Sendable, Hashable {
    public var name: String
    public var attributes: [XMLAttribute]
    public var position: SourcePosition
    public var children: [ElementRecord]
    public var text: String

    public init(_ element: XMLElement) {
        name = element.qualifiedName
        attributes = element.attributes
        position = element.position
        children = element.children.map(ElementRecord.init)
        text = children.isEmpty ? element.textContent : ""
    }

    public func attribute(_ name: String) -> Located<String>? {
        attributes.first { $0.name == name }.map { Located($0.value, at: $0.position) }
    }

    public func children(named name: String) -> [ElementRecord] {
        children.filter { $0.name == name }
    }

    public func firstChild(named name: String) -> ElementRecord? {
        children.first { $0.name == name }
    }
}
