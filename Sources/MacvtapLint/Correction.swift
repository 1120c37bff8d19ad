public import MacvtapXML

/// How safely a fix can be applied (Ruff's model).
public enum FixApplicability: String, Sendable, Hashable, Codable, Comparable {
    /// The meaning libvirt gives the file is unchanged, or becomes what the author evidently
    /// meant (a MAC in canonical form, `mode='VEPA'` → `'vepa'`, an attribute libvirt ignores
    /// removed). `lint --fix` applies it.
    case safe
    /// Changes behaviour (a new MAC, `mod=` → `mode=`, a `<model>` added). Only with
    /// `--unsafe-fixes`.
    case unsafe
    /// Shown, never applied.
    case displayOnly

    private var rank: Int {
        switch self {
        case .safe: 0
        case .unsafe: 1
        case .displayOnly: 2
        }
    }

    public static func < (lhs: FixApplicability, rhs: FixApplicability) -> Bool { lhs.rank < rhs.rank }
}

/// What a fix writes into an attribute value.
public enum CorrectionValue: Sendable, Hashable {
    case text(String)
    /// A MAC the fixer allocates when it applies the fix, against every MAC it knows.
    case freshMAC
}

/// One change a rule proposes, by position: the engine finds the bytes (`CorrectionResolver`),
/// so rules never count offsets.
public enum CorrectionEdit: Sendable, Hashable {
    /// Replace the value of the attribute whose name is at `attributeAt`.
    case replaceValue(attributeAt: SourcePosition, name: String, with: CorrectionValue)
    /// Rename the attribute at `attributeAt` from `name` to `newName`.
    case renameAttribute(attributeAt: SourcePosition, name: String, newName: String)
    /// Remove the attribute at `attributeAt` (and the whitespace before it).
    case removeAttribute(attributeAt: SourcePosition, name: String)
    /// Add `child` as the last child of the element that starts at `elementAt`, indented like
    /// its other children.
    case appendChild(elementAt: SourcePosition, child: XMLElementSpec)
}

/// A rule's proposed fix: what it does, how safe it is, and its edits.
public struct CorrectionIntent: Sendable, Hashable {
    public var applicability: FixApplicability
    public var message: String
    public var edits: [CorrectionEdit]

    public init(_ applicability: FixApplicability, _ message: String, _ edits: [CorrectionEdit]) {
        self.applicability = applicability
        self.message = message
        self.edits = edits
    }
}

/// A fix as data on a finding: byte-range edits on the file's original text.
public struct Correction: Sendable, Hashable, Codable {
    public var applicability: FixApplicability
    public var message: String
    public var edits: [TextEdit]

    /// True when an edit's text is only known when the fix is applied (a fresh MAC).
    public var isDeferred: Bool { edits.contains(where: \.freshMAC) }
}

/// Replace `start..<end` (bytes of the original text) by `replacement`.
public struct TextEdit: Sendable, Hashable, Codable {
    public var start: Int
    public var end: Int
    public var replacement: String
    /// The replacement is a MAC the fixer allocates (`replacement` is then empty).
    public var freshMAC: Bool
    /// Where the replaced bytes are, for reporters (SARIF regions): 1-based, end exclusive.
    public var startLine: Int
    public var startColumn: Int
    public var endLine: Int
    public var endColumn: Int

    public var range: Range<Int> { start..<end }
}

/// Turns `CorrectionEdit`s into byte edits on one parsed document.
/// Created for every linted file but does nothing until a finding carries a fix: the element
/// list is built on first use.
package final class CorrectionResolver {
    package let document: XMLDocument
    private lazy var elements: [XMLElement] = document.root?.selfAndDescendants ?? []

    package init(_ document: XMLDocument) {
        self.document = document
    }

    /// Nil when an edit no longer matches the document (it moved): the fix is then not offered.
    package func resolve(_ intent: CorrectionIntent) -> Correction? {
        var edits: [TextEdit] = []
        for edit in intent.edits {
            guard let resolved = resolve(edit) else { return nil }
            edits.append(resolved)
        }
        return Correction(applicability: intent.applicability, message: intent.message, edits: edits)
    }

    private func element(withAttribute name: String, at position: SourcePosition) -> XMLElement? {
        elements.first { $0.hasAttribute(name) && $0.position(ofAttribute: name) == position }
    }

    private func textEdit(_ range: Range<Int>, _ replacement: String, freshMAC: Bool = false) -> TextEdit {
        let start = document.position(ofByteOffset: range.lowerBound)
        let end = document.position(ofByteOffset: range.upperBound)
        return TextEdit(
            start: range.lowerBound, end: range.upperBound, replacement: replacement, freshMAC: freshMAC,
            startLine: start.line, startColumn: start.column, endLine: end.line, endColumn: end.column)
    }

    private func resolve(_ edit: CorrectionEdit) -> TextEdit? {
        switch edit {
        case .replaceValue(let position, let name, let value):
            guard let range = element(withAttribute: name, at: position)?.valueRange(ofAttribute: name) else { return nil }
            switch value {
            case .text(let text):
                // The values fixes write (MACs, modes, device names) need no escaping; refuse any that would.
                guard !text.contains(where: { "<>&\"'".contains($0) }) else { return nil }
                return textEdit(range, text)
            case .freshMAC:
                return textEdit(range, "", freshMAC: true)
            }
        case .renameAttribute(let position, let name, let newName):
            guard let element = element(withAttribute: name, at: position), !element.hasAttribute(newName),
                let range = element.nameRange(ofAttribute: name)
            else { return nil }
            return textEdit(range, newName)
        case .removeAttribute(let position, let name):
            guard let range = element(withAttribute: name, at: position)?.removalRange(ofAttribute: name) else { return nil }
            return textEdit(range, "")
        case .appendChild(let position, let child):
            guard let element = elements.first(where: { $0.position == position }), let last = element.children.last,
                let lastRange = last.byteRange,
                let fragment = try? XMLFragmentWriter.serialize(child)
            else { return nil }
            let indent = Splice.indentation(before: lastRange.lowerBound, in: document.source) ?? ""
            let text = "\n" + indent + String(decoding: fragment, as: UTF8.self)
            return textEdit(lastRange.upperBound..<lastRange.upperBound, text)
        }
    }
}
