/// A unified diff between two versions of a file, as `diff -u` prints it.
///
/// Edits here change one contiguous run of lines, so the hunk is found by trimming the common
/// leading and trailing lines; several distant changes would come out as one larger hunk.
public enum UnifiedDiff {
    public static func make(
        original: [UInt8], edited: [UInt8], originalName: String, editedName: String, context: Int = 3
    ) -> String {
        let old = lines(original)
        let new = lines(edited)
        let (prefix, suffix) = old.commonAffixLengths(with: new)
        guard prefix < old.count || prefix < new.count, old != new else { return "" }
        let start = max(0, prefix - context)
        let oldEnd = min(old.count, old.count - suffix + context)
        let newEnd = min(new.count, new.count - suffix + context)
        var output = "--- \(originalName)\n+++ \(editedName)\n"
        output += "@@ -\(range(start, oldEnd)) +\(range(start, newEnd)) @@\n"
        for line in old[start..<prefix] { output += " " + line.text + "\n" }
        for line in old[prefix..<(old.count - suffix)] { output += "-" + line.text + "\n" + line.missingNewline }
        for line in new[prefix..<(new.count - suffix)] { output += "+" + line.text + "\n" + line.missingNewline }
        for line in old[(old.count - suffix)..<oldEnd] { output += " " + line.text + "\n" + line.missingNewline }
        return output
    }

    private struct Line: Equatable {
        package var text: String
        package var hasNewline: Bool
        package var missingNewline: String { hasNewline ? "" : "\\ No newline at end of file\n" }
    }

    private static func lines(_ bytes: [UInt8]) -> [Line] {
        var result: [Line] = []
        var start = 0
        for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
            result.append(Line(text: String(decoding: bytes[start..<index], as: UTF8.self), hasNewline: true))
            start = index + 1
        }
        if start < bytes.count {
            result.append(Line(text: String(decoding: bytes[start...], as: UTF8.self), hasNewline: false))
        }
        return result
    }

    private static func range(_ start: Int, _ end: Int) -> String {
        let count = end - start
        return count == 0 ? "\(start),0" : "\(start + 1),\(count)"
    }
}

extension Array where Element: Equatable {
    /// How many leading and trailing elements two arrays share, the two runs never overlapping:
    /// what is left between them in each array is the one region that changed.
    public func commonAffixLengths(with other: [Element]) -> (prefix: Int, suffix: Int) {
        var prefix = 0
        while prefix < count, prefix < other.count, self[prefix] == other[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < count - prefix, suffix < other.count - prefix,
            self[count - 1 - suffix] == other[other.count - 1 - suffix]
        {
            suffix += 1
        }
        return (prefix, suffix)
    }
}
