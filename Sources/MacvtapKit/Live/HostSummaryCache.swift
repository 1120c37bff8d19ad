import MacvtapLint
import MacvtapSystem
import Synchronization

/// What a host scan learnt of each domain definition, by the content of its XML: the summary the
/// rules read (`DocumentSummary`), so that a scan parses only the definitions that changed since
/// the last one. On a host with 200 defined domains, parsing and summarising every definition took
/// ~11 ms of an attach; the definitions themselves are still read from libvirt every time.
///
/// A summary is a function of the XML's bytes and of the code that made it, so the key is a
/// 128-bit hash of the bytes and the pack belongs to this very binary (its size and modification
/// time are in the pack's name) and to one URI. One pack per host, rewritten (temporary file and
/// rename) when the host's definitions changed; it keeps only the definitions the last scan saw.
/// A pack that does not decode is ignored and rewritten; a directory that cannot be written
/// leaves the scan as it is without the cache.
public final class HostSummaryCache: Sendable {
    /// `<directory>/host-<key>.pack`.
    public let path: String
    private let pack: [UInt8]
    private let entries: [LintCache.ContentKey: Range<Int>]
    /// This scan's definitions: from the pack (its bytes) or made now (the summary).
    private let used = Mutex<[LintCache.ContentKey: Entry]>([:])

    private enum Entry {
        case stored(Range<Int>)
        case fresh(DocumentSummary)
    }

    private static let magic = Array("virt-macvtap host summaries 1\n".utf8)

    /// The pack for `uri` under `directory` (nothing is read or written until a scan uses it).
    public init(directory: String, uri: String) {
        let binary = FileIO.status(atPath: "/proc/self/exe")
        let identity = "\(Versions.tool)\n\(binary?.size ?? 0)\n\(binary?.modificationNanoseconds ?? 0)\n\(uri)"
        let key = LintCache.ContentKey(Array(identity.utf8))
        path = directory + "/host-" + String(key.high, radix: 16) + String(key.low, radix: 16) + ".pack"
        pack = (try? FileIO.readFile(atPath: path)) ?? []
        entries = Self.decodeIndex(pack) ?? [:]
    }

    /// The summary of the definition `xml`, named `file`: from the pack when it holds it, else
    /// made by `summarise` and kept for the save. Any thread.
    func summary(of xml: [UInt8], file: String, summarise: () -> DocumentSummary?) -> DocumentSummary? {
        let key = LintCache.ContentKey(xml)
        if let range = entries[key], var stored = try? CompactCoding.decode(DocumentSummary.self, from: pack[range]) {
            used.withLock { $0[key] = .stored(range) }
            stored.file = file
            return stored
        }
        guard let made = summarise() else { return nil }
        used.withLock { $0[key] = .fresh(made) }
        return made
    }

    /// Writes the pack when this scan's definitions differ from the pack's: on a thread of its
    /// own; `waitForSaves()` must run before the process ends.
    public func saveInBackground() {
        let used = used.withLock { $0 }
        guard Set(used.keys) != Set(entries.keys) else { return }
        Self.saves.start { [self] in self.save(used) }
    }

    private static let saves = BackgroundWork()

    /// Blocks until every pack a `saveInBackground` started is written.
    public static func waitForSaves() {
        saves.wait()
    }

    private func save(_ used: [LintCache.ContentKey: Entry]) {
        var writer = ByteWriter()
        writer.bytes(Self.magic)
        var blobs: [(LintCache.ContentKey, ArraySlice<UInt8>)] = []
        for (key, entry) in used {
            switch entry {
            case .stored(let range): blobs.append((key, pack[range]))
            case .fresh(let summary):
                guard let encoded = try? CompactCoding.encode(summary) else { continue }
                blobs.append((key, encoded[...]))
            }
        }
        // In key order: the same definitions always make the same pack.
        blobs.sort { ($0.0.high, $0.0.low) < ($1.0.high, $1.0.low) }
        writer.contentBlobs(blobs)
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        try? FileIO.createDirectories(atPath: directory, mode: 0o700)
        try? FileIO.writeReplacingWithoutSync(atPath: path, bytes: writer.buffer)
    }

    private static func decodeIndex(_ bytes: [UInt8]) -> [LintCache.ContentKey: Range<Int>]? {
        guard bytes.count > magic.count, Array(bytes[0..<magic.count]) == magic else { return nil }
        var reader = ByteReader(bytes[...])
        reader.offset = magic.count
        guard let entries = reader.contentBlobs() else { return nil }
        return reader.offset == bytes.count ? entries : nil
    }
}
