import MacvtapXML

/// Turns libxml2's RelaxNG errors into readable findings: the generic cascade messages
/// ("failed to validate content", "Invalid sequence in interleave") are dropped when a more
/// specific error exists, and each message names the element and what was expected.
enum SchemaFindings {
    static let genericFragments = [
        "failed to validate content", "Invalid sequence in interleave", "failed to validate attributes",
        "Element domain has extra content", "Extra element",
    ]

    struct Problem {
        var position: SourcePosition
        var lines: ClosedRange<Int>
        var message: String
    }

    /// Readable problems, each placed on the element it is about. libxml2 gives interleave
    /// errors no node; the element named in the message (searched within `scope`) stands in.
    static func readable(_ diagnostics: [XMLDiagnostic], schemaName: String, within scope: XMLElement) -> [Problem] {
        let specific = diagnostics.filter { diagnostic in !genericFragments.contains { diagnostic.message.contains($0) } }
        let chosen = specific.isEmpty ? Array(diagnostics.prefix(1)) : specific
        var seen = Set<String>()
        return chosen.compactMap { diagnostic in
            var diagnostic = diagnostic
            let element = locate(diagnostic, in: scope)
            if diagnostic.elementName == nil {
                diagnostic.elementName = element?.qualifiedName ?? namedElement(in: diagnostic.message)
            }
            let position = diagnostic.position.line > 0 ? diagnostic.position : element?.position ?? scope.position
            let lines = element.map { $0.position.line...$0.endPosition.line } ?? position.line...position.line
            let message = rewrite(diagnostic)
            guard seen.insert("\(position):\(message)").inserted else { return nil }
            return Problem(position: position, lines: lines, message: "\(schemaName): \(message)")
        }
    }

    /// The element a diagnostic is about: the one at its position, else the first one named
    /// in its message.
    static func locate(_ diagnostic: XMLDiagnostic, in scope: XMLElement) -> XMLElement? {
        var stack = [scope]
        let name = diagnostic.elementName ?? namedElement(in: diagnostic.message)
        var firstNamed: XMLElement?
        while let element = stack.popLast() {
            if diagnostic.position.line > 0, element.position == diagnostic.position { return element }
            if firstNamed == nil, let name, element.qualifiedName == name { firstNamed = element }
            stack.append(contentsOf: element.children.reversed())
        }
        return firstNamed
    }

    /// `Extra element devices in interleave` → `devices`.
    static func namedElement(in message: String) -> String? {
        for (prefix, suffix) in [("Extra element ", " in interleave"), ("Element ", " failed"), ("Did not expect element ", " there")] {
            if let name = message.between(prefix, suffix) { return name }
        }
        return nil
    }

    static func rewrite(_ diagnostic: XMLDiagnostic) -> String {
        let element = diagnostic.elementName.map { "<\($0)>" } ?? "element"
        let text = diagnostic.message
        if let attribute = text.between("Invalid attribute ", " for element") {
            return "\(element) has an attribute the schema does not allow here: \(attribute)"
        }
        if let name = text.between("Did not expect element ", " there") {
            return "<\(name)> is not allowed inside \(element)"
        }
        if let expected = text.between("Expecting an element ", ", got nothing") {
            return "\(element) is missing its required <\(expected)> child"
        }
        if let expected = text.between("Expecting element ", ", got "), let got = text.components(separatedBy: ", got ").last {
            return "\(element): expected <\(expected)> here, found <\(got)>"
        }
        if text.contains("failed to validate attributes") {
            return "\(element): an attribute is missing or has a value the schema does not allow"
        }
        if text.hasPrefix("Error validating datatype") || text.contains("Type ") {
            return "\(element): a value does not have the type the schema requires (\(text))"
        }
        if text.contains("failed to validate content") || text.contains("Invalid sequence in interleave")
            || text.contains("in interleave")
        {
            return "\(element): its content does not match the schema (\(text))"
        }
        return "\(element): \(text)"
    }
}

extension String {
    func between(_ prefix: String, _ suffix: String) -> String? {
        guard let start = firstRange(of: prefix), let end = self[start.upperBound...].firstRange(of: suffix) else {
            return nil
        }
        return String(self[start.upperBound..<end.lowerBound])
    }
}
