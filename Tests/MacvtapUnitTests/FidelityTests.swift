import MacvtapKit
import Testing

/// The classes of wrong claims found on configurations other projects wrote (issue 22): names
/// libvirt owns, live dumps, missing sources on other interface types, hot-plug-only refusals,
/// virtualisation OUIs and QEMU-only rules on other drivers. Each was asked of libvirt 9.0 in the
/// sandbox; the oracle's grammar points of the same names keep them covered.
@Suite("lint: fidelity classes")
struct FidelityTests {
    static func domain(_ devices: String, type: String = "kvm", id: String? = nil) -> String {
        """
        <domain type='\(type)'\(id.map { " id='\($0)'" } ?? "")>
          <name>vm1</name>
          <memory unit='MiB'>512</memory>
          <os><type arch='x86_64' machine='pc'>hvm</type></os>
          <devices>
        \(devices)
          </devices>
        </domain>
        """
    }

    static func nic(dev: String = "eth0", mac: String, extra: String = "") -> String {
        "    <interface type='direct'><mac address='\(mac)'/><source dev='\(dev)' mode='bridge'/><model type='virtio'/>\(extra)</interface>"
    }

    static func rules(_ text: String, configuration: LintConfiguration = LintConfiguration()) throws -> [String] {
        try LintTests.lint(["case.xml": text], configuration: configuration).findings.map(\.ruleID)
    }

    @Test("A definition's vnet/macvtap/macvlan targets never collide; a live dump's do, and QEMU keeps vif names")
    func ownedTargetNames() throws {
        for name in ["vnet7", "macvtap9", "macvlan2"] {
            let twice =
                Self.nic(mac: "52:54:00:00:00:01", extra: "<target dev='\(name)'/>") + "\n"
                + Self.nic(dev: "eth1", mac: "52:54:00:00:00:02", extra: "<target dev='\(name)'/>")
            let definition = try Self.rules(Self.domain(twice))
            #expect(!definition.contains("target-duplicate"), "\(name): \(definition)")
            #expect(definition.filter { $0 == "target-dev-invalid" }.count == 2)
            let live = try Self.rules(Self.domain(twice, id: "4"))
            #expect(live.contains("target-duplicate") && !live.contains("target-dev-invalid"), "\(name): \(live)")
        }
        // Case-sensitive, as libvirt's STRPREFIX; vif is the Xen driver's prefix only.
        for name in ["VNET7", "vif3"] {
            let twice =
                Self.nic(mac: "52:54:00:00:00:01", extra: "<target dev='\(name)'/>") + "\n"
                + Self.nic(dev: "eth1", mac: "52:54:00:00:00:02", extra: "<target dev='\(name)'/>")
            #expect(try Self.rules(Self.domain(twice)).contains("target-duplicate"), "\(name)")
        }
        let xen = Self.domain("    <interface type='bridge'><source bridge='br0'/><target dev='vif3'/></interface>", type: "xen")
        #expect(try Self.rules(xen).contains("target-dev-invalid"))
    }

    @Test("Two files asking for the same owned target name are no conflict; a name libvirt keeps is")
    func ownedTargetNamesAcrossFiles() throws {
        func pair(_ name: String) throws -> [String] {
            let a = Self.domain(Self.nic(mac: "52:54:00:00:00:01", extra: "<target dev='\(name)'/>"))
            let b = Self.domain(Self.nic(mac: "52:54:00:00:00:02", extra: "<target dev='\(name)'/>")).replacing("vm1", with: "vm2")
            return try LintTests.lint(["a.xml": a, "b.xml": b]).findings.map(\.ruleID)
        }
        #expect(try !pair("vnet0").contains("target-duplicate-across-domains"))
        #expect(try pair("lan0").contains("target-duplicate-across-domains"))
    }

    @Test("A live dump is said once per file, not once per NIC alias or target")
    func liveDumpOncePerFile() throws {
        let nics = (1...3).map {
            Self.nic(dev: $0 == 1 ? "eth0" : "eth1", mac: "52:54:00:00:00:0\($0)", extra: "<target dev='macvtap\($0)'/><alias name='net\($0 - 1)'/>")
        }.joined(separator: "\n")
        let findings = try LintTests.lint(["live.xml": Self.domain(nics, id: "12")]).findings
        #expect(findings.filter { $0.ruleID == "live-dump" }.count == 1)
        #expect(!findings.contains { $0.ruleID == "alias-not-user" || $0.ruleID == "target-dev-invalid" })
        let summary = try #require(findings.first { $0.ruleID == "live-dump" })
        #expect(summary.line == 1 && summary.message.contains("macvtap1, macvtap2, macvtap3") && summary.message.contains("net0, net1, net2"))
        #expect(summary.fix?.contains("virsh dumpxml --inactive vm1") == true)
        // The inactive XML of the same domain: aliases reported per NIC as before, no live-dump.
        let inactive = try Self.rules(Self.domain(nics))
        #expect(!inactive.contains("live-dump") && inactive.contains("alias-not-user"))
    }

    @Test("Every interface type that requires a <source> is refused at define without one")
    func missingSourceOnOtherTypes() throws {
        for type in ["bridge", "network", "vhostuser", "udp", "mcast", "server", "client", "vdpa", "vds", "internal"] {
            let findings = try LintTests.lint(["t.xml": Self.domain("    <interface type='\(type)'><model type='virtio'/></interface>")]).findings
            let finding = try #require(findings.first { $0.ruleID == "source-missing" }, "\(type)")
            #expect(finding.message.contains("interface type='\(type)' requires a 'source' element") && finding.enforcement == .define)
            #expect(finding.line == 6, "points at the <interface>, not at <devices>")
        }
        let noName = try LintTests.lint(["n.xml": Self.domain("    <interface type='network'><source portgroup='web'/></interface>")]).findings
        #expect(noName.contains { $0.ruleID == "source-missing" && $0.message.contains("Missing required attribute 'network'") })
        for type in ["user", "ethernet", "null"] {
            #expect(try !Self.rules(Self.domain("    <interface type='\(type)'><model type='virtio'/></interface>")).contains("source-missing"))
        }
    }

    @Test("Hot-plug-only refusals: never on a whole domain's PXE-boot NIC; on device XML and when attaching")
    func hotplugOnlyWhereHotplugged() throws {
        let pxe = Self.domain(Self.nic(mac: "52:54:00:00:00:01", extra: "<boot order='1'/>"))
        #expect(try !Self.rules(pxe).contains("hotplug-refused"))
        var attaching = LintConfiguration()
        attaching.hotplug = true
        let attach = try LintTests.lint(["pxe.xml": pxe], configuration: attaching).findings
        let finding = try #require(attach.first { $0.ruleID == "hotplug-refused" })
        #expect(finding.enforcement == .hotplug && finding.severity == .error)
        #expect(finding.message.contains("refuses it when hot-plugged"))
        let device = "<interface type='direct'><source dev='eth0' mode='bridge'/><rom bar='off'/></interface>"
        #expect(try Self.rules(device).contains("hotplug-refused"))
    }

    @Test("MACs in the OUIs platforms allocate from are never a warning")
    func virtualisationOUIsAreQuiet() throws {
        for mac in ["52:54:00:12:34:56", "00:16:3e:12:34:56", "00:1a:4a:16:01:51", "00:50:56:12:34:56", "00:15:5d:12:34:56", "08:00:27:12:34:56", "00:1c:42:12:34:56"] {
            let findings = try LintTests.lint(["m.xml": Self.domain(Self.nic(mac: mac))]).findings
            let warnings = findings.filter { $0.severity >= .warning && $0.ruleID.hasPrefix("mac-") }
            #expect(warnings.isEmpty, "\(mac): \(warnings.map(\.ruleID))")
        }
        #expect(try Self.rules(Self.domain(Self.nic(mac: "00:11:22:33:44:55"))).contains("mac-not-locally-administered"))
    }

    @Test("Rules about QEMU's models never fire on LXC, Xen or test-driver domains")
    func qemuRulesStayOnQEMU() throws {
        let body =
            "    <interface type='direct'><mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/>"
            + "<model type='e1000'/><driver iommu='on'/><teaming type='persistent'/></interface>"
        let noModel = "    <interface type='direct'><mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/></interface>"
        for type in ["lxc", "xen", "test"] {
            let rules = try Self.rules(Self.domain(body, type: type)) + Self.rules(Self.domain(noModel, type: type))
            #expect(!rules.contains("model-missing") && !rules.contains("virtio-option-without-virtio") && !rules.contains("teaming-invalid"), "\(type): \(rules)")
        }
        let kvm = try Self.rules(Self.domain(body)) + Self.rules(Self.domain(noModel))
        #expect(kvm.contains("model-missing") && kvm.contains("virtio-option-without-virtio") && kvm.contains("teaming-invalid"))
    }
}

extension FidelityTests {
    @Test("A MAC the guest set (libvirt ≥ 11.2's currentAddress) is in use: the host inventory (what attach and allocate avoid) and the live MAC rule")
    func guestSetMACIsInUse() throws {
        // As libvirt 11.3 formats a running domain whose guest changed its NIC's MAC.
        let live = Self.domain(
            "<interface type='direct'><mac address='52:54:00:00:00:01' currentAddress='52:54:00:00:00:99'/><source dev='eth0' mode='bridge'/><model type='virtio'/></interface>",
            id: "7")
        let document = try DomainDocument(bytes: Array(live.utf8), fileName: "live")
        let entry = try #require(document.interfaces.first)
        #expect(entry.currentMACAddress == MACAddress("52:54:00:00:00:99"))
        #expect(entry.macAddressesInUse.map(\.description) == ["52:54:00:00:00:01", "52:54:00:00:00:99"])
        // An equal currentAddress is no second MAC.
        let same = try DomainDocument(bytes: Array(live.replacingOccurrences(of: "00:99", with: "00:01").utf8), fileName: "same")
        #expect(same.interfaces.first?.macAddressesInUse.count == 1)

        var summary = DocumentSummary(document)
        summary.isHostCopy = true
        summary.isLiveCopy = true
        let host = HostInventory(uri: "qemu+tcp://hv/system", domains: [summary], hostInterfaces: [])
        #expect(host.usedMACs.contains(MACAddress("52:54:00:00:00:99")!))

        // A file asking for the MAC the running guest set: the live MAC rule says it is taken.
        let file = Self.domain(Self.nic(mac: "52:54:00:00:00:99")).replacingOccurrences(of: "<name>vm1</name>", with: "<name>vm2</name>")
        let linter = try Linter(configuration: LintConfiguration())
        let report = try linter.lint([.memory(Array(file.utf8), name: "new.xml")], hosts: [host])
        #expect(report.findings.contains { $0.ruleID == "mac-in-use-on-host" && $0.message.contains("52:54:00:00:00:99") }, "\(report.findings.map(\.message))")
    }
}
