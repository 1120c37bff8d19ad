public import MacvtapXML

/// Edits splice the original bytes: the new or removed interface's lines change, nothing else.
extension DomainDocument {
    /// The document's bytes with `interface` added after the last existing interface (or as
    /// the last device), indented like its siblings.
    public func addingInterface(_ interface: XMLElementSpec) throws(DomainDocumentError) -> [UInt8] {
        try addingInterfaces([interface])
    }

    /// The document's bytes with `interfaces` added, in order, after the last existing
    /// interface (or as the last devices), indented like their siblings: one splice.
    public func addingInterfaces(_ interfaces: [XMLElementSpec]) throws(DomainDocumentError) -> [UInt8] {
        let source = xml.source
        guard let devices else {
            return try insertingNewDevices(containing: interfaces)
        }
        guard let devicesRange = devices.byteRange, let devicesTag = devices.startTagRange else {
            throw notEditable
        }
        let anchor = interfaceElements.last ?? devices.children.last
        if let anchor, let anchorRange = anchor.byteRange {
            let indent =
                Splice.indentation(before: anchorRange.lowerBound, in: source)
                ?? Splice.indentation(before: devicesRange.lowerBound, in: source).map { $0 + indentUnit }
                ?? indentUnit
            var lines: [UInt8] = []
            for interface in interfaces { lines += Array(indent.utf8) + (try serialize(interface, baseIndent: indent)) + [0x0A] }
            if let lineEnd = Splice.lineBreak(after: anchorRange.upperBound, in: source) {
                // New lines after the anchor's line: the anchor's own line stays untouched.
                return Splice.replacing((lineEnd + 1)..<(lineEnd + 1), in: source, with: lines)
            }
            return Splice.replacing(
                anchorRange.upperBound..<anchorRange.upperBound, in: source, with: [0x0A] + lines.dropLast())
        }
        let devicesIndent = Splice.indentation(before: devicesRange.lowerBound, in: source) ?? ""
        let childIndent = devicesIndent + indentUnit
        if devicesTag.upperBound == devicesRange.upperBound {
            // `<devices/>`: the element itself must become an open/close pair.
            let expanded = XMLElementSpec("devices", children: interfaces)
            let fragment = try serialize(expanded, baseIndent: devicesIndent)
            return Splice.replacing(devicesRange, in: source, with: fragment)
        }
        var insertion: [UInt8] = []
        for interface in interfaces { insertion += Array(("\n" + childIndent).utf8) + (try serialize(interface, baseIndent: childIndent)) }
        let between = source[devicesTag.upperBound..<devicesRange.upperBound]
        if !between.contains(UInt8(ascii: "\n")) {
            insertion += Array(("\n" + devicesIndent).utf8)
        }
        return Splice.replacing(devicesTag.upperBound..<devicesTag.upperBound, in: source, with: insertion)
    }

    /// The document's bytes without `interface`; its lines go if nothing else is on them.
    public func removingInterface(_ interface: InterfaceEntry) throws(DomainDocumentError) -> [UInt8] {
        guard let range = element(of: interface).byteRange else { throw notEditable }
        return Splice.replacing(Splice.wholeLines(around: range, in: xml.source), in: xml.source, with: [])
    }

    /// The document's bytes with `interface` replaced by `replacement`, at the same indentation.
    public func replacingInterface(
        _ interface: InterfaceEntry, with replacement: XMLElementSpec
    ) throws(DomainDocumentError) -> [UInt8] {
        guard let range = element(of: interface).byteRange else { throw notEditable }
        let indent = Splice.indentation(before: range.lowerBound, in: xml.source) ?? ""
        return Splice.replacing(range, in: xml.source, with: try serialize(replacement, baseIndent: indent))
    }

    /// Direct interfaces whose MAC equals `mac` (compared as addresses, not strings).
    public func directInterfaces(withMAC mac: MACAddress) -> [InterfaceEntry] {
        directInterfaces.filter { $0.macAddress == mac }
    }

    /// The indentation step the document uses, read from an element nested one level in its
    /// parent on separate lines; two spaces (libvirt's own) when nothing shows it.
    package var indentUnit: String {
        for (parent, child) in [(devices, interfaceElements.first), (root, devices)] {
            guard let parentRange = parent?.byteRange, let childRange = child?.byteRange,
                let outer = Splice.indentation(before: parentRange.lowerBound, in: xml.source),
                let inner = Splice.indentation(before: childRange.lowerBound, in: xml.source),
                inner.count > outer.count, inner.hasPrefix(outer)
            else { continue }
            return String(inner.dropFirst(outer.count))
        }
        return "  "
    }

    private var notEditable: DomainDocumentError {
        .notEditable(
            file: fileName,
            reason: "its encoding is not UTF-8, so byte positions are unknown; convert it with "
                + "iconv -t UTF-8 and change the XML declaration")
    }

    private func serialize(_ spec: XMLElementSpec, baseIndent: String) throws(DomainDocumentError) -> [UInt8] {
        do {
            return try XMLFragmentWriter.serialize(spec, baseIndent: baseIndent, indentUnit: indentUnit)
        } catch {
            throw .invalidValue(file: fileName, error)
        }
    }

    private func insertingNewDevices(containing interfaces: [XMLElementSpec]) throws(DomainDocumentError) -> [UInt8] {
        guard let rootRange = root.byteRange, let rootTag = root.startTagRange else { throw notEditable }
        let rootIndent = Splice.indentation(before: rootRange.lowerBound, in: xml.source) ?? ""
        let devicesIndent = rootIndent + indentUnit
        let fragment = try serialize(XMLElementSpec("devices", children: interfaces), baseIndent: devicesIndent)
        if let last = root.children.last?.byteRange {
            return Splice.replacing(
                last.upperBound..<last.upperBound, in: xml.source,
                with: Array(("\n" + devicesIndent).utf8) + fragment)
        }
        guard rootTag.upperBound < rootRange.upperBound else { throw notEditable }
        return Splice.replacing(
            rootTag.upperBound..<rootTag.upperBound, in: xml.source,
            with: Array(("\n" + devicesIndent).utf8) + fragment + Array(("\n" + rootIndent).utf8))
    }
}

/// Byte-level helpers for splicing a document's source.
package enum Splice {
    package static func replacing(_ range: Range<Int>, in source: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        var result = source
        result.replaceSubrange(range, with: replacement)
        return result
    }

    /// The whitespace between the start of the line and `offset`, or nil if anything else
    /// stands before `offset` on its line.
    package static func indentation(before offset: Int, in source: [UInt8]) -> String? {
        var index = offset
        while index > 0, source[index - 1] == 0x20 || source[index - 1] == 0x09 { index -= 1 }
        guard index == 0 || source[index - 1] == UInt8(ascii: "\n") else { return nil }
        return String(decoding: source[index..<offset], as: UTF8.self)
    }

    /// The index of the line break ending the line that `offset` is on, if only whitespace
    /// stands between `offset` and it.
    package static func lineBreak(after offset: Int, in source: [UInt8]) -> Int? {
        var index = offset
        while index < source.count, source[index] == 0x20 || source[index] == 0x09 || source[index] == 0x0D {
            index += 1
        }
        return index < source.count && source[index] == UInt8(ascii: "\n") ? index : nil
    }

    /// What to delete to remove the element at `range` without leaving a blank line: its whole
    /// lines when it stands alone on them; when it starts a line but shares its last line with
    /// other content, also the line break and indentation before it (the inverse of inserting
    /// "\n" + indent + element); otherwise just `range`.
    package static func wholeLines(around range: Range<Int>, in source: [UInt8]) -> Range<Int> {
        var start = range.lowerBound
        while start > 0, source[start - 1] == 0x20 || source[start - 1] == 0x09 { start -= 1 }
        guard start == 0 || source[start - 1] == UInt8(ascii: "\n") else { return range }
        var end = range.upperBound
        while end < source.count, source[end] == 0x20 || source[end] == 0x09 || source[end] == 0x0D { end += 1 }
        if end == source.count { return start..<end }
        if source[end] == UInt8(ascii: "\n") { return start..<(end + 1) }
        var lineBreak = start - 1
        if lineBreak > 0, source[lineBreak - 1] == 0x0D { lineBreak -= 1 }
        return lineBreak >= 0 ? lineBreak..<range.upperBound : range
    }
}
