import Foundation
import MacvtapTestSupport
import MacvtapXML
import Testing

@Suite("libxml2 layer: byte spans, positions, errors")
struct XMLSpanTests {
    @Test func spansCoverEachElementExactly() throws {
        let text = """
            <?xml version="1.0"?>
            <!-- leading comment -->
            <domain type='kvm'>
              <name>vm1</name>
              <devices>
                <interface type='direct'><source dev='eth0' mode="bridge"/></interface>
                <empty/>
              </devices>
            </domain>

            """
        let document = try XMLDocument(bytes: Array(text.utf8), fileName: "t.xml")
        #expect(document.hasByteSpans)
        try SpanAssertions.assertSpansMatchNames(document)
        let devices = try #require(document.root?.firstChild(named: "devices"))
        let interface = try #require(devices.firstChild(named: "interface"))
        #expect(interface.position == SourcePosition(line: 6, column: 5))
        let source = try #require(interface.firstChild(named: "source"))
        #expect(source.position == SourcePosition(line: 6, column: 30))
        #expect(source.position(ofAttribute: "mode") == SourcePosition(line: 6, column: 49))
        #expect(source.position(ofAttribute: "dev") == SourcePosition(line: 6, column: 38))
    }

    @Test func columnsCountCodePointsNotBytes() throws {
        let text = "<domain>\n  <description>é€😀</description><name>x</name>\n</domain>\n"
        let document = try XMLDocument(bytes: Array(text.utf8), fileName: "u.xml")
        let name = try #require(document.root?.firstChild(named: "name"))
        #expect(name.position == SourcePosition(line: 2, column: 3 + "<description>é€😀</description>".count))
    }

    @Test func parseErrorsAreValuesWithPositions() throws {
        let text = "<domain>\n  <name>vm1</nam>\n</domain>\n"
        let error = try #require(throws: XMLParseError.self) {
            try XMLDocument(bytes: Array(text.utf8), fileName: "broken.xml")
        }
        let first = try #require(error.diagnostics.first)
        #expect(first.file == "broken.xml")
        #expect(first.position.line == 2)
        #expect(first.message.contains("mismatch"))
        #expect(error.description.hasPrefix("broken.xml:2:"))
    }

    @Test func lineNumbersPast65535AreKept() throws {
        var text = "<domain>\n"
        for _ in 0..<70_000 { text += "<!-- filler -->\n" }
        text += "<name>far</name>\n</domain>\n"
        let document = try XMLDocument(bytes: Array(text.utf8), fileName: "long.xml")
        let name = try #require(document.root?.firstChild(named: "name"))
        #expect(name.position.line == 70_002)
    }
}
