/// One document's text as LSP positions see it: lines by byte offset, columns in UTF-16 code
/// units (the protocol's default), converted from lint's 1-based lines and code-point columns
/// and from fixes' byte offsets.
struct TextIndex {
    let bytes: [UInt8]
    /// Byte offset where each line starts.
    private let lineStarts: [Int]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var starts = [0]
        for (offset, byte) in bytes.enumerated() where byte == 0x0A { starts.append(offset + 1) }
        lineStarts = starts
    }

    var endPosition: Position { position(ofByte: bytes.count) }

    /// The bytes of 0-based `line`, without its newline.
    private func lineBytes(_ line: Int) -> ArraySlice<UInt8> {
        guard line >= 0, line < lineStarts.count else { return [] }
        let end = line + 1 < lineStarts.count ? lineStarts[line + 1] - 1 : bytes.count
        return bytes[lineStarts[line]..<max(lineStarts[line], end)]
    }

    /// lint's position (1-based line, 1-based column in code points).
    func position(line: Int, column: Int) -> Position {
        guard line >= 1 else { return Position(line: 0, character: 0) }
        let text = String(decoding: lineBytes(line - 1), as: UTF8.self)
        let prefix = text.unicodeScalars.prefix(max(column - 1, 0))
        return Position(line: line - 1, character: prefix.reduce(0) { $0 + $1.utf16.count })
    }

    func position(ofByte offset: Int) -> Position {
        let offset = min(max(offset, 0), bytes.count)
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        let text = String(decoding: bytes[lineStarts[low]..<offset], as: UTF8.self)
        return Position(line: low, character: text.utf16.count)
    }

    func byteOffset(of position: Position) -> Int {
        guard position.line < lineStarts.count else { return bytes.count }
        let line = lineBytes(position.line)
        var units = 0
        var offset = line.startIndex
        for scalar in String(decoding: line, as: UTF8.self).unicodeScalars {
            guard units < position.character else { break }
            units += scalar.utf16.count
            offset += scalar.utf8.count
        }
        return min(offset, line.endIndex)
    }

    /// The range a finding at `start` underlines: the tag name, the whole `name='value'`
    /// attribute, or the word there, on that line.
    func tokenRange(line: Int, column: Int) -> Range {
        let start = position(line: line, column: column)
        let startByte = byteOffset(of: start)
        let lineEnd = lineBytes(start.line).endIndex
        var end = startByte
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }
        if end < lineEnd, bytes[end] == UInt8(ascii: "<") {
            end += 1
            while end < lineEnd, !isSpace(bytes[end]), bytes[end] != UInt8(ascii: ">") { end += 1 }
        } else {
            while end < lineEnd, !isSpace(bytes[end]), bytes[end] != UInt8(ascii: "="), bytes[end] != UInt8(ascii: ">") { end += 1 }
            // An attribute: through its quoted value.
            if end + 1 < lineEnd, bytes[end] == UInt8(ascii: "="), bytes[end + 1] == 0x22 || bytes[end + 1] == 0x27 {
                let quote = bytes[end + 1]
                end += 2
                while end < lineEnd, bytes[end] != quote { end += 1 }
                if end < lineEnd { end += 1 }
            }
        }
        if end == startByte { end = min(startByte + 1, lineEnd) }
        return Range(start: start, end: position(ofByte: end))
    }

    /// The text of the line up to `position`.
    func linePrefix(upTo position: Position) -> String {
        let line = lineBytes(position.line)
        return String(decoding: line[line.startIndex..<byteOffset(of: position)], as: UTF8.self)
    }

    /// The name of the element whose start tag `position` is in, if any (`source` in `<source mode='`).
    func openTagName(at position: Position) -> String? {
        var offset = byteOffset(of: position) - 1
        while offset >= 0 {
            switch bytes[offset] {
            case UInt8(ascii: ">"): return nil
            case UInt8(ascii: "<"):
                var end = offset + 1
                while end < bytes.count, bytes[end] != 0x20, bytes[end] != 0x09, bytes[end] != 0x0A, bytes[end] != UInt8(ascii: ">") { end += 1 }
                return String(decoding: bytes[(offset + 1)..<end], as: UTF8.self)
            default: offset -= 1
            }
        }
        return nil
    }
}
