package import MacvtapXML

/// A domain document made ready for a libvirt that is not its own host (the oracle's sandbox,
/// `lint --libvirt`'s embedded driver): a name of the caller's, no UUID (documents share them),
/// and `type='qemu'` where it said kvm (the verdict is then about the XML, not about whether
/// this machine has KVM; the QEMU driver's checks are the same). Edits are made on the bytes,
/// so everything else is as written.
package struct PreparedDocument {
    package let name: String
    package let text: String
    /// Each `<interface>` as written, for the hot-plug.
    package let interfaces: [String]
    private let original: XMLDocument?

    package init(_ source: String, name: String) {
        self.init(Array(source.utf8), parsed: try? XMLDocument(bytes: Array(source.utf8), fileName: name), name: name)
    }

    /// From a document parsed already (lint's own parse); nil when it did not parse, and
    /// libvirt then gets the text as it is, and refuses it as it would anyway.
    package init(_ bytes: [UInt8], parsed document: XMLDocument?, name: String) {
        self.name = name
        guard let document, let root = document.root else {
            text = String(decoding: bytes, as: UTF8.self)
            interfaces = []
            original = nil
            return
        }
        original = document
        var edits = Self.renaming(root, to: name)
        if let uuid = root.firstChild(named: "uuid"), let range = uuid.byteRange { edits.append((range, [])) }
        if root.attribute("type") == "kvm", let range = root.valueRange(ofAttribute: "type") {
            edits.append((range, Array("qemu".utf8)))
        }
        text = String(decoding: Self.apply(edits, to: bytes), as: UTF8.self)
        interfaces = Self.interfaceElements(of: root).compactMap { element in
            element.byteRange.map { String(decoding: bytes[$0], as: UTF8.self) }
        }
    }

    /// The edit that gives the domain `name` (its `<name>` element written by libxml2).
    package static func renaming(_ root: XMLElement, to name: String) -> [(Range<Int>, [UInt8])] {
        guard let range = root.firstChild(named: "name")?.byteRange,
            let replacement = try? XMLFragmentWriter.serialize(XMLElementSpec("name", text: name))
        else { return [] }
        return [(range, replacement)]
    }

    package static func interfaceElements(of root: XMLElement) -> [XMLElement] {
        root.firstChild(named: "devices")?.children(named: "interface") ?? []
    }

    package static func apply(_ edits: [(Range<Int>, [UInt8])], to bytes: [UInt8]) -> [UInt8] {
        var result = bytes
        for (range, replacement) in edits.sorted(by: { $0.0.lowerBound > $1.0.lowerBound }) {
            result.replaceSubrange(range, with: replacement)
        }
        return result
    }

    /// The prepared text without any `<interface>`, named `name`, with ACPI (PCI hot-plug
    /// needs it on machine type pc).
    package func withoutInterfaces(name: String) -> String {
        let bytes = Array(text.utf8)
        guard let document = try? XMLDocument(bytes: bytes, fileName: name), let root = document.root else { return text }
        var edits: [(Range<Int>, [UInt8])] = Self.interfaceElements(of: root).compactMap { element in
            element.byteRange.map { ($0, []) }
        }
        edits += Self.renaming(root, to: name)
        if root.firstChild(named: "features")?.firstChild(named: "acpi") == nil {
            let acpi = XMLElementSpec("acpi")
            if let features = root.firstChild(named: "features"), let tag = features.startTagRange,
                bytes[tag.upperBound - 2] != UInt8(ascii: "/"), let element = try? XMLFragmentWriter.serialize(acpi)
            {
                edits.append((tag.upperBound..<tag.upperBound, element))
            } else if root.firstChild(named: "features") == nil, let devices = root.firstChild(named: "devices"),
                let start = devices.byteRange?.lowerBound,
                let element = try? XMLFragmentWriter.serialize(XMLElementSpec("features", children: [acpi]))
            {
                edits.append((start..<start, element))
            }
        }
        return String(decoding: Self.apply(edits, to: bytes), as: UTF8.self)
    }

    /// What the XML libvirt kept lost or changed, interface by interface: every attribute,
    /// child element and leaf text of the original must still be there with the same value.
    package func rewrites(readBack: String) -> [String] {
        guard let original, let originalRoot = original.root else { return [] }
        var found: [String] = []
        if original.source.starts(with: Array("<!DOCTYPE".utf8)) || String(decoding: original.source.prefix(4096), as: UTF8.self).contains("<!DOCTYPE") {
            found.append("the DOCTYPE was dropped")
        }
        guard let kept = try? XMLDocument(bytes: Array(readBack.utf8), fileName: "read-back"), let keptRoot = kept.root else {
            return found + ["libvirt's XML could not be read back"]
        }
        let before = Self.interfaceElements(of: originalRoot)
        let after = Self.interfaceElements(of: keptRoot)
        for (index, element) in before.enumerated() {
            guard index < after.count else {
                found.append("interface \(index + 1) was dropped")
                continue
            }
            Self.compare(element, after[index], path: "interface[\(index + 1)]", into: &found)
        }
        return found
    }

    private static func compare(_ before: XMLElement, _ after: XMLElement, path: String, into found: inout [String]) {
        for attribute in before.attributes where !attribute.name.hasPrefix("xmlns") {
            guard let value = after.attribute(attribute.name) else {
                found.append("\(path)/@\(attribute.name) was dropped")
                continue
            }
            if value != attribute.value { found.append("\(path)/@\(attribute.name) '\(attribute.value)' became '\(value)'") }
        }
        let beforeChildren = before.children
        if beforeChildren.isEmpty {
            let text = before.textContent.trimmingWhitespace()
            if !text.isEmpty, after.textContent.trimmingWhitespace() != text {
                found.append("\(path) text '\(text)' became '\(after.textContent.trimmingWhitespace())'")
            }
            return
        }
        var seen: [String: Int] = [:]
        for child in beforeChildren {
            let occurrence = seen[child.qualifiedName, default: 0]
            seen[child.qualifiedName] = occurrence + 1
            let childPath = "\(path)/\(child.qualifiedName)\(occurrence > 0 ? "[\(occurrence + 1)]" : "")"
            let candidates = after.children.filter { $0.qualifiedName == child.qualifiedName }
            guard occurrence < candidates.count else {
                found.append("\(childPath) was dropped")
                continue
            }
            compare(child, candidates[occurrence], path: childPath, into: &found)
        }
    }
}
