package import MacvtapXML

/// Inline suppression comments:
///
/// - `<!-- virt-macvtap: disable RULE [RULE…] -->` directly before an element silences those
///   rules for findings inside that element (its lines);
/// - `<!-- virt-macvtap: disable-file RULE [RULE…] -->` anywhere silences them for the file.
///
/// `all` stands for every rule.
public struct Suppressions: Sendable, Codable {
    package static let marker = "virt-macvtap:"
    package var fileWide: Set<String> = []
    package var ranges: [(lines: ClosedRange<Int>, rules: Set<String>)] = []

    public static let none = Suppressions()

    private struct StoredRange: Codable {
        var lines: ClosedRange<Int>
        var rules: [String]
    }

    private enum CodingKeys: String, CodingKey { case fileWide, ranges }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        fileWide = Set(try container.decode([String].self, forKey: .fileWide))
        ranges = try container.decode([StoredRange].self, forKey: .ranges).map { ($0.lines, Set($0.rules)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fileWide.sorted(), forKey: .fileWide)
        try container.encode(ranges.map { StoredRange(lines: $0.lines, rules: $0.rules.sorted()) }, forKey: .ranges)
    }

    package init() {}

    package init(_ document: XMLDocument) {
        guard document.source.containsBytes(Array(Self.marker.utf8)) else { return }
        for comment in document.comments {
            if let rules = Self.rules(in: comment, directive: "disable-file") { fileWide.formUnion(rules) }
        }
        for (element, comments) in document.elements(precededByCommentContaining: Self.marker) {
            let rules = comments.compactMap { Self.rules(in: $0, directive: "disable") }.reduce(into: Set<String>()) { $0.formUnion($1) }
            guard !rules.isEmpty else { continue }
            ranges.append((element.position.line...element.endPosition.line, rules))
        }
    }

    public func suppresses(_ finding: Finding) -> Bool {
        if fileWide.contains(finding.ruleID) || fileWide.contains("all") { return true }
        return ranges.contains { range in
            range.lines.contains(finding.line) && (range.rules.contains(finding.ruleID) || range.rules.contains("all"))
        }
    }

    /// The rule ids of a `virt-macvtap: DIRECTIVE a b c` comment, or nil if it is another comment.
    package static func rules(in comment: String, directive: String) -> Set<String>? {
        let words = comment.split(whereSeparator: { $0.isWhitespace || $0 == "," }).map(String.init)
        guard let index = words.firstIndex(of: marker), index + 1 < words.count, words[index + 1] == directive else {
            return nil
        }
        return Set(words[(index + 2)...])
    }
}

extension [UInt8] {
    package func containsBytes(_ needle: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= count else { return false }
        return withUnsafeBufferPointer { haystack in
            var index = 0
            while index <= haystack.count - needle.count {
                if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
                index += 1
            }
            return false
        }
    }
}
