import Foundation
import MacvtapKit
import MacvtapTestSupport
import MacvtapXML
import Testing

@Suite("Minimal-diff edits on domain documents")
struct EditTests {
    static let spec = EditAssertions.spec

    @Test func examplesAddThenRemove() throws {
        var checked = 0
        for url in Fixtures.xmlFiles(under: Fixtures.examplesDirectory.appendingPathComponent("domains")) {
            try EditAssertions.assertAddThenRemoveRestores(Fixtures.bytes(url), name: url.lastPathComponent)
            checked += 1
        }
        #expect(checked >= 3, "only \(checked) example domains were checked")
    }

    @Test(arguments: [
        ("self-closing devices", "<domain>\n  <name>a</name>\n  <devices/>\n</domain>\n"),
        ("empty devices on one line", "<domain>\n  <name>a</name>\n  <devices></devices>\n</domain>\n"),
        ("no devices", "<domain>\n  <name>a</name>\n</domain>\n"),
        ("tabs", "<domain>\n\t<devices>\n\t\t<disk type='file'/>\n\t</devices>\n</domain>\n"),
        ("CRLF", "<domain>\r\n  <devices>\r\n    <disk type='file'/>\r\n  </devices>\r\n</domain>\r\n"),
        ("one line", "<domain><devices><disk/></devices></domain>"),
        ("no trailing newline", "<domain>\n  <devices>\n    <disk/>\n  </devices>\n</domain>"),
    ])
    func addsIntoUnusualLayouts(_ name: String, _ text: String) throws {
        let original = Array(text.utf8)
        let document = try DomainDocument(bytes: original, fileName: name)
        let added = try document.addingInterface(Self.spec.elementSpec)
        let reparsed = try DomainDocument(bytes: added, fileName: name)
        let entry = try #require(reparsed.directInterfaces.first, "\(name): no interface after add")
        #expect(entry.direct?.alias?.value == "ua-test")
        #expect(entry.direct?.source?.dev?.value == "eth0")
        let removed = try reparsed.removingInterface(entry)
        if document.xml.root?.firstChild(named: "devices")?.children.isEmpty == false {
            let identical = removed == original
            #expect(identical, "\(name): add then remove did not restore the bytes")
        } else {
            // The container had to be created or opened up; only whitespace may differ.
            let before = try XMLDocument(bytes: original, fileName: name).canonicalForm().withoutWhitespace
            let after = try XMLDocument(bytes: removed, fileName: name).canonicalForm().withoutWhitespace
            let devicesAdded = name == "no devices"
            #expect(devicesAdded || before == after, "\(name): remove after add changed the document")
        }
    }

    @Test func newInterfaceIsIndentedLikeItsSiblings() throws {
        let url = Fixtures.examplesDirectory.appendingPathComponent("domains/db01.xml")
        let document = try DomainDocument(bytes: Fixtures.bytes(url), fileName: "db01.xml")
        let added = String(decoding: try document.addingInterface(Self.spec.elementSpec), as: UTF8.self)
        #expect(added.contains("\n        <interface type=\"direct\">\n            <mac address=\"52:54:00:ab:cd:ef\"/>\n"))
        #expect(added.contains("\n            <alias name=\"ua-test\"/>\n        </interface>\n    </devices>"))
    }

    @Test func replaceChangesOnlyThatInterface() throws {
        let url = Fixtures.examplesDirectory.appendingPathComponent("domains/web01.xml")
        let bytes = try Fixtures.bytes(url)
        let document = try DomainDocument(bytes: bytes, fileName: "web01.xml")
        let target = try #require(document.directInterfaces.first)
        let replaced = try document.replacingInterface(target, with: Self.spec.elementSpec)
        let diff = UnifiedDiff.make(original: bytes, edited: replaced, originalName: "a", editedName: "b")
        let lines = diff.split(separator: "\n").dropFirst(3)
        // The old element's four lines before its shared `</interface>` go; five new lines come.
        #expect(lines.filter { $0.hasPrefix("-") }.count == 4, "\(diff)")
        #expect(lines.filter { $0.hasPrefix("+") }.count == 5, "\(diff)")
        #expect(lines.filter { $0.hasPrefix("-") }.allSatisfy { $0.contains("interface") || $0.contains("mac") || $0.contains("source") || $0.contains("model") })
        #expect(String(decoding: replaced, as: UTF8.self).contains("<!-- uplink: same L2 as the load balancers -->"))
    }

    @Test(arguments: [
        "eth0' mode='passthrough", "eth0\" mode=\"passthrough", "x\"/><evil/><y a=\"", "a&b<c>d", "é€😀",
        "line\nbreak\ttab",
    ])
    func hostileValuesAreEscapedNeverStructural(value: String) throws {
        let spec = XMLElementSpec(
            "interface", attributes: [("type", "direct")],
            children: [XMLElementSpec("source", attributes: [("dev", value), ("mode", "vepa")])])
        let bytes = try XMLFragmentWriter.serialize(spec)
        let document = try XMLDocument(bytes: bytes, fileName: "fragment")
        let root = try #require(document.root)
        #expect(root.children.map(\.name) == ["source"])
        let source = try #require(root.firstChild(named: "source"))
        #expect(source.attributes.map(\.name) == ["dev", "mode"])
        #expect(source.attribute("dev") == value)
        #expect(source.attribute("mode") == "vepa")
    }

    @Test func unrepresentableCharactersAreRefused() throws {
        let spec = XMLElementSpec("source", attributes: [("dev", "eth\u{1}0")])
        #expect(throws: XMLValueError.self) { try XMLFragmentWriter.serialize(spec) }
    }

    @Test(arguments: [
        (DirectInterfaceSpec(sourceDevice: "eth0' mode='passthrough"), InterfaceField.sourceDevice),
        (DirectInterfaceSpec(sourceDevice: ""), InterfaceField.sourceDevice),
        (DirectInterfaceSpec(sourceDevice: "averyveryverylongname"), InterfaceField.sourceDevice),
        (DirectInterfaceSpec(sourceDevice: "eth0/1"), InterfaceField.sourceDevice),
        (DirectInterfaceSpec(sourceDevice: "eth0", targetDevice: "macvtap3"), InterfaceField.targetDevice),
        (DirectInterfaceSpec(sourceDevice: "eth0", targetDevice: "vnet0"), InterfaceField.targetDevice),
        (DirectInterfaceSpec(sourceDevice: "eth0", mac: MACAddress("01:00:5e:00:00:01")), InterfaceField.mac),
        (DirectInterfaceSpec(sourceDevice: "eth0", mac: MACAddress("00:00:00:00:00:00")), InterfaceField.mac),
        (DirectInterfaceSpec(sourceDevice: "eth0", model: "virtio'"), InterfaceField.model),
        (DirectInterfaceSpec(sourceDevice: "eth0", alias: "net0"), InterfaceField.alias),
        (DirectInterfaceSpec(sourceDevice: "eth0", alias: "ua-a b"), InterfaceField.alias),
    ])
    func invalidRequestsAreRefused(spec: DirectInterfaceSpec, field: InterfaceField) throws {
        let error = try #require(throws: InterfaceSpecError.self) { try spec.validated() }
        #expect(error.field == field)
        #expect(!error.description.contains("--"), "the library names no command-line option: \(error)")
        // Judged by the rule that judges the same value in a file: its id is in the problem.
        #expect(error.problem.contains("[") && error.problem.hasSuffix("]"), "\(error)")
    }

    @Test("A value is judged by the lint rules alone: what they accept (an alias label, which the kernel resolves to its device) is accepted")
    func valuesAreJudgedByTheRules() throws {
        #expect(throws: Never.self) { try DirectInterfaceSpec(sourceDevice: "eth0:1").validated() }
        let lint = try Linter(configuration: LintConfiguration())
            .lint([.memory(Array("<interface type='direct'><source dev='eth0:1' mode='bridge'/></interface>".utf8), name: "nic.xml")])
        #expect(!lint.findings.contains { $0.ruleID == "source-dev-invalid" })
    }
}

extension [UInt8] {
    var withoutWhitespace: [UInt8] {
        filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x09 && $0 != 0x0D }
    }
}
