import Foundation
import MacvtapKit
import MacvtapTestSupport
import MacvtapXML
import Testing

@Suite("Lossless round trip: parse → serialize keeps the canonical form")
struct RoundTripTests {
    static func assertRoundTrip(_ bytes: [UInt8], name: String) throws {
        let original = try XMLDocument(bytes: bytes, fileName: name)
        let reparsed = try XMLDocument(bytes: original.serialized(), fileName: name + " (serialized)")
        let before = try original.canonicalForm()
        let after = try reparsed.canonicalForm()
        #expect(before == after, "\(name): canonical form changed in a round trip")
        #expect(String(decoding: before, as: UTF8.self).contains("<!--") == bytes.containsComment)
    }

    @Test func examplesRoundTrip() throws {
        let files = Fixtures.xmlFiles(under: Fixtures.examplesDirectory)
        #expect(files.count >= 4)
        for url in files {
            try Self.assertRoundTrip(Fixtures.bytes(url), name: url.lastPathComponent)
        }
    }

    @Test(.enabled(if: corpusIsConfigured, "set VIRT_MACVTAP_CORPUS (the README's test command does)"))
    func libvirtCorpusRoundTrips() throws {
        var checked = 0
        for url in try Fixtures.corpusDomainFiles() {
            let bytes = try Fixtures.bytes(url)
            // libvirt's tests include files that are broken on purpose; those must fail to
            // parse, not crash, and are not round-trip material.
            guard (try? XMLDocument(bytes: bytes, fileName: url.path)) != nil else { continue }
            try Self.assertRoundTrip(bytes, name: url.path)
            checked += 1
        }
        #expect(checked > 2000, "only \(checked) corpus files round-tripped")
    }

    @Test func commentsAndUnknownElementsSurvive() throws {
        let text = "<domain><!-- keep me --><x:y xmlns:x='urn:x' a='1'>t</x:y><devices/></domain>"
        let document = try XMLDocument(bytes: Array(text.utf8), fileName: "c.xml")
        let serialized = String(decoding: document.serialized(), as: UTF8.self)
        #expect(serialized.contains("<!-- keep me -->"))
        #expect(serialized.contains("<x:y xmlns:x=\"urn:x\" a=\"1\">t</x:y>"))
    }
}

extension [UInt8] {
    var containsComment: Bool {
        String(decoding: self, as: UTF8.self).contains("<!--")
    }
}
