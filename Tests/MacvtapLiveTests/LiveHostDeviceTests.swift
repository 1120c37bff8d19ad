import Foundation
import MacvtapTestSupport
import Testing

/// The host checks against the sandbox's real libvirtd and kernel (part of the serialized live
/// suite): a bridge port, a device that is down, a small MTU, a stale macvtap, and the guests'
/// addresses from the neighbour table.
extension LiveSandboxTests {
    static let inHost = "ip netns exec vmtap"

    static func file(_ name: String, sources: [String]) throws -> String {
        let interfaces = sources.enumerated().map { index, source in
            "<interface type='direct'><mac address='52:54:00:7e:b0:0\(index)'/><source dev='\(source)' mode='bridge'/><model type='virtio'/></interface>"
        }.joined()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid()).xml").path
        try """
        <domain type='kvm'>
          <name>\(name)</name>
          <memory unit='MiB'>64</memory>
          <os><type arch='x86_64'>hvm</type></os>
          <devices>\(interfaces)</devices>
        </domain>
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a bridge port, a device without carrier and a 1400-byte MTU: lint -c says so, attach refuses the port, and libvirt itself fails on it with EBUSY")
    func hostDeviceRulesMatchTheKernelAndLibvirt() throws {
        defer { _ = try? Sandbox.shell("\(Self.inHost) ip link del vmt-br 2>/dev/null; \(Self.inHost) ip link del vmt-p0 2>/dev/null") }
        try Sandbox.shell(
            "\(Self.inHost) ip link add vmt-br type bridge && \(Self.inHost) ip link add vmt-p0 type veth peer name vmt-p1 "
                + "&& \(Self.inHost) ip link set vmt-p0 master vmt-br && \(Self.inHost) ip link set vmt-p1 mtu 1400 "
                + "&& \(Self.inHost) ip link set vmt-p0 up && \(Self.inHost) ip link set vmt-br up")
        let path = try Self.file("devices", sources: ["vmt-p0", "vmt-p1", "eth0"])
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Read through libvirt only (outside the host's namespace): a remote host looks like this.
        for wrapper in [nil, Self.inHost] {
            let lint = try Tool.run(["lint", "-c", "qemu:///system", "--format", "json", path], wrapper: wrapper)
            let findings = try #require(JSONSerialization.jsonObject(with: Data(lint.standardOutput.utf8)) as? [String: Any])["findings"] as? [[String: Any]] ?? []
            let ids = findings.compactMap { $0["ruleID"] as? String }
            let messages = findings.compactMap { $0["message"] as? String }
            #expect(ids.contains("source-dev-enslaved") && messages.contains { $0.contains("'vmt-p0'") && $0.contains("bridge 'vmt-br'") }, "\(lint.standardOutput)")
            // vmt-p1 is administratively down; vmt-p0 is up but its peer is not: no carrier.
            #expect(messages.contains { $0.contains("'vmt-p1'") && $0.contains("is down") }, "\(messages)")
            #expect(messages.contains { $0.contains("'vmt-p0'") && $0.contains("no carrier") }, "\(messages)")
            #expect(messages.contains { $0.contains("'vmt-p1'") && $0.contains("MTU 1400") }, "\(messages)")
            #expect(!messages.contains { $0.contains("'eth0'") && ($0.contains("MTU") || $0.contains("down") || $0.contains("port of")) }, "\(messages)")
        }
        // attach's preflight runs the same rule and refuses before libvirt is asked.
        let refused = try Tool.run(["attach", "vm1", "--source", "vmt-p0", "--mode", "bridge", "--live"])
        #expect(refused.status == 1 && refused.standardError.contains("source-dev-enslaved"), "\(refused)")
        // libvirt itself, asked directly: the kernel refuses the macvtap on a bridge port.
        let xml = "<interface type='direct'><mac address='52:54:00:7e:b0:09'/><source dev='vmt-p0' mode='bridge'/><model type='virtio'/></interface>"
        let direct = try Sandbox.shell("printf '%s' \"\(xml)\" > /tmp/vmt-nic.xml && virsh -c qemu:///system attach-device vm1 /tmp/vmt-nic.xml --live")
        #expect(direct.status != 0 && (direct.standardOutput + direct.standardError).contains("Device or resource busy"), "\(direct)")
        #expect(try Sandbox.macs("vm1").isEmpty)
    }

    @Test("a macvtap no domain owns: lint -c and list --stale report it and not the guests' own; --remove-stale deletes it only where the kernel shows it")
    func staleMacvtapsAreFoundAndRemovedOnlyWhenAsked() throws {
        try Sandbox.reset()
        defer {
            _ = try? Sandbox.shell("\(Self.inHost) ip link del macvtap9 2>/dev/null")
            try? Sandbox.reset()
        }
        let attached = try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "bridge", "--live"])
        #expect(attached.status == 0, "\(attached)")
        try Sandbox.shell("\(Self.inHost) ip link add link eth1 name macvtap9 type macvtap mode vepa")
        let owned = try #require(try Sandbox.directNICs("vm1").first?["nic"] as? [String: Any])["target"] as? String
        let path = try Self.file("stale", sources: ["eth1"])
        defer { try? FileManager.default.removeItem(atPath: path) }

        let lint = try Tool.run(["lint", "-c", "qemu:///system", path])
        #expect(lint.standardOutput.contains("macvtap link 'macvtap9'") && lint.standardOutput.contains("[macvtap-stale]"), "\(lint.standardOutput)")
        #expect(!lint.standardOutput.contains("macvtap link '\(owned ?? "?")'"), "\(lint.standardOutput)")

        let listed = try Tool.run(["list", "--stale", "--format", "json"], wrapper: Self.inHost)
        let links = try #require(JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
        #expect(links.map { $0["name"] as? String } == ["macvtap9"], "\(listed)")
        #expect(links.first?["lowerDevice"] as? String == "eth1" && links.first?["mode"] as? String == "vepa")
        // Listing removes nothing.
        #expect(try Sandbox.shell("\(Self.inHost) ip link show macvtap9").status == 0)

        // Outside the host's namespace the kernel shows no such link: kept, and the status says so.
        let elsewhere = try Tool.run(["list", "--stale", "--remove-stale"])
        #expect(elsewhere.status == 1 && elsewhere.standardOutput.contains("kept"), "\(elsewhere)")
        #expect(try Sandbox.shell("\(Self.inHost) ip link show macvtap9").status == 0)

        let removed = try Tool.run(["list", "--stale", "--remove-stale"], wrapper: Self.inHost)
        #expect(removed.status == 0 && removed.standardOutput.contains("removed"), "\(removed)")
        #expect(try Sandbox.shell("\(Self.inHost) ip link show macvtap9").status != 0)
        #expect(try Sandbox.shell("\(Self.inHost) ip link show \(owned ?? "?")").status == 0, "the guest's own macvtap must stay")
    }

    @Test("list --addresses: after vm1 boots on eth0, the host's shim sees 192.0.2.11 for its NIC (--probe), and says where")
    func guestAddressesComeFromTheShimsNeighbourTable() throws {
        try Sandbox.reset()
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("addresses-state-\(getpid())").path
        defer {
            _ = try? Tool.run(["host-shim", "eth0", "--remove"], shellPrefix: "export XDG_STATE_HOME='\(state)';", wrapper: Self.inHost)
            try? Sandbox.reset()
        }
        let attached = try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "bridge", "--live"])
        #expect(attached.status == 0, "\(attached)")
        #expect(try Sandbox.lanReaches("192.0.2.11"))
        let shim = try Tool.run(["host-shim", "eth0", "--address", "192.0.2.2/24"], shellPrefix: "export XDG_STATE_HOME='\(state)';", wrapper: Self.inHost)
        #expect(shim.status == 0, "\(shim)")
        let mac = try #require(try Sandbox.macs("vm1").first)

        let listed = try Tool.run(["list", "vm1", "--addresses", "--probe", "--format", "json"], wrapper: Self.inHost)
        let rows = try #require(JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
        let row = try #require(rows.first { ($0["nic"] as? [String: Any])?["mac"] as? String == mac }, "\(listed)")
        let addresses = row["addresses"] as? [[String: Any]] ?? []
        #expect(addresses.contains { $0["address"] as? String == "192.0.2.11" && $0["seenOn"] as? String == "mv-eth0" }, "\(listed)")
        // Without --probe the entry stays while it is fresh; the table shows it too.
        let text = try Tool.run(["list", "vm1", "--addresses"], wrapper: Self.inHost)
        #expect(text.standardOutput.contains("ADDRESSES") && text.standardOutput.contains("192.0.2.11 (mv-eth0"), "\(text)")
    }

    @Test("host-vlan: where the kernel has 802.1Q, DEV.N is made, recorded and removed; where it has not (this machine kind), one line names the missing support and nothing changes")
    func hostVLANMakesOrRefusesAsTheKernelAllows() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("vlan-state-\(getpid())").path
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vlan-root-\(getpid())").path
        defer {
            _ = try? Sandbox.shell("ip netns del vmt-vlan-probe 2>/dev/null; \(Self.inHost) ip link del eth1.15 2>/dev/null")
            try? FileManager.default.removeItem(atPath: state)
            try? FileManager.default.removeItem(atPath: root)
        }
        // Support is detected as the issue asks: a VLAN link in a scratch namespace.
        let supported =
            try Sandbox.shell(
                "ip netns add vmt-vlan-probe && ip netns exec vmt-vlan-probe ip link add vp0 type veth peer name vp1 "
                    + "&& ip netns exec vmt-vlan-probe ip link add link vp0 name vp0.15 type vlan id 15"
            ).status == 0
        try FileManager.default.createDirectory(atPath: root + "/etc/network", withIntermediateDirectories: true)
        try "source /etc/network/interfaces.d/*\n".write(toFile: root + "/etc/network/interfaces", atomically: true, encoding: .utf8)
        let environment = "export XDG_STATE_HOME='\(state)';"
        let made = try Tool.run(["host-vlan", "eth1", "15", "--persist", "ifupdown", "--root", root], shellPrefix: environment, wrapper: Self.inHost)
        let stanza = root + "/etc/network/interfaces.d/virt-macvtap-eth1.15"
        if supported {
            print("host-vlan: this kernel has 802.1Q: the VLAN device is made and removed")
            #expect(made.status == 0 && made.standardOutput.contains("created eth1.15"), "\(made)")
            #expect(try Sandbox.shell("\(Self.inHost) ip -d link show eth1.15").standardOutput.contains("vlan protocol 802.1Q id 15"))
            #expect(FileManager.default.fileExists(atPath: stanza))
            let removed = try Tool.run(["host-vlan", "eth1", "15", "--remove"], shellPrefix: environment, wrapper: Self.inHost)
            #expect(removed.status == 0 && removed.standardOutput.contains("deleted link eth1.15"), "\(removed)")
            #expect(try Sandbox.shell("\(Self.inHost) ip link show eth1.15").status != 0)
            #expect(!FileManager.default.fileExists(atPath: stanza))
        } else {
            print("host-vlan: this kernel has no 802.1Q: the refusal is tested")
            #expect(made.status == 1, "\(made)")
            #expect(made.standardError.split(separator: "\n").count == 1 && made.standardError.contains("no 802.1Q VLAN support"), "\(made.standardError)")
            #expect(made.standardError.contains("nothing was changed"))
            #expect(try Sandbox.shell("\(Self.inHost) ip link show eth1.15").status != 0)
            #expect(!FileManager.default.fileExists(atPath: stanza), "no file may be written when the link cannot be made")
            let records = (try? String(contentsOfFile: state + "/virt-macvtap/host-shims.json", encoding: .utf8)) ?? "[]"
            #expect(!records.contains("eth1.15"), "\(records)")
            // Nothing was made, so nothing is recorded to remove.
            let remove = try Tool.run(["host-vlan", "eth1", "15", "--remove"], shellPrefix: environment, wrapper: Self.inHost)
            #expect(remove.status == 1 && remove.standardError.contains("no record"), "\(remove)")
        }
    }

    @Test("change-mode --vlan 15: the NIC moves to eth0.15 where the host has it; where it has not, the preflight refuses in host-vlan's words and the NIC stays")
    func changeModeIntoAVLAN() throws {
        try Sandbox.reset()
        defer {
            _ = try? Sandbox.shell("\(Self.inHost) ip link del eth0.15 2>/dev/null")
            try? Sandbox.reset()
        }
        let attached = try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "bridge", "--live"])
        #expect(attached.status == 0, "\(attached)")
        let mac = try #require(try Sandbox.macs("vm1").first)
        let hasVLAN = try Sandbox.shell("\(Self.inHost) ip link add link eth0 name eth0.15 type vlan id 15 && \(Self.inHost) ip link set eth0.15 up").status == 0
        let change = try Tool.run(["change-mode", "vm1", "--mac", mac, "--mode", "bridge", "--vlan", "15"])
        let source = try Sandbox.directNICs("vm1").compactMap { $0["nic"] as? [String: Any] }.first { $0["mac"] as? String == mac }?["source"] as? String
        if hasVLAN {
            print("change-mode --vlan: this kernel has 802.1Q: the NIC is moved")
            #expect(change.status == 0 && source == "eth0.15", "\(change)")
            // The guest (192.0.2.11) is now on VLAN 15: a LAN address tagged 15 reaches it, the
            // untagged LAN does not.
            defer { _ = try? Sandbox.shell("ip netns exec lan ip link del lan0.15 2>/dev/null") }
            try Sandbox.shell(
                "ip netns exec lan ip link add link lan0 name lan0.15 type vlan id 15 && ip netns exec lan ip link set lan0.15 up "
                    + "&& ip netns exec lan ip addr add 192.0.2.115/32 dev lan0.15 && ip netns exec lan ip route add 192.0.2.11/32 dev lan0.15 src 192.0.2.115")
            let tagged = try Sandbox.shell("for i in $(seq 15); do ip netns exec lan ping -c 1 -W 1 -I lan0.15 192.0.2.11 >/dev/null && exit 0; done; exit 1")
            #expect(tagged.status == 0, "VLAN 15 of the LAN does not reach the guest on eth0.15")
            let untagged = try Sandbox.shell("ip netns exec lan ping -c 2 -W 1 -I lan0 192.0.2.11 >/dev/null")
            #expect(untagged.status != 0, "the untagged LAN reaches a guest on VLAN 15")
        } else {
            print("change-mode --vlan: this kernel has no 802.1Q: the refusal is tested")
            #expect(change.status == 1, "\(change)")
            #expect(change.standardError.contains("VLAN device 'eth0.15' (VLAN 15 on eth0) does not exist"), "\(change.standardError)")
            #expect(change.standardError.contains("host-vlan eth0 15"), "\(change.standardError)")
            #expect(source == "eth0", "the NIC must stay where it was")
        }
    }
}
