import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing

/// `<network>` files beside domains: the network rules, resolution of `type='network'`
/// interfaces through them, and the generators.
@Suite("Macvtap networks in files")
struct NetworkLintTests {
    static func domain(_ name: String, mac: String, interface: String) -> String {
        """
        <domain type='kvm'>
          <name>\(name)</name>
          <memory unit='MiB'>512</memory>
          <os><type arch='x86_64'>hvm</type></os>
          <devices>
            \(interface.replacingOccurrences(of: "MAC", with: mac))
          </devices>
        </domain>
        """
    }

    static func lint(_ files: [String: String]) throws -> LintReport {
        let linter = try Linter(configuration: LintConfiguration())
        return try linter.lint(files.sorted { $0.key < $1.key }.map { DocumentSource.memory(Array($0.value.utf8), name: $0.key) })
    }

    @Test("Domains on a bridge-mode network over eth0 and a vepa guest on eth0: mixed modes on the one that differs; an unknown network is an error")
    func resolutionThroughNetworks() throws {
        let onNetwork = "<interface type='network'><mac address='MAC'/><source network='lan'/><model type='virtio'/></interface>"
        let report = try Self.lint([
            "networks/lan.xml": "<network>\n  <name>lan</name>\n  <forward mode='bridge'>\n    <interface dev='eth0'/>\n  </forward>\n</network>\n",
            "a1.xml": Self.domain("a1", mac: "52:54:00:00:0a:01", interface: onNetwork),
            "a2.xml": Self.domain("a2", mac: "52:54:00:00:0a:02", interface: onNetwork),
            "c1.xml": Self.domain("c1", mac: "52:54:00:00:0c:01", interface: "<interface type='direct'><mac address='MAC'/><source dev='eth0' mode='vepa'/><model type='virtio'/></interface>"),
            "b1.xml": Self.domain("b1", mac: "52:54:00:00:0b:01", interface: onNetwork.replacingOccurrences(of: "'lan'", with: "'lab'")),
        ])
        let mixed = report.findings.filter { $0.ruleID == "mixed-modes" }
        #expect(mixed.map(\.file) == ["c1.xml"], "\(mixed)")
        #expect(mixed.first?.related?.map(\.file) == ["a1.xml", "a2.xml"])
        #expect(mixed.first?.related?.first?.message.contains("(through network 'lan')") == true)
        let unknown = report.findings.filter { $0.ruleID == "network-unknown" }
        #expect(unknown.map(\.file) == ["b1.xml"])
        #expect(unknown.first?.message.hasPrefix("Network not found: no network with matching name 'lab'") == true)
        #expect(unknown.first?.enforcement == .start)
        #expect(report.findings.contains { $0.ruleID == "host-guest-unreachable" })
    }

    @Test("Without network files, type='network' interfaces are not guessed at")
    func noNetworkFiles() throws {
        let report = try Self.lint([
            "b1.xml": Self.domain("b1", mac: "52:54:00:00:0b:01", interface: "<interface type='network'><mac address='MAC'/><source network='lab'/><model type='virtio'/></interface>")
        ])
        #expect(!report.findings.contains { $0.ruleID == "network-unknown" })
    }

    @Test("generate-network prints a network that lints clean and that libvirt's schema accepts; generate --network an interface that names it")
    func generators() throws {
        let network = try Tool.run(["generate-network", "lan", "--mode", "bridge", "--dev", "eth0", "--dev", "eth1"])
        #expect(network.status == 0, "\(network.standardError)")
        #expect(network.standardOutput.contains("<forward mode=\"bridge\">") && network.standardOutput.contains("<interface dev=\"eth1\"/>"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lan-\(getpid()).xml")
        defer { try? FileManager.default.removeItem(at: file) }
        try network.standardOutput.write(to: file, atomically: true, encoding: .utf8)
        let lint = try Tool.run(["lint", "--fail-level", "info", file.path])
        #expect(lint.status == 0, "\(lint.standardOutput)")

        let nic = try Tool.run(["generate", "--network", "lan", "--portgroup", "web", "--mac", "52:54:00:00:00:31"])
        #expect(nic.status == 0)
        #expect(nic.standardOutput.contains("<interface type=\"network\">") && nic.standardOutput.contains("<source network=\"lan\" portgroup=\"web\"/>"), "\(nic.standardOutput)")

        let noPool = try Tool.run(["generate-network", "lan", "--mode", "vepa"])
        #expect(noPool.status == 2 && noPool.standardError.contains("give the pool"), "\(noPool.standardError)")
        let pfOutsidePassthrough = try Tool.run(["generate-network", "lan", "--mode", "bridge", "--pf", "enp3s0f0"])
        #expect(pfOutsidePassthrough.status == 2 && pfOutsidePassthrough.standardError.contains("--pf 'enp3s0f0'"), "\(pfOutsidePassthrough.standardError)")
        let both = try Tool.run(["generate", "--network", "lan", "--source", "eth0"])
        #expect(both.status == 2)
    }
}

extension NetworkLintTests {
    @Test("network-pool-exhausted counts the host's running domains and those it starts at boot, never the linted domain itself")
    func poolExhaustion() throws {
        func summary(_ name: String, live: Bool, autostarts: Bool) throws -> DocumentSummary {
            let xml = Self.domain(name, mac: "52:54:00:00:0d:0\(name.count)", interface: "<interface type='network'><mac address='MAC'/><source network='sriov'/></interface>")
            var summary = DocumentSummary(try DomainDocument(bytes: Array(xml.utf8), fileName: "\(name) on host"))
            summary.isHostCopy = true
            summary.isLiveCopy = live
            summary.autostarts = autostarts
            return summary
        }
        let network = HostInventory.HostNetwork(name: "sriov", isActive: true, forwardMode: "passthrough", devices: ["enp3s0f0v1", "enp3s0f0v2"])
        let linted = Self.domain("new", mac: "52:54:00:00:0e:01", interface: "<interface type='network'><mac address='MAC'/><source network='sriov'/><model type='virtio'/></interface>")
        func findings(_ domains: [DocumentSummary]) throws -> [Finding] {
            let host = HostInventory(uri: "test:///fleet", domains: domains, hostInterfaces: [], networks: [network])
            return try Linter(configuration: LintConfiguration()).lint([.memory(Array(linted.utf8), name: "new.xml")], hosts: [host])
                .findings.filter { $0.ruleID == "network-pool-exhausted" }
        }
        // One running, one shut off without autostart: a device is free.
        #expect(try findings([summary("a", live: true, autostarts: false), summary("bb", live: false, autostarts: false)]).isEmpty)
        // One running, one that starts at boot: both devices are taken.
        let taken = try findings([summary("a", live: true, autostarts: false), summary("bb", live: false, autostarts: true)])
        #expect(taken.count == 1)
        #expect(taken.first?.message.contains("held by 'a', 'bb'") == true, "\(taken)")
        // The linted domain itself, running on the host, does not count against itself.
        #expect(try findings([summary("a", live: true, autostarts: false), summary("new", live: true, autostarts: false)]).isEmpty)
    }
}
