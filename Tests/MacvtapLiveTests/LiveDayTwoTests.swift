import Foundation
import MacvtapTestSupport
import Testing

/// Day-two commands against the sandbox's real guests (part of the serialized live suite:
/// they share vm1, vm2 and the namespaces).
extension LiveSandboxTests {
    static func nic(_ domain: String, mac: String) throws -> [String: Any]? {
        try Sandbox.directNICs(domain).compactMap { $0["nic"] as? [String: Any] }.first { $0["mac"] as? String == mac }
    }

    @Test("set-link down stops the LAN reaching the guest, up brings it back; both confirmed in the live XML")
    func setLink() throws {
        #expect(try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "bridge"]).status == 0)
        let mac = try #require(try Sandbox.macs("vm1").first)
        #expect(try Sandbox.lanReaches("192.0.2.11"), "the guest must answer before the link goes down")

        let down = try Tool.run(["set-link", "vm1", "--mac", mac, "down"])
        #expect(down.status == 0, "\(down.standardError)")
        #expect(down.standardOutput.contains("the live XML shows link state down"), "\(down.standardOutput)")
        #expect(try Self.nic("vm1", mac: mac)?["linkState"] as? String == "down")
        #expect(try Sandbox.shell("sleep 2; ip netns exec lan ping -c 3 -W 1 192.0.2.11").status != 0, "the guest still answers with its link down")

        let up = try Tool.run(["set-link", "vm1", "--mac", mac, "up", "--format", "json"])
        #expect(up.status == 0, "\(up.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(up.standardOutput.utf8)) as? [String: Any])
        #expect(report["succeeded"] as? Bool == true)
        #expect(try Sandbox.lanReaches("192.0.2.11"), "the guest does not answer after set-link up")

        let missing = try Tool.run(["set-link", "vm1", "--mac", "52:54:00:00:00:99", "down"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("no direct interface with MAC 52:54:00:00:00:99 in the live XML of 'vm1'"), "\(missing.standardError)")
        let offDomain = try Tool.run(["set-link", "vm-off", "--mac", mac, "down", "--live"])
        #expect(offDomain.status == 1)
        #expect(offDomain.standardError.contains("'vm-off' is shut off"), "\(offDomain.standardError)")
        try Sandbox.reset()
    }

    @Test("change-mode bridge → private: the kernel's macvtap is private with the same MAC, the XML keeps the PCI address; the persistent copy follows with --config")
    func changeMode() throws {
        #expect(try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "bridge", "--live", "--config"]).status == 0)
        let mac = try #require(try Sandbox.macs("vm1").first)
        let before = try #require(try Self.nic("vm1", mac: mac))
        let pci = try #require(before["pciAddress"] as? String)

        let change = try Tool.run(["change-mode", "vm1", "--mac", mac, "--mode", "private", "--live", "--config"])
        #expect(change.status == 0, "\(change.standardOutput)\(change.standardError)")
        #expect(change.standardOutput.contains("detach the bridge NIC from the running domain: confirmed"), "\(change.standardOutput)")
        #expect(change.standardOutput.contains("the persistent XML shows mode private"), "\(change.standardOutput)")
        let link = try #require(try Sandbox.macvtapLinks().first { $0.contains("link/ether \(mac)") }, "no macvtap with \(mac)")
        #expect(link.contains("macvtap mode private "), "\(link)")
        let after = try #require(try Self.nic("vm1", mac: mac))
        #expect(after["mode"] as? String == "private")
        #expect(after["pciAddress"] as? String == pci, "the PCI address moved: \(after)")
        let persistent = try Sandbox.shell("virsh -c qemu:///system dumpxml --inactive vm1").standardOutput
        #expect(persistent.contains("mode='private'"), "\(persistent)")

        let again = try Tool.run(["change-mode", "vm1", "--mac", mac, "--mode", "private"])
        #expect(again.status == 0 && again.standardOutput.contains("already private"), "\(again.standardOutput)")

        // The attach preflight, through the same lint rules: passthrough on a shared device.
        #expect(try Tool.run(["attach", "vm2", "--source", "eth0", "--mode", "private"]).status == 0)
        let passthrough = try Tool.run(["change-mode", "vm1", "--mac", mac, "--mode", "passthrough"])
        #expect(passthrough.status == 1)
        #expect(passthrough.standardError.contains("[source-dev-on-host]"), "\(passthrough.standardError)")
        #expect(try Self.nic("vm1", mac: mac)?["mode"] as? String == "private", "a refusal must change nothing")
        // Mixed modes on the device are advice, and the change goes ahead.
        let mixed = try Tool.run(["change-mode", "vm1", "--mac", mac, "--mode", "bridge"])
        #expect(mixed.status == 0, "\(mixed.standardError)")
        #expect(mixed.standardError.contains("[mixed-modes-on-host]"), "\(mixed.standardError)")
        try Sandbox.reset()
    }

    @Test("change-mode on a guest that never releases the NIC: not confirmed (exit 4), nothing re-attached, the NIC still there")
    func changeModeUnplugTimeout() throws {
        #expect(try Tool.run(["attach", "vm-noos", "--source", "eth0", "--mode", "bridge"]).status == 0)
        let mac = try #require(try Sandbox.macs("vm-noos").first)
        let change = try Tool.run(["change-mode", "vm-noos", "--mac", mac, "--mode", "vepa", "--timeout", "1"])
        #expect(change.status == 4, "\(change.standardOutput)\(change.standardError)")
        #expect(change.standardOutput.contains("attach it in vepa mode: skipped"), "\(change.standardOutput)")
        #expect(try Self.nic("vm-noos", mac: mac)?["mode"] as? String == "bridge")
        try Sandbox.reset()
    }

    @Test("migrate-check against a destination without the source device and with the MAC in use; --map and --xml")
    func migrateCheck() throws {
        let destination = "test://" + Fixtures.packageRoot.appendingPathComponent("Tests/Fixtures/test-host.xml").path
        // 52:54:00:aa:00:01 belongs to running-vm on the destination; eth1 does not exist there.
        #expect(try Tool.run(["attach", "vm1", "--source", "eth1", "--mode", "bridge", "--mac", "52:54:00:aa:00:01"]).status == 0)
        let check = try Tool.run(["migrate-check", "vm1", "--to", destination])
        #expect(check.status == 1, "\(check.standardOutput)\(check.standardError)")
        #expect(check.standardError.contains("source device 'eth1' does not exist on \(destination)"), "\(check.standardError)")
        #expect(check.standardError.contains("MAC 52:54:00:aa:00:01 is used by domain 'running-vm' on \(destination)"), "\(check.standardError)")
        #expect(check.standardOutput.contains("cannot move"))

        let mapped = try Tool.run(["migrate-check", "vm1", "--to", destination, "--map", "eth1=eth0", "--xml"])
        #expect(mapped.status == 1, "the MAC is still in use there")
        #expect(!mapped.standardError.contains("source device 'eth1'"), "\(mapped.standardError)")
        #expect(mapped.standardOutput.contains("<source dev=\"eth0\" mode=\"bridge\"/>"), "\(mapped.standardOutput)")
        #expect(mapped.standardOutput.hasPrefix("<domain"))
        // enp3s0f0v1 is held by running-vm's passthrough NIC on the destination.
        let held = try Tool.run(["migrate-check", "vm1", "--to", destination, "--map", "eth1=enp3s0f0v1"])
        #expect(held.status == 1)
        #expect(held.standardError.contains("source device 'enp3s0f0v1' on \(destination) is held by a passthrough interface of domain 'running-vm'"), "\(held.standardError)")
        try Sandbox.reset()

        #expect(try Tool.run(["attach", "vm1", "--source", "eth1", "--mode", "bridge"]).status == 0)
        let ready = try Tool.run(["migrate-check", "vm1", "--to", destination, "--map", "eth1=eth0", "--format", "json"])
        #expect(ready.status == 0, "\(ready.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(ready.standardOutput.utf8)) as? [String: Any])
        #expect(report["ready"] as? Bool == true)
        #expect((report["rewrites"] as? [[String: Any]])?.first?["to"] as? String == "eth0")
        // VLAN parity: the destination has eth0 but not its VLAN 15 device.
        let vlan = try Tool.run(["migrate-check", "vm1", "--to", destination, "--map", "eth1=eth0.15"])
        #expect(vlan.status == 1, "\(vlan.standardOutput)\(vlan.standardError)")
        #expect(vlan.standardError.contains("VLAN device 'eth0.15' (VLAN 15 on eth0) does not exist on \(destination)"), "\(vlan.standardError)")

        let unreachable = try Tool.run(["migrate-check", "vm1", "--to", "qemu+tcp://127.0.0.1:1/system"])
        #expect(unreachable.status == 3)
        #expect(unreachable.standardError.contains("destination qemu+tcp://127.0.0.1:1/system"), "\(unreachable.standardError)")
        try Sandbox.reset()
    }

    @Test("host-shim: the namespace that owns eth0 reaches a bridge-mode guest only with the shim; --remove restores its links exactly; refusals")
    func hostShim() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("shim-state-\(getpid())").path
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("shim-root-\(getpid())").path
        defer {
            try? FileManager.default.removeItem(atPath: state)
            try? FileManager.default.removeItem(atPath: root)
        }
        func shim(_ arguments: [String]) throws -> CommandResult {
            try Tool.run(["host-shim"] + arguments, shellPrefix: "export XDG_STATE_HOME='\(state)';", wrapper: "ip netns exec vmtap")
        }
        #expect(try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "bridge"]).status == 0)
        #expect(try Sandbox.lanReaches("192.0.2.11"), "the LAN must reach vm1")
        let pingFromHost = "ip netns exec vmtap ping -c 2 -W 1 192.0.2.11"
        #expect(try Sandbox.shell(pingFromHost).status != 0, "the host side reached the guest without a shim")
        // libvirt's own macvtaps come and go asynchronously (an earlier test's detach): compare the rest.
        func hostLinks() throws -> String {
            try Sandbox.shell("ip netns exec vmtap ip -o link | grep -v 'macvtap[0-9]*@'").standardOutput
        }
        let linksBefore = try hostLinks()

        let create = try shim(["eth0", "--address", "192.0.2.2/24"])
        #expect(create.status == 0, "\(create.standardError)")
        #expect(create.standardOutput.contains("created mv-eth0: macvlan in bridge mode on eth0"), "\(create.standardOutput)")
        let link = try Sandbox.shell("ip netns exec vmtap ip -d -o link show mv-eth0").standardOutput
        #expect(link.contains("mv-eth0@eth0") && link.contains("macvlan mode bridge"), "\(link)")
        #expect(try Sandbox.shell("for i in 1 2 3 4 5; do \(pingFromHost) && exit 0; done; exit 1").status == 0, "the host side does not reach vm1 through the shim")

        // Refusals, each before anything changes.
        let taken = try shim(["eth0", "--address", "192.0.2.3/24"])
        #expect(taken.status == 1 && taken.standardError.contains("the name 'mv-eth0' is taken"), "\(taken.standardError)")
        let sameAddress = try shim(["eth1", "--address", "192.0.2.2/24"])
        #expect(sameAddress.status == 1 && sameAddress.standardError.contains("address 192.0.2.2 is already on mv-eth0"), "\(sameAddress.standardError)")
        let missing = try shim(["eth7", "--address", "192.0.2.4/24"])
        #expect(missing.status == 1 && missing.standardError.contains("device 'eth7' does not exist"), "\(missing.standardError)")
        let tap = try #require(try Sandbox.macvtapLinks().first?.firstMatch(of: /macvtap\d+/).map { String($0.output) })
        let stacked = try shim([tap, "--address", "192.0.2.4/24"])
        #expect(stacked.status == 1 && stacked.standardError.contains("is itself a macvtap"), "\(stacked.standardError)")
        let remote = try Tool.run(["-c", "qemu+ssh://root@hv-b/system", "host-shim", "eth0", "--address", "192.0.2.4/24"])
        #expect(remote.status == 1 && remote.standardError.contains("not hv-b"), "\(remote.standardError)")

        let remove = try shim(["eth0", "--remove"])
        #expect(remove.status == 0, "\(remove.standardError)")
        let linksAfter = try hostLinks()
        #expect(linksAfter == linksBefore, "the namespace's links differ after --remove:\n\(linksBefore)\n---\n\(linksAfter)")
        #expect(try Sandbox.shell(pingFromHost).status != 0)
        let again = try shim(["eth0", "--remove"])
        #expect(again.status == 1 && again.standardError.contains("no record of creating 'mv-eth0'"), "\(again.standardError)")

        // --persist: networkd files beside the device's own .network (a drop-in, never an edit).
        try FileManager.default.createDirectory(atPath: root + "/etc/systemd/network", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/run/systemd/netif", withIntermediateDirectories: true)
        try "[Match]\nName=eth1\n\n[Network]\nDHCP=yes\n".write(toFile: root + "/etc/systemd/network/10-eth1.network", atomically: true, encoding: .utf8)
        let persisted = try shim(["eth1", "--address", "192.0.2.6/24", "--persist", "auto", "--root", root])
        #expect(persisted.status == 0, "\(persisted.standardError)")
        let dropIn = try String(contentsOfFile: root + "/etc/systemd/network/10-eth1.network.d/virt-macvtap-mv-eth1.conf", encoding: .utf8)
        #expect(dropIn.contains("MACVLAN=mv-eth1"))
        let netdev = try String(contentsOfFile: root + "/etc/systemd/network/50-virt-macvtap-mv-eth1.netdev", encoding: .utf8)
        #expect(netdev.contains("Kind=macvlan") && netdev.contains("Mode=bridge"))
        #expect(try String(contentsOfFile: root + "/etc/systemd/network/10-eth1.network", encoding: .utf8) == "[Match]\nName=eth1\n\n[Network]\nDHCP=yes\n")
        #expect(try shim(["eth1", "--remove"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: root + "/etc/systemd/network/50-virt-macvtap-mv-eth1.netdev"))
        #expect(!FileManager.default.fileExists(atPath: root + "/etc/systemd/network/10-eth1.network.d"))
        #expect(FileManager.default.fileExists(atPath: root + "/etc/systemd/network/10-eth1.network"))
        try Sandbox.reset()
    }
}
