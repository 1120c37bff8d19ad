import MacvtapXML

/// Turns libxml2's RelaxNG errors into readable findings: the generic cascade messages
/// ("failed to validate content", "Invalid sequence in interleave") are dropped when a more
/// specific error exists, and each message names the element and what was expected.
enum SchemaFindings {
    static let genericFragments = [
        "failed to validate content", "Invalid sequence in interleave", "failed to validate attributes",
        "Element domain has extra content", "Extra element",
    ]

    static func readable(_ diagnostics: [XMLDiagnostic], schemaName: String) -> [(position: SourcePosition, message: String)] {
        let specific = diagnostics.filter { diagnostic in !genericFragments.contains { diagnostic.message.contains($0) } }
        let chosen = specific.isEmpty ? Array(diagnostics.prefix(1)) : specific
        var seen = Set<String>()
        return chosen.compactMap { diagnostic in
            let message = rewrite(diagnostic)
            guard seen.insert("\(diagnostic.position):\(message)").inserted else { return nil }
            return (diagnostic.position, "\(schemaName): \(message)")
        }
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
        if text.contains("failed to validate content") || text.contains("Invalid sequence in interleave") {
            return "\(element): its content does not match the schema (\(text))"
        }
        return "\(element): \(text)"
    }
}

extension String {
    func between(_ prefix: String, _ suffix: String) -> String? {
        guard let start = range(of: prefix), let end = range(of: suffix, range: start.upperBound..<endIndex) else { return nil }
        return String(self[start.upperBound..<end.lowerBound])
    }
}
