internal import CLibXML2

/// What a document's `<!DOCTYPE …>` declares. libvirt ignores DTDs and never loads external
/// entities; we never load them either, so these are reported rather than followed.
public struct DocumentTypeDeclaration: Sendable, Hashable {
    /// An `<!ENTITY …>` declaration in the internal subset.
    public struct Entity: Sendable, Hashable {
        public var name: String
        /// `<!ENTITY % name …>`: usable only inside the DTD.
        public var isParameter: Bool
        /// Declared with SYSTEM or PUBLIC: its content lives in another resource (a file, a URL).
        public var isExternal: Bool
    }

    /// Where `<!DOCTYPE` starts.
    public var position: SourcePosition
    /// The DOCTYPE names an external DTD (SYSTEM or PUBLIC identifier).
    public var hasExternalSubset: Bool
    public var entities: [Entity]
}

extension XMLDocument {
    /// The document's DOCTYPE, if it has one.
    public var documentTypeDeclaration: DocumentTypeDeclaration? {
        guard let subset = pointer.pointee.intSubset else { return nil }
        var entities: [DocumentTypeDeclaration.Entity] = []
        var child = subset.pointee.children
        while let node = child {
            if node.pointee.type == XML_ENTITY_DECL {
                let entity = UnsafeMutableRawPointer(node).assumingMemoryBound(to: xmlEntity.self).pointee
                let kind = entity.etype
                entities.append(
                    DocumentTypeDeclaration.Entity(
                        name: entity.name.map { String(cString: $0) } ?? "",
                        isParameter: kind == XML_INTERNAL_PARAMETER_ENTITY || kind == XML_EXTERNAL_PARAMETER_ENTITY,
                        isExternal: kind == XML_EXTERNAL_GENERAL_PARSED_ENTITY
                            || kind == XML_EXTERNAL_GENERAL_UNPARSED_ENTITY || kind == XML_EXTERNAL_PARAMETER_ENTITY))
            }
            child = node.pointee.next
        }
        let hasExternalSubset = subset.pointee.SystemID != nil || subset.pointee.ExternalID != nil
        return DocumentTypeDeclaration(
            position: doctypePosition, hasExternalSubset: hasExternalSubset, entities: entities)
    }

    /// libxml2 keeps no line for DTD nodes; find the keyword in the bytes (it precedes the root,
    /// so only comments or processing instructions could hold an earlier copy).
    private var doctypePosition: SourcePosition {
        guard hasByteSpans else { return SourcePosition(line: 1, column: 1) }
        let keyword = Array("<!DOCTYPE".utf8)
        let limit = spans.first?.start ?? source.count
        var index = 0
        while index + keyword.count <= limit {
            if source[index] == keyword[0], Array(source[index..<index + keyword.count]) == keyword {
                return position(ofByteOffset: index)
            }
            index += 1
        }
        return SourcePosition(line: 1, column: 1)
    }
}
