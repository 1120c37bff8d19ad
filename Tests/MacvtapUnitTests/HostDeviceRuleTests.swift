import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing

/// The host-device rules (enslaved, bond mode, down, MTU, stale macvtaps) against a libvirt
/// test-driver host whose interface descriptions are what `virInterfaceGetXMLDesc` reports for
/// real bonds and bridges (this kernel has no bonding, so the test driver describes them).
@Suite("lint: the host's devices (test driver)")
struct HostDeviceRuleTests {
    static var hostURI: String { "test://" + Fixtures.fixturesDirectory.appendingPathComponent("test-host-devices.xml").path }

    static let newcomer = """
        <domain type='kvm'>
          <name>newcomer</name>
          <memory unit='MiB'>64</memory>
          <os><type arch='x86_64'>hvm</type></os>
          <devices>
            <interface type='direct'><mac address='52:54:00:12:35:01'/><source dev='eth2' mode='bridge'/><model type='virtio'/></interface>
            <interface type='direct'><mac address='52:54:00:12:35:02'/><source dev='bond0' mode='bridge'/><model type='virtio'/></interface>
            <interface type='direct'><mac address='52:54:00:12:35:03'/><source dev='eth4' mode='bridge'/><model type='virtio'/></interface>
            <interface type='direct'><mac address='52:54:00:12:35:04'/><source dev='eth5' mode='bridge'/><model type='virtio'/></interface>
            <interface type='direct'><mac address='52:54:00:12:35:05'/><source dev='eth6' mode='bridge'/><model type='virtio'/></interface>
            <interface type='network'><mac address='52:54:00:12:35:06'/><source network='vepa-pool'/><model type='virtio'/></interface>
            <interface type='direct'><mac address='52:54:00:12:35:07'/><source dev='bond1' mode='bridge'/><model type='virtio'/></interface>
            <interface type='direct'><mac address='52:54:00:12:35:08'/><source dev='eth0' mode='bridge'/><model type='virtio'/></interface>
          </devices>
        </domain>
        """

    static let hostRules: Set<String> = ["source-dev-enslaved", "source-dev-bond-mode", "source-dev-down", "source-dev-mtu", "macvtap-stale", "source-dev-on-host"]

    @Test func theInventoryReadsKindsMastersBondModesStatesAndMTUs() throws {
        let inventory = try HostInventory.scan(uri: Self.hostURI)
        let byName = Dictionary(inventory.hostInterfaces.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // Ports and slaves are not listed by libvirt; they come from their master's description.
        #expect(byName["eth2"]?.master == .init(name: "bond0", kind: "bond"))
        #expect(byName["eth4"]?.master == .init(name: "br0", kind: "bridge"))
        #expect(byName["bond0"]?.bondMode == "balance-alb")
        #expect(byName["bond0"]?.kind == "bond")
        #expect(byName["eth5"]?.isDown == true)
        #expect(byName["eth5"]?.mtu == 1400)
        #expect(byName["eth0"]?.isDown == false)
        #expect(inventory.staleMacvtaps.map(\.name) == ["macvtap3"])
    }

    @Test func eachDeviceFindingIsOnItsLineAndOnlyThere() throws {
        let inventory = try HostInventory.scan(uri: Self.hostURI)
        let report = try LintTests.lint(["new.xml": Self.newcomer], hosts: [inventory])
        let found = report.findings.filter { Self.hostRules.contains($0.ruleID) }
        func rules(onLine line: Int) -> Set<String> { Set(found.filter { $0.file == "new.xml" && $0.line == line }.map(\.ruleID)) }
        #expect(rules(onLine: 6) == ["source-dev-enslaved"])
        #expect(rules(onLine: 7) == ["source-dev-bond-mode"])
        #expect(rules(onLine: 8) == ["source-dev-enslaved"])
        #expect(rules(onLine: 9) == ["source-dev-down", "source-dev-mtu"])
        #expect(rules(onLine: 10) == ["source-dev-mtu"])
        // A NIC on a macvtap network meets the network's devices.
        #expect(rules(onLine: 11) == ["source-dev-down", "source-dev-mtu"])
        // active-backup keeps a guest's MAC on one port; a healthy device says nothing.
        #expect(rules(onLine: 12).isEmpty)
        #expect(rules(onLine: 13).isEmpty)

        let enslaved = try #require(found.first { $0.line == 6 })
        #expect(enslaved.message.contains("a port of bond 'bond0'") && enslaved.fix?.contains("use the bond 'bond0'") == true, "\(enslaved)")
        let bridged = try #require(found.first { $0.line == 8 })
        #expect(bridged.fix?.contains("<source bridge='br0'/>") == true, "\(bridged)")
        let jumbo = try #require(found.first { $0.line == 10 })
        #expect(jumbo.severity == .info && jumbo.fix?.contains("MTU 9000") == true, "\(jumbo)")
        let small = try #require(found.first { $0.line == 9 && $0.ruleID == "source-dev-mtu" })
        #expect(small.severity == .warning)
        let stale = found.filter { $0.ruleID == "macvtap-stale" }
        #expect(stale.count == 1 && stale[0].file == Self.hostURI && stale[0].message.contains("'macvtap3'"), "\(stale)")
    }

    @Test func aMacvtapADomainNamesIsNotStale() throws {
        let owner = try DomainDocument(
            bytes: Array(
                """
                <domain type='kvm'><name>owner</name><devices>
                <interface type='direct'><mac address='52:54:00:aa:10:01'/><source dev='eth0' mode='bridge'/><target dev='macvtap2'/></interface>
                </devices></domain>
                """.utf8), fileName: "owner")
        let inventory = HostInventory(
            uri: "test:///x", domains: [DocumentSummary(owner)],
            hostInterfaces: [
                .init(name: "macvtap2", mac: MACAddress("52:54:00:aa:10:01"), kind: "ethernet"),
                .init(name: "macvtap3", mac: nil, kind: "ethernet"),
                .init(name: "macvtapx", mac: nil, kind: "ethernet"),
                // A kernel-reported macvtap with any name counts; a shim (macvlan) never does.
                .init(name: "guest-tap", mac: nil, kind: "macvtap"),
                .init(name: "mv-eth0", mac: nil, kind: "macvlan", lowerDevice: "eth0", macvlanMode: "bridge"),
            ])
        #expect(inventory.staleMacvtaps.map(\.name) == ["macvtap3", "guest-tap"])
    }

    @Test func aDeviceThatIsDownMeansNeverInReachAsInLint() throws {
        let inventory = try HostInventory.scan(uri: Self.hostURI)
        let facts = ReachFacts().observing(inventory)
        #expect(facts.down.contains("eth5") && !facts.down.contains("eth0"))
    }

    @Test("VLAN parity: a guest on DEV.N where a fleet host has DEV but not DEV.N is told to make it there (host-vlan), on that host only; <vlan> on a bridge-mode NIC is told the VLAN device to use")
    func vlanDevicesAreCheckedPerHostAndTheVLANFindingNamesTheDevice() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vlan-fleet-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let guest = { (name: String, mac: String) in
            """
            <domain type='kvm'>
              <name>\(name)</name>
              <memory unit='MiB'>64</memory>
              <os><type arch='x86_64'>hvm</type></os>
              <devices>
                <interface type='direct'><mac address='\(mac)'/><source dev='eth0.15' mode='bridge'/><model type='virtio'/></interface>
              </devices>
            </domain>
            """
        }
        for (host, mac) in [("a", "52:54:00:15:00:01"), ("b", "52:54:00:15:00:02")] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent("hosts/\(host)"), withIntermediateDirectories: true)
            try guest("guest-\(host)", mac).write(to: root.appendingPathComponent("hosts/\(host)/guest.xml"), atomically: true, encoding: .utf8)
        }
        // hv-a has eth0 and no eth0.15; hv-b (libvirt's default test host) has no eth0 at all.
        let configuration = """
            {"hosts": {
              "hv-a": {"files": ["hosts/a/**"], "uri": "\(Self.hostURI)"},
              "hv-b": {"files": ["hosts/b/**"], "uri": "test:///default"}
            }}
            """
        try configuration.write(to: root.appendingPathComponent(".virt-macvtap.json"), atomically: true, encoding: .utf8)
        let run = try FleetTests.lint(["lint", "--hosts", "hosts"], in: root)
        let onHost = FleetTests.findings(run.findings, rule: "source-dev-on-host")
        let onA = onHost.filter { ($0["file"] as? String)?.hasPrefix("hosts/a/") == true }
        #expect(onA.count == 1 && (onA[0]["message"] as? String)?.contains("VLAN device 'eth0.15' (VLAN 15 on eth0) does not exist") == true, "\(onHost)")
        #expect((onA.first?["fix"] as? String)?.contains("virt-macvtap host-vlan eth0 15") == true, "\(onA)")
        let onB = onHost.filter { ($0["file"] as? String)?.hasPrefix("hosts/b/") == true }
        #expect(onB.count == 1 && (onB[0]["message"] as? String)?.contains("source device 'eth0.15' does not exist") == true, "\(onB)")

        let tagged = try LintTests.lint([
            "tagged.xml": LintTests.vm1.replacingOccurrences(of: "</interface>", with: "<vlan><tag id='42'/></vlan></interface>")
        ])
        let finding = try #require(tagged.findings.first { $0.ruleID == "vlan-without-passthrough" })
        #expect(finding.fix?.contains("<source dev='eth0.42'/>") == true && finding.fix?.contains("host-vlan eth0 42") == true, "\(finding)")
    }
}
