import Foundation
import MacvtapKit
import MacvtapTestSupport
import MacvtapXML
import Testing

@Suite("Schemas: ours for one interface, libvirt's for the whole domain")
struct SchemaTests {
    static let interfaceSchema: RelaxNGSchema = try! SchemaLocator.loadInterfaceSchema()

    static var allOptionCombinations: [DirectInterfaceSpec] {
        MacvtapMode.allCases.flatMap { mode in
            [
                DirectInterfaceSpec(sourceDevice: "eth0", mode: mode),
                DirectInterfaceSpec(
                    sourceDevice: "enp3s0f0v1", mode: mode, model: "e1000e", targetDevice: "guest-tap1",
                    alias: "ua-uplink_1", trustGuestRxFilters: true),
            ]
        }
    }

    @Test func findsOurSchemaInTheCheckout() throws {
        let path = try SchemaLocator.interfaceSchemaPath()
        #expect(path.hasSuffix("Schemas/interface-direct.rng"))
    }

    @Test func generatedInterfacesValidateAgainstOurSchema() throws {
        let renderer = InterfaceRenderer(schema: Self.interfaceSchema)
        for spec in Self.allOptionCombinations {
            for mac in try MACAllocator(space: .qemuDefault).allocate(count: 20, taken: []).map(\.mac) {
                let bytes = try renderer.render(spec.with(mac: mac))
                let document = try XMLDocument(bytes: bytes, fileName: "generated")
                #expect(Self.interfaceSchema.validate(document).isEmpty)
            }
        }
    }

    @Test func generatedInterfacesValidateAgainstLibvirtDomainSchemaInAMinimalDomain() throws {
        let domainSchema = try SchemaLocator.loadDomainSchema()
        let renderer = InterfaceRenderer(schema: Self.interfaceSchema)
        let skeleton = Array(
            """
            <domain type='qemu'>
              <name>schema-check</name>
              <memory unit='MiB'>64</memory>
              <os><type arch='x86_64'>hvm</type></os>
              <devices>
              </devices>
            </domain>

            """.utf8)
        for spec in Self.allOptionCombinations {
            let generated = try renderer.render(spec.with(mac: try MACAllocator(space: .qemuDefault).allocate(count: 1, taken: [])[0].mac))
            let domain = try DomainDocument(bytes: skeleton, fileName: "minimal.xml")
            let element = try XMLDocument(bytes: generated, fileName: "generated")
            let wrapped = try domain.addingInterface(Self.spec(of: try #require(element.root)))
            let document = try XMLDocument(bytes: wrapped, fileName: "minimal.xml")
            let problems = domainSchema.validate(document)
            #expect(problems.isEmpty, "domain.rng: \(problems.map(\.description))")
        }
    }

    @Test(arguments: [
        ("multicast MAC", "<mac address='01:00:5e:00:00:01'/>"),
        ("all-zero MAC", "<mac address='00:00:00:00:00:00'/>"),
        ("one-digit octet", "<mac address='52:54:0:1:2:3'/>"),
        ("dash separators", "<mac address='52-54-00-01-02-03'/>"),
        ("alias without ua-", "<alias name='net0'/>"),
        ("mtu", "<mtu size='9000'/>"),
        ("filterref", "<filterref filter='clean-traffic'/>"),
        ("coalesce", "<coalesce><rx><frames max='7'/></rx></coalesce>"),
        ("guest-side ip", "<ip address='192.0.2.5'/>"),
        ("unmanaged target", "<target dev='tap0' managed='no'/>"),
        ("too long target", "<target dev='abcdefghijklmnop'/>"),
        ("colon in target", "<target dev='tap:1'/>"),
        ("acpi index 0", "<acpi index='0'/>"),
        ("openvswitch virtualport", "<virtualport type='openvswitch'/>"),
        ("untyped virtualport", "<virtualport/>"),
        ("vlan trunk no", "<vlan trunk='no'><tag id='1'/></vlan>"),
        ("bandwidth floor", "<bandwidth><inbound average='10' floor='5'/></bandwidth>"),
        ("unknown element", "<frobnicate/>"),
    ])
    func ourSchemaIsStricterWhereLibvirtIsLax(_ label: String, _ extra: String) throws {
        let text = "<interface type='direct'><source dev='eth0' mode='vepa'/>\(extra)</interface>"
        let document = try XMLDocument(bytes: Array(text.utf8), fileName: label)
        #expect(!Self.interfaceSchema.validate(document).isEmpty, "\(label) should be refused")
    }

    @Test(arguments: ["VEPA", "source", "passthru"])
    func enumeratedModeOnly(mode: String) throws {
        let text = "<interface type='direct'><source dev='eth0' mode='\(mode)'/></interface>"
        let document = try XMLDocument(bytes: Array(text.utf8), fileName: mode)
        #expect(!Self.interfaceSchema.validate(document).isEmpty)
    }

    @Test func validatesAnElementInPlaceWithOriginalPositions() throws {
        let text = """
            <domain type='kvm'>
              <devices>
                <interface type='direct'>
                  <source dev='eth0' mode='Bridge'/>
                </interface>
              </devices>
            </domain>
            """
        let document = try DomainDocument(bytes: Array(text.utf8), fileName: "d.xml")
        let interface = try #require(document.directInterfaces.first)
        let problems = Self.interfaceSchema.validate(document.element(of: interface))
        let first = try #require(problems.first)
        #expect(first.file == "d.xml")
        #expect(first.position.line == 4)
        #expect(first.position.column == 7)
    }

    /// Rebuilds an XMLElementSpec from a parsed element (for wrapping generated XML in a domain).
    static func spec(of element: XMLElement) -> XMLElementSpec {
        XMLElementSpec(
            element.name, attributes: element.attributes.map { ($0.name, $0.value) },
            children: element.children.map(spec(of:)))
    }
}

@Suite("Schema search path")
struct SchemaLocatorTests {
    /// A scratch install prefix (`bin/`, `share/virt-macvtap/schemas/`) holding `item` of Schemas/.
    static func installPrefix(with item: String) throws -> (prefix: URL, schemas: URL) {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("prefix-\(UUID().uuidString)")
        let schemas = prefix.appendingPathComponent("share/virt-macvtap/schemas")
        try FileManager.default.createDirectory(at: schemas, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: prefix.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: Fixtures.schemasDirectory.appendingPathComponent(item), to: schemas.appendingPathComponent(item))
        return (prefix, schemas)
    }

    @Test func findsTheInstalledLayoutBeforeTheCheckout() throws {
        let (prefix, schemas) = try Self.installPrefix(with: "interface-direct.rng")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let found = try SchemaLocator.interfaceSchemaPath(
            environment: [:], executableDirectory: prefix.appendingPathComponent("bin").path)
        #expect(found == schemas.appendingPathComponent("interface-direct.rng").path)
    }

    @Test func environmentOverrideComesFirst() throws {
        let found = try SchemaLocator.interfaceSchemaPath(
            environment: ["VIRT_MACVTAP_SCHEMA_DIR": Fixtures.schemasDirectory.path], executableDirectory: "/nonexistent")
        #expect(found == Fixtures.schemasDirectory.appendingPathComponent("interface-direct.rng").path)
    }

    @Test func anExplicitMissingSchemaIsAClearError() throws {
        let error = try #require(throws: SchemaLoadError.self) {
            _ = try SchemaLocator.loadDomainSchema(path: "/nonexistent/domain.rng")
        }
        #expect(error.description.contains("/nonexistent/domain.rng"))
    }

    @Test("Both bundled libvirt releases are found from the executable's location, each a whole schema set")
    func bundledReleasesAreFoundFromTheExecutable() throws {
        let (prefix, schemas) = try Self.installPrefix(with: "libvirt")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let bin = prefix.appendingPathComponent("bin").path
        let releases = LibvirtSchemas.bundledReleases(environment: [:], executableDirectory: bin)
        #expect(releases.keys.sorted() == [LibvirtRelease(major: 9, minor: 0), LibvirtRelease(major: 11, minor: 3)])
        let chosen = try LibvirtSchemas.locate(release: LibvirtRelease("11.3"), environment: [:], executableDirectory: bin)
        #expect(chosen.origin == .bundled(LibvirtRelease(major: 11, minor: 3)))
        #expect(chosen.directory == schemas.appendingPathComponent("libvirt/11.3").path)
        // domain.rng includes its neighbours: the set compiles as it is laid out.
        for release in releases.keys {
            #expect(throws: Never.self) { _ = try SchemaLocator.loadDomainSchema(path: releases[release]! + "/domain.rng") }
        }
        let missing = try #require(throws: SchemaNotFound.self) {
            _ = try LibvirtSchemas.locate(release: LibvirtRelease("10.0"), environment: [:], executableDirectory: bin)
        }
        #expect(missing.description.contains("bundled releases: 9.0, 11.3"), "\(missing)")
    }

    @Test("A release is major.minor (a micro number is dropped); anything else is not one")
    func releaseParsing() {
        #expect(LibvirtRelease("11.3") == LibvirtRelease(major: 11, minor: 3))
        #expect(LibvirtRelease("11.3.0") == LibvirtRelease(major: 11, minor: 3))
        #expect(LibvirtRelease(libraryVersion: 9_000_000) == LibvirtRelease(major: 9, minor: 0))
        for bad in ["", "11", "11.", ".3", "11.3.", "a.b", "11.3.0.1", "-1.0", " 9.0"] { #expect(LibvirtRelease(bad) == nil, "\(bad)") }
        #expect(LibvirtRelease("9.0")! < LibvirtRelease("11.3")!)
    }

    @Test("The shipped binary looks for no source checkout: only an executable inside one finds it")
    func sourceCheckoutComesFromTheExecutablesPath() throws {
        #expect(SchemaLocator.sourceCheckout(containing: "/usr/bin") == nil)
        #expect(!SchemaLocator.ownSchemaDirectories(environment: [:], executableDirectory: "/usr/bin").contains { $0.hasSuffix("/Schemas") })
        let inside = Fixtures.packageRoot.appendingPathComponent(".build/x86_64-unknown-linux-gnu/debug").path
        #expect(SchemaLocator.sourceCheckout(containing: inside) == Fixtures.packageRoot.standardized.path)
    }
}

@Suite("lint --libvirt-version: the bundled schemas of each release")
struct LibvirtReleaseSchemaTests {
    /// libvirt 11.3 widened `<bandwidth>` rates from unsignedInt to 2^54 (libvirt-versions.md):
    /// 9.0's schema refuses 5,000,000,000; 11.3's takes it.
    static let wideBandwidth = """
        <domain type='kvm'><name>bw</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os>
        <devices><interface type='direct'><mac address='52:54:00:00:00:61'/><source dev='eth0' mode='bridge'/>
        <model type='virtio'/><bandwidth><inbound average='5000000000'/></bandwidth></interface></devices></domain>
        """

    @Test func theChosenReleaseDecidesTheSchemaVerdictAndSARIFNamesIt() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let file = scratch.directory.appendingPathComponent("bw.xml")
        try Self.wideBandwidth.write(to: file, atomically: true, encoding: .utf8)
        let old = try Tool.run(["lint", "--no-cache", "--libvirt-version", "9.0", "--format", "json", file.path])
        #expect(old.standardOutput.contains("\"libvirt-schema\""), "\(old)")
        let new = try Tool.run(["lint", "--no-cache", "--libvirt-version", "11.3", "--format", "json", file.path])
        #expect(!new.standardOutput.contains("\"libvirt-schema\""), "\(new)")
        let sarif = try Tool.run(["lint", "--no-cache", "--libvirt-version", "11.3", "--format", "sarif", file.path])
        let log = try #require(try JSONSerialization.jsonObject(with: Data(sarif.standardOutput.utf8)) as? [String: Any])
        let driver = try #require(((log["runs"] as? [[String: Any]])?.first?["tool"] as? [String: Any])?["driver"] as? [String: Any])
        let schemas = try #require((driver["properties"] as? [String: Any])?["libvirtSchemas"] as? [String: String])
        #expect(schemas["origin"] == "bundled" && schemas["libvirtRelease"] == "11.3" && schemas["directory"]?.hasSuffix("/libvirt/11.3") == true)
        let unknown = try Tool.run(["lint", "--libvirt-version", "10.0", file.path])
        #expect(unknown.status == 2 && unknown.standardError.contains("'9.0' and '11.3'"), "\(unknown)")
    }
}
