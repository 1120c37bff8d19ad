import Foundation
import MacvtapKit
import MacvtapTestSupport
import MacvtapXML
import Testing

/// The lint cache: a cached lint says exactly what an uncached one says — cold, warm, after a
/// change, with a corrupt or foreign pack, under another configuration, and with two runs at once.
@Suite("lint cache")
struct LintCacheTests {
    static func scratch() throws -> (files: URL, cache: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID().uuidString)")
        let files = root.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.examplesDirectory.appendingPathComponent("fleet/hosts"), to: files)
        for name in ["good", "bad"] {
            try FileManager.default.copyItem(
                at: Fixtures.examplesDirectory.appendingPathComponent("lint/\(name)"), to: files.appendingPathComponent(name))
        }
        // Enough files for the cache to be used (LintCache.minimumFiles).
        for index in 0..<LintCache.minimumFiles {
            try
                "<domain type='kvm'><name>gen\(index)</name><devices><interface type='direct'><mac address='52:54:00:c0:00:\(String(format: "%02x", index))'/><source dev='eth\(index % 3)' mode='bridge'/><model type='virtio'/></interface></devices></domain>\n"
                .write(to: files.appendingPathComponent("gen\(index).xml"), atomically: true, encoding: .utf8)
        }
        return (files, root.appendingPathComponent("cache"))
    }

    /// The content key tells apart what a cache must never confuse: one bit anywhere (in a full
    /// word or in the tail), a trailing zero byte (the same words, one byte longer), and swapped
    /// words; 10,000 near-identical contents give 10,000 keys.
    @Test func contentKeysTellNearContentsApart() {
        let base = Array("<domain type='kvm'><name>vm1</name><devices/></domain>\n".utf8)
        var variants: [[UInt8]] = [base, base + [0], Array(base.dropLast()), Array(base[8..<16] + base[0..<8] + base[16...])]
        for index in base.indices {
            var flipped = base
            flipped[index] ^= 1
            variants.append(flipped)
        }
        for number in 0..<10_000 { variants.append(base + Array(String(number).utf8)) }
        let keys = variants.map { LintCache.ContentKey($0) }
        #expect(Set(keys.map { "\($0.high)-\($0.low)" }).count == variants.count)
        #expect(LintCache.ContentKey(base) == LintCache.ContentKey(Array(base)))
    }

    static func lint(_ files: URL, cache: URL?, _ extra: [String] = []) throws -> String {
        let options = cache.map { ["--cache-dir", $0.path] } ?? ["--no-cache"]
        return try Tool.run(["lint", "--format", "json"] + options + extra + [files.path]).standardOutput
    }

    static func packs(_ cache: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: cache, includingPropertiesForKeys: nil)) ?? []).filter { $0.pathExtension == "pack" }
    }

    @Test("Cold and warm runs say what --no-cache says; one changed file is linted afresh, the cross-file findings follow it")
    func sameFindings() throws {
        let (files, cache) = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: files.deletingLastPathComponent()) }
        let uncached = try Self.lint(files, cache: nil)
        #expect(try Self.lint(files, cache: cache) == uncached, "cold run differs")
        #expect(Self.packs(cache).count == 1)
        #expect(try Self.lint(files, cache: cache) == uncached, "warm run differs")

        // web02 takes web01's MAC: a cross-file finding that only the changed file can cause.
        let web02 = files.appendingPathComponent("b/web02.xml")
        try (try String(contentsOf: web02, encoding: .utf8)).replacingOccurrences(of: "52:54:00:f1:b0:01", with: "52:54:00:f1:a0:01")
            .write(to: web02, atomically: true, encoding: .utf8)
        let changed = try Self.lint(files, cache: nil)
        #expect(changed != uncached && changed.contains("mac-duplicate-across-domains"))
        #expect(try Self.lint(files, cache: cache) == changed, "the run after a change differs")
    }

    @Test(
        "What the cache stores of a file reads back field for field: findings with fixes and related places, the summary's interfaces (a guest-set MAC, a target name, a VLAN, a network), suppressions"
    )
    func aCachedFileReadsBackAsItWasStored() throws {
        let xml = """
            <domain type='kvm'><name>web</name><uuid>6f1c0a32-9d3e-4c5b-8f7a-2b1e0c9d8a71</uuid>
              <!-- virt-macvtap: disable-file mac-foreign-oui -->
              <devices>
                <interface type='direct'><mac address='52:54:00:AA:00:01' currentAddress='52:54:00:aa:00:99'/>
                  <source dev='eth0' mode='VEPA'/><target dev='web-lan'/><vlan><tag id='42'/></vlan><model type='virtio'/></interface>
                <!-- virt-macvtap: disable model-missing -->
                <interface type='network'><mac address='00:11:22:33:44:55'/><source network='lan'/></interface>
              </devices>
            </domain>
            """
        let document = try DomainDocument(bytes: Array(xml.utf8), fileName: "web.xml")
        let report = try Linter(configuration: LintConfiguration()).lint([.memory(Array(xml.utf8), name: "web.xml")])
        #expect(report.findings.contains { $0.correction != nil }, "the sample has a finding with a fix")
        let stored = CachedFile(
            findings: report.findings, summary: DocumentSummary(document), network: nil, suppressions: Suppressions(document.xml))
        let read = try #require(CachedFile.decode(stored.encoded()[...], file: "web.xml"))
        #expect(read.findings == stored.findings)
        #expect(read.summary?.interfaces == stored.summary?.interfaces)
        #expect(read.summary?.interfaces.first?.currentMACAddress?.description == "52:54:00:aa:00:99")
        #expect(read.summary?.interfaces.first?.targetDev?.value == "web-lan")
        #expect(read.summary?.interfaces.first?.direct?.vlanPosition != nil)
        #expect(read.summary?.interfaces.last?.sourceNetwork?.value == "lan")
        #expect(read.summary?.uuid == stored.summary?.uuid && read.summary?.ownedTargetPrefixes == stored.summary?.ownedTargetPrefixes)
        #expect(read.suppressions.fileWide == stored.suppressions.fileWide && read.suppressions.ranges.count == stored.suppressions.ranges.count)
        // The same content at another path is that path's result.
        let elsewhere = try #require(CachedFile.decode(stored.encoded()[...], file: "copy/web.xml"))
        #expect(elsewhere.findings.allSatisfy { $0.file == "copy/web.xml" } && elsewhere.summary?.file == "copy/web.xml")
        #expect(CachedFile.decode(stored.encoded().dropLast(3), file: "web.xml") == nil, "a truncated entry is no result")
    }

    @Test("A corrupt pack is ignored and rewritten; another configuration has a pack of its own")
    func corruptAndConfigured() throws {
        let (files, cache) = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: files.deletingLastPathComponent()) }
        let uncached = try Self.lint(files, cache: nil)
        _ = try Self.lint(files, cache: cache)
        let pack = try #require(Self.packs(cache).first)
        try Data("not a pack at all".utf8).write(to: pack)
        #expect(try Self.lint(files, cache: cache) == uncached, "a corrupt pack changed the findings")
        #expect(try Data(contentsOf: pack).starts(with: Data("virt-macvtap lint cache".utf8)), "the corrupt pack was not rewritten")
        // A truncated pack too.
        let whole = try Data(contentsOf: pack)
        try whole.prefix(whole.count / 2).write(to: pack)
        #expect(try Self.lint(files, cache: cache) == uncached)

        let disabled = try Self.lint(files, cache: cache, ["--disable", "mac-duplicate-in-domain"])
        #expect(disabled == (try Self.lint(files, cache: nil, ["--disable", "mac-duplicate-in-domain"])))
        #expect(Self.packs(cache).count == 2, "another configuration must not reuse the first pack")
    }

    @Test("Two runs at once on one cache both say what --no-cache says, and leave a readable pack")
    func concurrentRuns() throws {
        let (files, cache) = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: files.deletingLastPathComponent()) }
        let uncached = try Self.lint(files, cache: nil)
        let command = "'\(Tool.executable.path)' lint --format json --cache-dir '\(cache.path)' '\(files.path)'"
        let both = try Sandbox.shell("(\(command) > '\(cache.path).1') & (\(command) > '\(cache.path).2'); wait")
        #expect(both.status == 0)
        for suffix in [".1", ".2"] {
            #expect(try String(contentsOfFile: cache.path + suffix, encoding: .utf8) == uncached, "a concurrent run differs")
        }
        #expect(try Self.lint(files, cache: cache) == uncached)
    }

}
