import Foundation
import MacvtapKit
import MacvtapXML
import Testing

@Suite("Minimal-diff edits on domain documents")
struct EditTests {
    static let spec = DirectInterfaceSpec(
        sourceDevice: "eth0", mode: .bridge, mac: MACAddress("52:54:00:ab:cd:ef"), alias: "ua-test")

    /// Adds, checks the diff only adds lines, removes, and checks the bytes are the original's.
    /// Documents without a `<devices>` element get one on add, so they are covered by
    /// `addsIntoUnusualLayouts` instead.
    static func assertAddThenRemoveRestores(_ bytes: [UInt8], name: String) throws {
        let document = try DomainDocument(bytes: bytes, fileName: name)
        let mac = try #require(MACAddress("02:fe:ed:00:00:01"))
        guard document.interfaces.allSatisfy({ $0.macAddress != mac }) else { return }
        guard let devices = document.xml.root?.firstChild(named: "devices"), !devices.children.isEmpty else { return }
        let added = try document.addingInterface(Self.spec.with(mac: mac).elementSpec)
        let diff = UnifiedDiff.make(original: bytes, edited: added, originalName: "a", editedName: "b")
        let changed = diff.split(separator: "\n").dropFirst(3).filter { !$0.hasPrefix(" ") }
        #expect(changed.allSatisfy { $0.hasPrefix("+") }, "\(name): the add changed existing lines:\n\(diff)")
        #expect(changed.count == 6, "\(name): expected six added lines:\n\(diff)")

        let withNew = try DomainDocument(bytes: added, fileName: name)
        let entry = try #require(withNew.directInterfaces(withMAC: mac).first)
        #expect(withNew.interfaces.count == document.interfaces.count + 1)
        #expect(entry.direct?.source?.mode?.value == "bridge")
        let restored = try withNew.removingInterface(entry)
        let identical = restored == bytes
        #expect(identical, "\(name): add then remove did not give back the original bytes")
    }

    @Test func examplesAddThenRemove() throws {
        for url in Fixtures.xmlFiles(under: Fixtures.examplesDirectory.appendingPathComponent("domains")) {
            try Self.assertAddThenRemoveRestores(Fixtures.bytes(url), name: url.lastPathComponent)
        }
    }

    @Test(.enabled(if: corpusIsConfigured, "set VIRT_MACVTAP_CORPUS (the README's test command does)"))
    func libvirtCorpusAddThenRemove() throws {
        var checked = 0
        for url in try Fixtures.corpusDomainFiles() {
            let bytes = try Fixtures.bytes(url)
            guard let document = try? DomainDocument(bytes: bytes, fileName: url.path),
                document.xml.hasByteSpans
            else { continue }
            try Self.assertAddThenRemoveRestores(bytes, name: url.path)
            checked += 1
        }
        #expect(checked > 2000)
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
        (DirectInterfaceSpec(sourceDevice: "eth0:1"), InterfaceField.sourceDevice),
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
    }
}

extension [UInt8] {
    var withoutWhitespace: [UInt8] {
        filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x09 && $0 != 0x0D }
    }
}
