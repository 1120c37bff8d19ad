import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing

@Suite("Live commands: the pure parts (URI, scope, preflight) and read-only use of libvirt's test driver")
struct LiveUnitTests {
    @Test("The URI: -c, else LIBVIRT_DEFAULT_URI, else qemu:///system")
    func uriResolution() {
        #expect(LibvirtURI.resolve("test:///default", environment: ["LIBVIRT_DEFAULT_URI": "qemu:///session"]) == "test:///default")
        #expect(LibvirtURI.resolve(nil, environment: ["LIBVIRT_DEFAULT_URI": "qemu:///session"]) == "qemu:///session")
        #expect(LibvirtURI.resolve(nil, environment: ["LIBVIRT_DEFAULT_URI": ""]) == "qemu:///system")
        #expect(LibvirtURI.resolve(nil, environment: [:]) == "qemu:///system")
    }

    @Test("--live/--config/--current/--persistent mean what they mean in virsh")
    func scopes() throws {
        func copies(_ asked: DomainCopies, active: Bool) -> String { asked.resolved(domainIsActive: active).description }
        #expect(copies(.current, active: true) == "live")
        #expect(copies(.current, active: false) == "config")
        #expect(copies(.live, active: true) == "live")
        #expect(copies(.config, active: true) == "config")
        #expect(copies([.live, .config], active: true) == "live+config")
        #expect(copies(.persistent, active: true) == "live+config")
        #expect(copies(.persistent, active: false) == "config")
        #expect(copies([.persistent, .live], active: false) == "live+config", "--persistent --live asks for the running copy outright")
        // virsh's exclusions are the command line's (usage errors, exit 2), before anything connects.
        for arguments in [["--live", "--current"], ["--config", "--current"], ["--persistent", "--current"]] {
            let usage = try Tool.run(["attach", "vm1", "--source", "eth0", "-c", "test:///nonexistent/host.xml"] + arguments)
            #expect(usage.status == 2 && usage.standardError.contains("--current cannot be combined"), "\(arguments): \(usage.standardError)")
        }
    }

    static func domain(_ name: String, _ interfaces: String) throws -> DocumentSummary {
        let xml = "<domain type='kvm'><name>\(name)</name><devices>\(interfaces)</devices></domain>"
        return DocumentSummary(try DomainDocument(bytes: Array(xml.utf8), fileName: name))
    }

    static func inventory(_ domains: [DocumentSummary]) -> HostInventory {
        HostInventory(
            uri: "test:///host", domains: domains,
            hostInterfaces: [
                .init(name: "eth0", mac: MACAddress("52:54:00:ee:ee:01")),
                .init(name: "eth1", mac: MACAddress("52:54:00:ee:ee:02")),
                .init(name: "wlan0", mac: MACAddress("52:54:00:ee:ee:03"), isWireless: true),
            ])
    }

    static let other = """
        <interface type='direct'><mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/></interface>
        <interface type='network'><mac address='52:54:00:00:00:02'/><source network='default'/></interface>
        """

    static let linter = Linter(rulesOnly: Linter.attachConfiguration)

    /// The attach preflight's verdict on adding `specs` to domain `name` (as `inventory` has it):
    /// the lint rules over the candidate domain against the host.
    static func notes(_ specs: [DirectInterfaceSpec], to name: String, on inventory: HostInventory) throws -> [PreflightNote] {
        let interfaces = name == "web" ? other : ""
        let xml = "<domain type='kvm'><name>\(name)</name><devices>\(interfaces)</devices></domain>"
        let original = try DomainDocument(bytes: Array(xml.utf8), fileName: "\(name) (live XML)")
        return AttachPreflight.ruleNotes(adding: specs.map(RequestedNIC.direct), to: original, inventory: inventory, linter: linter)
    }

    @Test("Refusals are the lint rules': a MAC another domain, this domain or a host NIC uses; a missing or wireless source device")
    func macAndDeviceRefusals() throws {
        let host = Self.inventory([try Self.domain("web", Self.other), try Self.domain("vm1", "")])
        func refusals(_ spec: DirectInterfaceSpec, domain: String = "vm1") throws -> [PreflightNote] {
            try Self.notes([spec], to: domain, on: host).filter { $0.kind == .refusal }
        }
        let otherDomain = try refusals(DirectInterfaceSpec(sourceDevice: "eth0", mode: .bridge, mac: MACAddress("52:54:00:00:00:02")))
        #expect(otherDomain.map(\.ruleID) == ["mac-in-use-on-host"])
        #expect(otherDomain.first?.message.hasPrefix("MAC 52:54:00:00:00:02 is used by domain 'web' on test:///host") == true)
        let itself = try refusals(DirectInterfaceSpec(sourceDevice: "eth0", mode: .bridge, mac: MACAddress("52:54:00:00:00:01")), domain: "web")
        #expect(itself.map(\.ruleID) == ["mac-duplicate-in-domain"], "\(itself)")
        #expect(itself.first?.message.contains("cannot start (Address already in use)") == true)
        let hostNIC = try refusals(DirectInterfaceSpec(sourceDevice: "eth0", mode: .bridge, mac: MACAddress("52:54:00:ee:ee:02")))
        #expect(hostNIC.map(\.ruleID) == ["mac-in-use-on-host"])
        #expect(hostNIC.first?.message.contains("host interface 'eth1' on test:///host") == true)
        let missing = try refusals(DirectInterfaceSpec(sourceDevice: "eth7", mode: .bridge, mac: MACAddress("52:54:00:12:34:56")))
        #expect(missing.first?.message.contains("'eth7' does not exist on test:///host") == true)
        #expect(missing.first?.ruleID == "source-dev-on-host")
        let wireless = try refusals(DirectInterfaceSpec(sourceDevice: "wlan0", mode: .bridge, mac: MACAddress("52:54:00:12:34:56")))
        #expect(wireless.first?.message.contains("is wireless") == true)
        #expect(try refusals(DirectInterfaceSpec(sourceDevice: "eth1", mode: .bridge, mac: MACAddress("52:54:00:12:34:56"))).isEmpty)
    }

    @Test("auto MACs come from the allocator and avoid every MAC on the host, the ledger's reservations and each other")
    func autoMACs() throws {
        let host = Self.inventory([try Self.domain("web", Self.other)])
        let reserved: Set<MACAddress> = [MACAddress("52:54:00:00:00:03")!]
        let checked = AttachPreflight.choosingMACs(
            for: Array(repeating: .direct(DirectInterfaceSpec(sourceDevice: "eth1", mode: .bridge)), count: 3), inventory: host, reserved: reserved)
        let specs = checked.nics.compactMap { nic -> DirectInterfaceSpec? in
            if case .direct(let spec) = nic { return spec }
            return nil
        }
        let macs = specs.compactMap(\.mac)
        #expect(macs.count == 3 && Set(macs).count == 3)
        #expect(Set(macs).isDisjoint(with: host.usedMACs.union(reserved)))
        #expect(checked.notes.isEmpty)
        #expect(try Self.notes(specs, to: "vm1", on: host).isEmpty)
    }

    @Test("Passthrough: refused on a shared device and within one batch; nothing joins a device held by passthrough; mixed modes are advice")
    func passthroughAndModes() throws {
        let shared = Self.inventory([try Self.domain("web", Self.other)])
        let mac = MACAddress("52:54:00:12:34:56")
        let onShared = try Self.notes([DirectInterfaceSpec(sourceDevice: "eth0", mode: .passthrough, mac: mac)], to: "vm1", on: shared)
        #expect(onShared.map(\.kind) == [.refusal], "\(onShared)")
        #expect(onShared.first?.message.contains("held by this passthrough interface and also used by domain 'web'") == true)

        let batch = try Self.notes(
            [
                DirectInterfaceSpec(sourceDevice: "eth1", mode: .passthrough, mac: mac),
                DirectInterfaceSpec(sourceDevice: "eth1", mode: .passthrough, mac: MACAddress("52:54:00:12:34:57")),
            ],
            to: "vm1", on: shared)
        #expect(batch.filter { $0.kind == .refusal }.count >= 2, "\(batch)")

        let held = Self.inventory([
            try Self.domain("db", "<interface type='direct'><mac address='52:54:00:00:00:09'/><source dev='eth1' mode='passthrough'/></interface>")
        ])
        let onHeld = try Self.notes([DirectInterfaceSpec(sourceDevice: "eth1", mode: .bridge, mac: mac)], to: "vm1", on: held)
        #expect(onHeld.first?.message.contains("held by a passthrough interface of domain 'db'") == true, "\(onHeld)")

        let mixed = try Self.notes([DirectInterfaceSpec(sourceDevice: "eth0", mode: .vepa, mac: mac)], to: "vm1", on: shared)
        #expect(mixed.filter { $0.ruleID == "mixed-modes-on-host" }.map(\.kind) == [.advice], "\(mixed)")
        #expect(mixed.allSatisfy { $0.kind == .advice })
        #expect(mixed.first { $0.ruleID == "mixed-modes-on-host" }?.message.contains("in mode vepa here and in mode bridge on test:///host") == true)
    }

    @Test("list, and attach --dry-run refusals, over libvirt's test driver (read-only)")
    func testDriver() throws {
        let uri = "test://" + Fixtures.fixturesDirectory.appendingPathComponent("test-host.xml").path
        let list = try Tool.run(["list", "-c", uri, "--all", "--format", "json"])
        #expect(list.status == 0, "\(list.standardError)")
        let rows = try #require(JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(rows.first?["domain"] as? String == "running-vm")
        #expect(rows.first?["copies"] as? String == "live+config")
        #expect((rows.first?["nic"] as? [String: Any])?["mode"] as? String == "passthrough")

        // virsh's order works too: -c before the command.
        #expect(try Tool.run(["-c", uri, "list"]).standardOutput.contains("52:54:00:aa:00:01"))

        let held = try Tool.run(["attach", "running-vm", "-c", uri, "--source", "enp3s0f0v1", "--dry-run"])
        #expect(held.status == 1)
        // The new NIC, the later use, carries the finding.
        #expect(
            held.standardError.contains(
                "source device 'enp3s0f0v1' is held by a passthrough interface of this domain, so this interface cannot use it too; the kernel refuses the second macvtap (Invalid argument) [libvirt accepts this at define but the domain fails at start or hotplug]; give the passthrough interface a device of its own (an SR-IOV VF) [passthrough-shared]"
            ), "\(held.standardError)")

        let hostMAC = try Tool.run(["attach", "running-vm", "-c", uri, "--source", "eth0", "--mac", "52:54:00:ee:ee:01", "--dry-run"])
        #expect(hostMAC.status == 1)
        #expect(hostMAC.standardError.contains("host interface 'eth0'") && hostMAC.standardError.contains("[mac-in-use-on-host]"))

        let dryRun = try Tool.run(["attach", "running-vm", "-c", uri, "--source", "eth0", "--mode", "bridge", "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.standardError)")
        #expect(dryRun.standardOutput.contains("<source dev=\"eth0\" mode=\"bridge\"/>"))
        #expect(dryRun.standardOutput.contains("nothing was attached"))

        // The test driver cannot hot-plug: libvirt's own error, exit 3, and the NIC reported not attached.
        let unsupported = try Tool.run(["attach", "running-vm", "-c", uri, "--source", "eth0", "--mode", "bridge"])
        #expect(unsupported.status == 3)
        #expect(unsupported.standardOutput.contains("not attached (this function is not supported by the connection driver"))

        let unknown = try Tool.run(["list", "nope", "-c", uri])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("domain 'nope' not found"))

        let badURI = try Tool.run(["list", "-c", "nosuchdriver:///x"])
        #expect(badURI.status == 3)
        #expect(badURI.standardError.split(separator: "\n").count == 1)
    }

    @Test("A host scan with a summary cache reads what one without it reads; a second scan parses nothing; a broken pack is rewritten")
    func hostSummaryCacheChangesNothingButTheWork() throws {
        let uri = "test://" + Fixtures.fixturesDirectory.appendingPathComponent("test-host.xml").path
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hosts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func domains(_ inventory: HostInventory) throws -> Data { try encoder.encode(inventory.domains) }

        let plain = try HostInventory.scan(uri: uri)
        #expect(plain.domains.contains { $0.domainName == "running-vm" && !$0.interfaces.isEmpty })
        let first = try HostInventory.scan(uri: uri, summaryCacheDirectory: directory.path)
        HostSummaryCache.waitForSaves()
        #expect(try domains(first) == domains(plain))
        let packs = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".pack") }
        #expect(packs.count == 1)
        let pack = directory.appendingPathComponent(try #require(packs.first))
        let written = try Data(contentsOf: pack)

        // Every definition known: nothing to write, so the pack is the same file, untouched.
        let inode = try FileManager.default.attributesOfItem(atPath: pack.path)[.systemFileNumber] as? Int
        let second = try HostInventory.scan(uri: uri, summaryCacheDirectory: directory.path)
        HostSummaryCache.waitForSaves()
        #expect(try domains(second) == domains(plain))
        #expect(try FileManager.default.attributesOfItem(atPath: pack.path)[.systemFileNumber] as? Int == inode)

        try Data("not a pack".utf8).write(to: pack)
        let afterDamage = try HostInventory.scan(uri: uri, summaryCacheDirectory: directory.path)
        HostSummaryCache.waitForSaves()
        #expect(try domains(afterDamage) == domains(plain))
        #expect(try Data(contentsOf: pack) == written)
    }

    @Test("detach refuses ambiguity and unknown NICs with the candidates listed")
    func detachRefusals() throws {
        let uri = "test://" + Fixtures.fixturesDirectory.appendingPathComponent("test-host.xml").path
        let missing = try Tool.run(["detach", "running-vm", "-c", uri, "--mac", "52:54:00:99:99:99"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("no direct interface with MAC 52:54:00:99:99:99"))
        #expect(missing.standardError.contains("52:54:00:aa:00:01"))
        let usage = try Tool.run(["detach", "running-vm", "--mac", "52:54:00:99:99:99", "--alias", "net0"])
        #expect(usage.status == 2)
    }
}

@Suite("The ledger side of attach and detach (pure)")
struct LiveLedgerTests {
    @Test("A failed attach gives back only what it recorded and left unused; unknown or still attached NICs keep their MACs")
    func unusedAfterAFailedAttach() throws {
        let spec = DirectInterfaceSpec(sourceDevice: "eth0", mode: .bridge)
        let macs = (1...6).map { MACAddress(value: 0x5254_0000_0100 + UInt64($0)) }
        let states: [NICState] = [.attached, .notAttached(reason: "File exists"), .notAttempted, .rolledBack, .stillAttached(reason: "timeout"), .unknown(reason: "lost")]
        let report = AttachReport(
            domain: "vm1", uri: "qemu:///system", copies: .live,
            entries: zip(macs, states).map { AttachReport.Entry(requested: PlannedNIC(spec: spec, mac: $0), state: $1) }, failure: "File exists")
        // Recorded now: all but the first (reserved beforehand, so not this attach's to give back).
        let recorded = Array(macs.dropFirst())
        #expect(LiveLedger.unused(recorded, after: report) == [macs[1], macs[2], macs[3]])
    }
}
