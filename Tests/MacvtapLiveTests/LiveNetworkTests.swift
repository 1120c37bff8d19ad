import Foundation
import MacvtapTestSupport
import Testing

/// `attach --network` against the sandbox's macvtap network (vmtap-lan: forward mode bridge over
/// eth0) and a passthrough network made for the test (part of the serialized live suite).
extension LiveSandboxTests {
    @Test("attach --network vmtap-lan: libvirt makes a bridge-mode macvtap on eth0 with the guest's MAC, the LAN reaches it, list shows the network")
    func attachThroughNetwork() throws {
        let attach = try Tool.run(["attach", "vm1", "--network", "vmtap-lan"])
        #expect(attach.status == 0, "\(attach.standardError)")
        #expect(attach.standardOutput.contains("through network vmtap-lan") && attach.standardOutput.contains("on eth0 (network vmtap-lan), mode bridge"), "\(attach.standardOutput)")
        let nic = try #require(try Sandbox.directNICs("vm1").first?["nic"] as? [String: Any])
        #expect(nic["network"] as? String == "vmtap-lan")
        let mac = try #require(nic["mac"] as? String)
        let link = try #require(try Sandbox.macvtapLinks().first { $0.contains("link/ether \(mac)") }, "no macvtap with \(mac)")
        #expect(link.contains("@eth0") && link.contains("macvtap mode bridge "), "\(link)")
        #expect(try Sandbox.lanReaches("192.0.2.11"), "ping from lan to vm1 through the network's macvtap failed")
        let table = try Tool.run(["list", "vm1"])
        #expect(table.standardOutput.contains("NETWORK") && table.standardOutput.contains("vmtap-lan"), "\(table.standardOutput)")

        let unknown = try Tool.run(["attach", "vm2", "--network", "no-such-net"])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("network 'no-such-net' does not exist on qemu:///system") && unknown.standardError.contains("[network-on-host]"), "\(unknown.standardError)")
        // migrate-check: the destination (libvirt's test driver, no such network) lacks vmtap-lan.
        let destination = "test://" + Fixtures.fixturesDirectory.appendingPathComponent("test-host.xml").path
        let migrate = try Tool.run(["migrate-check", "vm1", "--to", destination])
        #expect(migrate.status == 1)
        #expect(migrate.standardError.contains("network 'vmtap-lan' does not exist on \(destination)") && migrate.standardError.contains("[network-on-host]"), "\(migrate.standardError)")

        #expect(try Tool.run(["detach", "vm1", "--mac", mac]).status == 0)
        try Sandbox.reset()
    }

    @Test("A passthrough network with one device: the second guest is refused before the attach, in the words libvirt uses when asked directly")
    func passthroughNetworkPool() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pt-\(getpid()).xml")
        try "<network><name>vmtap-pt</name><forward mode='passthrough'><interface dev='eth1'/></forward></network>"
            .write(to: file, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(at: file)
            _ = try? Sandbox.shell("virsh -q -c qemu:///system net-destroy vmtap-pt; virsh -q -c qemu:///system net-undefine vmtap-pt; \(Fixtures.packageRoot.path)/scripts/sandbox reset-uplinks")
        }
        #expect(try Sandbox.shell("virsh -q -c qemu:///system net-define \(file.path) && virsh -q -c qemu:///system net-start vmtap-pt").status == 0)
        let first = try Tool.run(["attach", "vm1", "--network", "vmtap-pt"])
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("on eth1 (network vmtap-pt), mode passthrough"), "\(first.standardOutput)")

        let second = try Tool.run(["attach", "vm2", "--network", "vmtap-pt"])
        #expect(second.status == 1)
        #expect(
            second.standardError.contains("network 'vmtap-pt' requires exclusive access to interfaces, but none are available on qemu:///system")
                && second.standardError.contains("[network-pool-exhausted]"), "\(second.standardError)")
        #expect(try Sandbox.macs("vm2").isEmpty, "a refusal must change nothing")
        let direct = try Sandbox.shell("virsh -c qemu:///system attach-interface vm2 network vmtap-pt --live")
        #expect(direct.status != 0 && direct.standardOutput.contains("requires exclusive access to interfaces, but none are available"), "libvirt itself: \(direct.standardOutput)")

        // lint -c says the same of a file that uses the network.
        let domain = FileManager.default.temporaryDirectory.appendingPathComponent("pt-user-\(getpid()).xml")
        defer { try? FileManager.default.removeItem(at: domain) }
        try
            ("<domain type='qemu'><name>pt-user</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os><devices>"
            + "<interface type='network'><mac address='52:54:00:5a:0c:01'/><source network='vmtap-pt'/><model type='virtio'/></interface>"
            + "</devices></domain>").write(to: domain, atomically: true, encoding: .utf8)
        let lint = try Tool.run(["lint", "-c", "qemu:///system", domain.path])
        #expect(lint.status == 1 && lint.standardOutput.contains("[network-pool-exhausted]"), "\(lint.standardOutput)")
        try Sandbox.reset()
    }
}
