package import MacvtapXML

/// Turns libxml2's RelaxNG errors into readable findings: the generic cascade messages
/// ("failed to validate content", "Invalid sequence in interleave") are dropped when a more
/// specific error exists, and each message names the element and what was expected.
package enum SchemaFindings {
    package static let genericFragments = [
        "failed to validate content", "Invalid sequence in interleave", "failed to validate attributes",
        "Element domain has extra content", "Extra element",
    ]

    package struct Problem {
        package var position: SourcePosition
        package var lines: ClosedRange<Int>
        package var message: String
    }

    /// Readable problems, each placed on the element it is about. libxml2 gives interleave
    /// errors no node; the element named in the message (searched within `scope`) stands in.
    /// With `narrowing`, a generic failure of a container (`<devices>`, `<domain>`) is pinned on
    /// the child, attribute or grandchild at fault (see ``SchemaFaultFinder``).
    package static func readable(
        _ diagnostics: [XMLDiagnostic], schemaName: String, within scope: XMLElement, narrowing: SchemaFaultFinder? = nil
    ) -> [Problem] {
        let specific = diagnostics.filter { diagnostic in !isGeneric(diagnostic) }
        let chosen = specific.isEmpty ? Array(diagnostics.prefix(1)) : specific
        var seen = Set<String>()
        return chosen.flatMap { diagnostic -> [Problem] in
            var diagnostic = diagnostic
            // "Element domain failed to validate content" reported on <devices>: the domain failed.
            if let failed = diagnostic.message.between("Element ", " failed to validate content"), failed != diagnostic.elementName {
                diagnostic.elementName = failed
                diagnostic.position = SourcePosition(line: 0, column: 0)
            }
            let element = locate(diagnostic, in: scope)
            if diagnostic.elementName == nil {
                diagnostic.elementName = element?.qualifiedName ?? namedElement(in: diagnostic.message)
            }
            if let narrowing, let element, isGeneric(diagnostic) || diagnostic.message.contains("Error validating value") {
                let faults = narrowing.faults(under: element)
                if !faults.isEmpty {
                    return faults.compactMap { fault in
                        guard seen.insert("\(fault.position):\(fault.message)").inserted else { return nil }
                        return Problem(position: fault.position, lines: fault.lines, message: "\(schemaName): \(fault.message)")
                    }
                }
            }
            let position = diagnostic.position.line > 0 ? diagnostic.position : element?.position ?? scope.position
            let lines = element.map { $0.position.line...$0.endPosition.line } ?? position.line...position.line
            let message = rewrite(diagnostic)
            guard seen.insert("\(position):\(message)").inserted else { return [] }
            return [Problem(position: position, lines: lines, message: "\(schemaName): \(message)")]
        }
    }

    package static func isGeneric(_ diagnostic: XMLDiagnostic) -> Bool {
        genericFragments.contains { diagnostic.message.contains($0) }
    }

    /// The element a diagnostic is about: the one at its position, else the first one named
    /// in its message.
    package static func locate(_ diagnostic: XMLDiagnostic, in scope: XMLElement) -> XMLElement? {
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
    package static func namedElement(in message: String) -> String? {
        for (prefix, suffix) in [("Extra element ", " in interleave"), ("Element ", " failed"), ("Did not expect element ", " there")] {
            if let name = message.between(prefix, suffix) { return name }
        }
        return nil
    }

    package static func rewrite(_ diagnostic: XMLDiagnostic) -> String {
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
        if text.hasPrefix("Error validating value") {
            return "\(element): its text or an attribute has a value the schema does not allow"
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

/// Finds what a generic RelaxNG failure is about. libxml2 reports a child that matches no branch
/// of an interleave as a failure of the parent ("Extra element devices in interleave" on
/// `<devices>`, "Element domain failed to validate content" on `<domain>`), far from the cause.
/// Deleting one candidate at a time from the document's bytes and validating again tells which
/// child clears the parent's failure; then which of that child's attributes or children does,
/// down to the smallest part. Only files that already fail the schema pay for the trials.
package struct SchemaFaultFinder {
    package let document: XMLDocument
    package let schema: RelaxNGSchema
    /// Trials per reported failure: a `<devices>` of a few dozen devices and their parts.
    package var budget = 200

    package struct Fault {
        package var position: SourcePosition
        package var lines: ClosedRange<Int>
        package var message: String
    }

    /// The parts of `container` at fault, or nothing when no deletion tells (the container
    /// itself lacks something).
    package func faults(under container: XMLElement) -> [Fault] {
        guard document.hasByteSpans else { return [] }
        var trials = 0
        let line = container.position.line
        // The container starts before any of its parts, so its line survives every deletion.
        func clears(_ ranges: [Range<Int>]) -> Bool {
            guard trials < budget else { return false }
            trials += 1
            var bytes = document.source
            for range in ranges.sorted(by: { $0.lowerBound > $1.lowerBound }) { bytes.removeSubrange(range) }
            guard let trial = try? XMLDocument(bytes: bytes, fileName: document.fileName) else { return false }
            return !schema.validate(trial).contains { $0.position.line == line }
        }
        let name = "<\(container.qualifiedName)>"
        let children = container.children.filter { $0.byteRange != nil }
        let single = children.filter { clears([$0.byteRange!]) }
        if !single.isEmpty {
            return single.map { narrowest($0, in: name, besides: [], clears: clears) }
        }
        // Several children at fault together (no single deletion clears the failure): when the
        // container validates without any of them, each is tried alone among no siblings.
        if children.count > 1, clears(children.map { $0.byteRange! }) {
            return children.compactMap { child in
                let siblings = children.map { $0.byteRange! }.filter { $0 != child.byteRange }
                return clears(siblings) ? nil : narrowest(child, in: name, besides: siblings, clears: clears)
            }
        }
        if let fault = attributeFault(of: container, in: name, besides: [], clears: clears) { return [fault] }
        return []
    }

    private func attributeFault(
        of element: XMLElement, in containerName: String, besides: [Range<Int>], clears: ([Range<Int>]) -> Bool
    ) -> Fault? {
        for attribute in element.attributes {
            if let range = element.removalRange(ofAttribute: attribute.name), clears(besides + [range]) {
                return Fault(
                    position: element.position(ofAttribute: attribute.name) ?? element.position,
                    lines: element.position.line...element.position.line,
                    message:
                        "\(Self.describe(element)): attribute \(attribute.name)='\(attribute.value)' is not allowed here or has a value the schema does not allow (without it \(containerName) validates)"
                )
            }
        }
        return nil
    }

    private func narrowest(
        _ element: XMLElement, in containerName: String, besides: [Range<Int>], clears: ([Range<Int>]) -> Bool
    ) -> Fault {
        if let fault = attributeFault(of: element, in: containerName, besides: besides, clears: clears) { return fault }
        let described = Self.describe(element)
        for child in element.children {
            if let range = child.byteRange, clears(besides + [range]) {
                if child.attributes.isEmpty && child.children.isEmpty {
                    return Fault(
                        position: child.position, lines: child.position.line...child.endPosition.line,
                        message: "\(Self.describe(child)) is not allowed inside \(described) or has content the schema does not allow (without it \(containerName) validates)")
                }
                return narrowest(child, in: containerName, besides: besides, clears: clears)
            }
        }
        return Fault(
            position: element.position, lines: element.position.line...element.endPosition.line,
            message:
                "\(described) does not match the schema: it lacks a required attribute or child, or several of its parts are wrong together (without it \(containerName) validates; compare with https://libvirt.org/formatdomain.html)"
        )
    }

    /// `<interface type='direct'>`: the element and its type, which selects the schema's branch.
    package static func describe(_ element: XMLElement) -> String {
        element.attribute("type").map { "<\(element.qualifiedName) type='\($0)'>" } ?? "<\(element.qualifiedName)>"
    }
}

extension String {
    package func between(_ prefix: String, _ suffix: String) -> String? {
        guard let start = firstRange(of: prefix), let end = self[start.upperBound...].firstRange(of: suffix) else {
            return nil
        }
        return String(self[start.upperBound..<end.lowerBound])
    }
}
