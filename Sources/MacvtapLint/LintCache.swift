import FoundationEssentials
package import MacvtapSystem
import MacvtapXML
import Synchronization

/// The per-file lint cache: for each file content (a 128-bit hash of its bytes), the findings of
/// the per-file rules and the summary the cross-file rules need. Cross-file and live-host rules
/// are recomputed from the summaries every run. One pack per configuration key (tool version,
/// the schemas' contents, the rule configuration) under the cache directory, written once per
/// run through a temporary file and a rename: concurrent runs sharing a cache each write a
/// whole pack (the last one wins); a pack that does not decode is ignored and rewritten.
///
/// A file whose size, modification time and inode match the pack's record is not read again
/// (git's and Ruff's rule); any other file is read and hashed.
public final class LintCache: Sendable {
    /// The pack's path: `<directory>/<configuration key>.pack`.
    public let path: String
    private let pack: [UInt8]
    private let entries: [ContentKey: Range<Int>]
    private let records: [String: PathRecord]
    private let fresh = Mutex<[ContentKey: [UInt8]]>([:])
    private let seen = Mutex<[String: PathRecord]>([:])

    package struct ContentKey: Hashable, Sendable {
        package var high: UInt64
        package var low: UInt64

        package init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }

        /// Two 64-bit lanes over the bytes, 8 at a time (a byte at a time cost a cold run ~1% of
        /// its time), each word mixed in by a multiply and a shift or a rotation, the length in
        /// the seed, and a final avalanche of each lane.
        package init(_ bytes: [UInt8]) {
            var a: UInt64 = 0xcbf2_9ce4_8422_2325
            var b: UInt64 = 0x8422_2325_cbf2_9ce4 ^ UInt64(bytes.count)
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset + 8 <= raw.count {
                    let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    a = (a ^ word) &* 0x9e37_79b9_7f4a_7c15
                    a ^= a >> 29
                    b ^= word &* 0xc2b2_ae3d_27d4_eb4f
                    b = ((b << 31) | (b >> 33)) &* 0x1656_67b1_9e37_79f9
                    offset += 8
                }
                var tail: UInt64 = 0
                for index in offset..<raw.count { tail |= UInt64(raw[index]) << (8 * UInt64(index - offset)) }
                a = (a ^ tail) &* 0x9e37_79b9_7f4a_7c15
                b = ((b ^ tail) &* 0xc2b2_ae3d_27d4_eb4f)
            }
            high = Self.avalanche(a)
            low = Self.avalanche(b)
        }

        /// MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
        private static func avalanche(_ value: UInt64) -> UInt64 {
            var value = value
            value ^= value >> 33
            value = value &* 0xff51_afd7_ed55_8ccd
            value ^= value >> 33
            value = value &* 0xc4ce_b9fe_1a85_ec53
            return value ^ (value >> 33)
        }

        /// This content judged under another condition (a fleet host's libvirt release).
        package func mixing(_ text: String) -> ContentKey {
            ContentKey(Array("\(high)-\(low)-\(text)".utf8))
        }
    }

    package struct PathRecord: Sendable, Hashable {
        package var status: FileStatus
        package var key: ContentKey
    }

    package static let magic = Array("virt-macvtap lint cache 1\n".utf8)

    /// Below this many files a run lints directly: reading the pack would cost more than the
    /// parsing it saves (a pre-commit run over the files a commit touches, a one-file check).
    public static let minimumFiles = 20

    /// Opens the pack for `configurationKey` in `directory` (created when first written).
    public init(directory: String, configurationKey: String) {
        path = directory + "/" + configurationKey + ".pack"
        let bytes = (try? FileIO.readFile(atPath: path)) ?? []
        var entries: [ContentKey: Range<Int>] = [:]
        var records: [String: PathRecord] = [:]
        if let decoded = Self.decodePack(bytes) {
            entries = decoded.entries
            records = decoded.records
        }
        pack = bytes
        self.entries = entries
        self.records = records
    }

    /// The key of a configuration: everything besides a file's bytes that its per-file findings
    /// depend on.
    public static func configurationKey(
        configuration: LintConfiguration, schemaFiles: [String], judgedRelease: LibvirtRelease? = nil, fleet: FleetHosts = FleetHosts()
    ) -> String {
        var text = "format 3\n\(Versions.tool)\nhotplug \(configuration.hotplug)\n"
        // Findings depend on the release they are judged for: -c's host, --libvirt-version, a fleet host's.
        text += "judged \(judgedRelease?.description ?? "installed")\nfleet releases \(fleet.releaseKey)\n"
        text += "disable \(configuration.disable.sorted())\nenable \(configuration.enable.sorted())\n"
        text += "severity \(configuration.severity.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" })\n"
        var bytes = Array(text.utf8)
        for file in schemaFiles.sorted() {
            bytes += Array(file.utf8) + ((try? FileIO.readFile(atPath: file)) ?? [])
        }
        let key = ContentKey(bytes)
        return String(key.high, radix: 16).leftPadded(16) + String(key.low, radix: 16).leftPadded(16)
    }

    /// The libvirt schema files (every `*.rng` beside domain.rng, which it includes) and ours.
    public static func schemaFiles(domainSchemaPath: String?, libvirtRelease: LibvirtRelease? = nil) -> [String] {
        var files: [String] = []
        if let domain = domainSchemaPath ?? (try? SchemaLocator.domainSchemaPath(release: libvirtRelease)) {
            let directory = String(domain[..<(domain.lastIndex(of: "/") ?? domain.startIndex)])
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            files += names.filter { $0.hasSuffix(".rng") }.map { directory + "/" + $0 }
            if !files.contains(domain) { files.append(domain) }
        }
        if let ours = try? SchemaLocator.interfaceSchemaPath() { files.append(ours) }
        return files
    }

    // MARK: - lookups during a run (any thread)

    /// The content key of the file at `path`: from the pack's record when `status` matches it,
    /// else nil (the caller reads and hashes the file).
    package func knownKey(path: String, status: FileStatus) -> ContentKey? {
        guard let record = records[path], record.status == status else { return nil }
        return record.key
    }

    /// A cached result for this content, as `file`.
    package func result(for key: ContentKey, file: String) -> CachedFile? {
        guard let range = entries[key] else { return nil }
        return CachedFile.decode(pack[range], file: file)
    }

    /// Notes what this run saw: the file's record, and its encoded result when new.
    /// Encoded here, on the thread that linted the file: the files' threads share that work, and
    /// a run holds the compact bytes, not the result, until the pack is written
    /// (`scripts/check-memory` holds a first cached run to 2 KB more per file).
    package func remember(path: String, status: FileStatus?, key: ContentKey, result: CachedFile?) {
        if let status { seen.withLock { $0[path] = PathRecord(status: status, key: key) } }
        if let encoded = result?.encoded() { fresh.withLock { $0[key] = encoded } }
    }

    /// Writes the pack when this run learned anything: the records of every path it or an
    /// earlier run saw (this run's win), and the entries those records name — so a run over a
    /// few files keeps what a run over the whole repository stored.
    /// Writes the pack on a thread of its own, while the caller goes on (the cross-file rules, the
    /// report).
    /// `waitForSaves()` must run before the process ends.
    public func saveInBackground() {
        Self.saves.start { [self] in self.save() }
    }

    private static let saves = BackgroundWork()

    /// Blocks until every pack a `saveInBackground` started is written.
    public static func waitForSaves() {
        saves.wait()
    }

    public func save() {
        let seen = seen.withLock { $0 }
        let fresh = fresh.withLock { $0 }
        guard !fresh.isEmpty || seen.contains(where: { records[$0.key] != $0.value }) else { return }
        // Earlier runs' records stay while their files exist (a run over part of the repository
        // keeps the rest); records of deleted files go.
        let kept = records.filter { seen[$0.key] == nil && FileIO.status(atPath: $0.key) != nil }
        let merged = kept.merging(seen) { _, new in new }
        var writer = ByteWriter()
        writer.bytes(Self.magic)
        let keys = Set(merged.values.map(\.key))
        let blobs = keys.compactMap { key -> (ContentKey, ArraySlice<UInt8>)? in
            if let encoded = fresh[key] { return (key, encoded[...]) }
            return entries[key].map { (key, pack[$0]) }
        }
        writer.contentBlobs(blobs)
        let keptKeys = Set(blobs.map(\.0))
        let named = merged.filter { keptKeys.contains($0.value.key) }
        writer.int(named.count)
        for (path, record) in named {
            writer.string(path)
            writer.uint64(record.status.size)
            writer.uint64(record.status.modificationNanoseconds)
            writer.uint64(record.status.inode)
            writer.uint64(record.status.device)
            writer.uint64(record.key.high)
            writer.uint64(record.key.low)
        }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        try? FileIO.createDirectories(atPath: directory, mode: 0o755)
        try? FileIO.writeReplacingWithoutSync(atPath: path, bytes: writer.buffer)
    }

    private static func decodePack(_ bytes: [UInt8]) -> (entries: [ContentKey: Range<Int>], records: [String: PathRecord])? {
        guard bytes.count > magic.count, Array(bytes[0..<magic.count]) == magic else { return nil }
        var reader = ByteReader(bytes[...])
        reader.offset = magic.count
        var records: [String: PathRecord] = [:]
        guard let entries = reader.contentBlobs() else { return nil }
        guard let paths = reader.int(), paths >= 0 else { return nil }
        for _ in 0..<paths {
            guard let path = reader.string(), let size = reader.uint64(), let time = reader.uint64(), let inode = reader.uint64(),
                let device = reader.uint64(), let high = reader.uint64(), let low = reader.uint64()
            else { return nil }
            records[path] = PathRecord(
                status: FileStatus(size: size, modificationNanoseconds: time, inode: inode, device: device),
                key: ContentKey(high: high, low: low))
        }
        return (entries, records)
    }
}

/// What the cache keeps of one file's lint, stored in its own `Codable` form (`CompactCoding`):
/// what a cached run reads is what a fresh run produced, field for field.
package struct CachedFile: Codable, Sendable {
    package var findings: [Finding]
    package var summary: DocumentSummary?
    package var network: NetworkSummary?
    package var suppressions: Suppressions

    package init(findings: [Finding], summary: DocumentSummary?, network: NetworkSummary?, suppressions: Suppressions) {
        self.findings = findings
        self.summary = summary
        self.network = network
        self.suppressions = suppressions
    }

    package func encoded() -> [UInt8] {
        (try? CompactCoding.encode(self)) ?? []
    }

    /// The stored result as the result for `file`: the same content may sit at another path.
    package static func decode(_ bytes: ArraySlice<UInt8>, file: String) -> CachedFile? {
        guard var cached = try? CompactCoding.decode(CachedFile.self, from: bytes) else { return nil }
        for index in cached.findings.indices {
            let stored = cached.findings[index].file
            cached.findings[index].file = file
            for related in cached.findings[index].related?.indices ?? [].indices where cached.findings[index].related?[related].file == stored {
                cached.findings[index].related?[related].file = file
            }
        }
        cached.summary?.file = file
        cached.network?.file = file
        return cached
    }
}

extension ByteWriter {
    /// Blobs by content key: a count, then each key, length and bytes (a cache pack's body).
    package mutating func contentBlobs(_ blobs: [(LintCache.ContentKey, ArraySlice<UInt8>)]) {
        int(blobs.count)
        for (key, blob) in blobs {
            uint64(key.high)
            uint64(key.low)
            int(blob.count)
            bytes(blob)
        }
    }
}

extension ByteReader {
    /// What `ByteWriter.contentBlobs` wrote: where each key's bytes lie; nil when the bytes lie.
    package mutating func contentBlobs() -> [LintCache.ContentKey: Range<Int>]? {
        guard let count = int(), count >= 0 else { return nil }
        var entries: [LintCache.ContentKey: Range<Int>] = [:]
        for _ in 0..<count {
            guard let high = uint64(), let low = uint64(), let length = int(), length >= 0, offset + length <= bytes.endIndex
            else { return nil }
            entries[LintCache.ContentKey(high: high, low: low)] = offset..<(offset + length)
            offset += length
        }
        return entries
    }
}

/// Little-endian, length-prefixed values.
package struct ByteWriter {
    package var buffer: [UInt8] = []

    package init() {}

    package mutating func bytes(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }
    package mutating func uint64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) } }
    package mutating func int(_ value: Int) { uint64(UInt64(bitPattern: Int64(value))) }
    package mutating func bool(_ value: Bool) { buffer.append(value ? 1 : 0) }
    package mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        int(utf8.count)
        buffer.append(contentsOf: utf8)
    }
    package mutating func optionalString(_ value: String?) {
        bool(value != nil)
        if let value { string(value) }
    }
    package mutating func strings(_ values: [String]) {
        int(values.count)
        for value in values { string(value) }
    }
}

package struct ByteReader {
    package let bytes: ArraySlice<UInt8>
    package var offset: Int

    package init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        offset = bytes.startIndex
    }

    package mutating func uint64() -> UInt64? {
        guard offset + 8 <= bytes.endIndex else { return nil }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += 8
        return value
    }
    package mutating func int() -> Int? { uint64().map { Int(Int64(bitPattern: $0)) } }
    package mutating func bool() -> Bool? {
        guard offset < bytes.endIndex else { return nil }
        defer { offset += 1 }
        return bytes[offset] != 0
    }
    package mutating func string() -> String? {
        guard let count = int(), count >= 0, offset + count <= bytes.endIndex else { return nil }
        defer { offset += count }
        return String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
    }
    /// `.some(nil)` for an absent value; nil when the bytes end or lie.
    package mutating func optionalString() -> String?? {
        guard let present = bool() else { return nil }
        guard present else { return .some(nil) }
        guard let value = string() else { return nil }
        return .some(value)
    }
    package mutating func strings() -> [String]? {
        guard let count = int(), count >= 0, count <= bytes.count else { return nil }
        var values: [String] = []
        for _ in 0..<count {
            guard let value = string() else { return nil }
            values.append(value)
        }
        return values
    }
}
