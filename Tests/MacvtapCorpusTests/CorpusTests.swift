import Foundation
import MacvtapKit
import MacvtapTestSupport
import MacvtapXML
import Testing

/// What needs libvirt's own test XML (about 2,400 domain files): `TestGate.corpus`.
@Suite("libvirt's corpus: edits, spans and the lint cache over libvirt 9.0.0's test XML", TestGate.corpus.trait)
struct CorpusTests {
    @Test("VIRT_MACVTAP_CORPUS set: the corpus is there", TestGate.corpus.trait)
    func gate() {
        #expect(TestGate.corpus.unsatisfied() == nil, "\(TestGate.corpus.unsatisfied() ?? "")")
    }

    @Test
    func libvirtCorpusAddThenRemove() throws {
        var checked = 0
        for url in try Fixtures.corpusDomainFiles() {
            let bytes = try Fixtures.bytes(url)
            guard let document = try? DomainDocument(bytes: bytes, fileName: url.path),
                document.xml.hasByteSpans
            else { continue }
            try EditAssertions.assertAddThenRemoveRestores(bytes, name: url.path)
            checked += 1
        }
        #expect(checked > 2000)
    }

    @Test
    func spansMatchEveryElementOfTheLibvirtCorpus() throws {
        var checked = 0
        for url in try Fixtures.corpusDomainFiles() {
            guard let document = try? XMLDocument(bytes: Fixtures.bytes(url), fileName: url.path) else { continue }
            guard document.hasByteSpans else { continue }
            try SpanAssertions.assertSpansMatchNames(document)
            checked += 1
        }
        #expect(checked > 2000)
    }

    @Test("Over libvirt's corpus: cold and warm cached runs say exactly what --no-cache says")
    func corpus() throws {
        let directory = try #require(Fixtures.corpusDirectory)
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("cache-corpus-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let uncached = try lint(directory, cache: nil)
        #expect(try lint(directory, cache: cache) == uncached)
        #expect(try lint(directory, cache: cache) == uncached)
    }

    func lint(_ files: URL, cache: URL?) throws -> String {
        let options = cache.map { ["--cache-dir", $0.path] } ?? ["--no-cache"]
        return try Tool.run(["lint", "--format", "json"] + options + [files.path]).standardOutput
    }
}
