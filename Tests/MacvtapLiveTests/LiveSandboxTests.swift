import Foundation
import MacvtapTestSupport
import Testing

@Suite("Live: attach / detach / list against a real libvirtd and QEMU guests", .serialized, .enabled(if: Sandbox.isConfigured))
struct LiveSandboxTests {
    init() throws {
        let answer = try Tool.run(["list", "--all"])
        try #require(answer.status == 0, "the sandbox's libvirtd does not answer (scripts/sandbox up): \(answer.standardError)")
        try Sandbox.reset()
    }

    @Test("The seed command: virt-macvtap attach vm1 --source eth0 --mode vepa; macvtapN@eth0 in vepa mode, the LAN reaches the guest, detach removes it")
    func seedCommand() throws {
        let attach = try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "vepa"])
        #expect(attach.status == 0, "\(attach.standardError)")
        let mac = try #require(try Sandbox.macs("vm1").first)
        let target = try #require(attach.standardOutput.firstMatch(of: /macvtap\d+/).map { String($0.output) })
        #expect(attach.standardOutput.contains("attached \(mac) to vm1 (live)"))
        #expect(attach.standardOutput.contains("PCI 0000:00:"))

        let link = try #require(try Sandbox.macvtapLinks().first { $0.contains("\(target)@eth0") }, "no \(target)@eth0 in the namespace")
        #expect(link.contains("link/ether \(mac)"))
        #expect(link.contains("macvtap mode vepa"))
        #expect(try Sandbox.lanReaches("192.0.2.11"), "ping from lan to vm1 through \(target) failed")

        let list = try Tool.run(["list"])
        #expect(list.standardOutput.contains(mac) && list.standardOutput.contains(target))

        let detach = try Tool.run(["detach", "vm1", "--mac", mac])
        #expect(detach.status == 0, "\(detach.standardOutput)\(detach.standardError)")
        #expect(detach.standardOutput.contains("gone from the domain XML"))
        #expect(try Sandbox.macs("vm1").isEmpty)
        #expect(try !Sandbox.macvtapLinks().contains { $0.contains("\(target)@") }, "\(target) still exists after detach")
    }

    @Test("A target name a host link already has: lint -c and attach say so in the rule's words; libvirt fails the start with 'File exists' and then deletes the link")
    func targetNameOnHost() throws {
        // A link of its own in the sandbox namespace (this kernel has no dummy links: a veth pair),
        // because libvirt's clean-up after the failed start deletes the link of that name.
        try #require(try Sandbox.shell("ip netns exec vmtap ip link add clash0 type veth peer name clash1").status == 0)
        defer { _ = try? Sandbox.shell("ip netns exec vmtap ip link del clash0 2>/dev/null; ip netns exec vmtap ip link del clash1 2>/dev/null") }
        let xml = """
            <domain type='qemu'><name>vm-target-clash</name><memory unit='MiB'>64</memory>
            <os><type arch='x86_64' machine='pc'>hvm</type></os>
            <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
            <interface type='direct'><mac address='52:54:00:0f:c1:01'/><source dev='eth0' mode='bridge'/><target dev='clash0'/><model type='virtio'/></interface>
            <memballoon model='none'/></devices></domain>
            """
        let scratch = try Scratch()
        defer { scratch.remove() }
        let file = scratch.directory.appendingPathComponent("vm-target-clash.xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)

        let lint = try Tool.run(["lint", "-c", "qemu:///system", file.path])
        #expect(lint.status == 1 && lint.standardOutput.contains("target dev 'clash0' is already the name of an interface on qemu:///system"), "\(lint.standardOutput)")
        #expect(lint.standardOutput.contains("[target-dev-on-host]"))
        let attach = try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "bridge", "--target", "clash0", "--dry-run"])
        #expect(attach.status == 1 && attach.standardError.contains("target dev 'clash0' is already the name of an interface on qemu:///system"), "\(attach.standardError)")
        #expect(attach.standardError.contains("[target-dev-on-host]"))

        // What libvirt 9.0 does with it: defines it, fails the start, and deletes clash0.
        defer { _ = try? Sandbox.shell("virsh -q -c qemu:///system destroy vm-target-clash; virsh -q -c qemu:///system undefine vm-target-clash") }
        #expect(try Sandbox.shell("virsh -q -c qemu:///system define '\(file.path)'").status == 0, "libvirt accepts it at define")
        let start = try Sandbox.shell("virsh -q -c qemu:///system start vm-target-clash")
        #expect(start.status != 0 && start.standardOutput.contains("error creating macvtap interface clash0@eth0") && start.standardOutput.contains("File exists"), "\(start.standardOutput)")
        #expect(try Sandbox.shell("ip netns exec vmtap ip link show clash0").status != 0, "libvirt's clean-up deleted the existing link")
    }

    @Test("Each mode reaches the kernel as asked", arguments: [("vepa", "vepa"), ("bridge", "bridge"), ("private", "private"), ("passthrough", "passthru")])
    func modeReachesKernel(mode: String, kernelName: String) throws {
        let attach = try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", mode])
        #expect(attach.status == 0, "\(attach.standardError)")
        let mac = try #require(try Sandbox.macs("vm1").first)
        let link = try #require(try Sandbox.macvtapLinks().first { $0.contains("link/ether \(mac)") })
        #expect(link.contains("macvtap mode \(kernelName) "), "\(link)")
        #expect(try Tool.run(["detach", "vm1", "--mac", mac]).status == 0)
    }

    @Test("Mode semantics with two guests on eth0: bridge reaches, vepa only through a hairpin switch, private never")
    func modeSemantics() throws {
        func attachBoth(_ mode: String) throws -> Int {
            let offset = Sandbox.serialLength("vm1")
            for domain in ["vm1", "vm2"] {
                let result = try Tool.run(["attach", domain, "--source", "eth0", "--mode", mode])
                try #require(result.status == 0, "\(result.standardError)")
            }
            return offset
        }
        // bridge: the macvtaps forward to each other inside the kernel.
        var offset = try attachBoth("bridge")
        #expect(Sandbox.watchPeer("vm1", since: offset, results: 0, untilReachable: true).contains(true), "bridge: vm1 never reached vm2")
        try Sandbox.reset()

        // vepa: every frame goes out to the switch; a plain one does not send it back.
        offset = try attachBoth("vepa")
        let vepaPlain = Sandbox.watchPeer("vm1", since: offset, results: 6, untilReachable: false)
        #expect(vepaPlain.count >= 6 && !vepaPlain.contains(true), "vepa without hairpin: \(vepaPlain) \(Sandbox.serialTail("vm1"))")
        #expect(try Sandbox.lanReaches("192.0.2.11"), "vepa: the lan side must still reach vm1")
        try Sandbox.shell("scripts/sandbox hairpin on".replacingOccurrences(of: "scripts/", with: Fixtures.packageRoot.path + "/scripts/"))
        offset = Sandbox.serialLength("vm1")
        #expect(Sandbox.watchPeer("vm1", since: offset, results: 0, untilReachable: true).contains(true), "vepa with hairpin: vm1 never reached vm2")
        try Sandbox.reset()

        // private: even a reflecting switch does not help.
        offset = try attachBoth("private")
        try Sandbox.shell(Fixtures.packageRoot.path + "/scripts/sandbox hairpin on")
        let privateHairpin = Sandbox.watchPeer("vm1", since: offset, results: 6, untilReachable: false)
        #expect(privateHairpin.count >= 6 && !privateHairpin.contains(true), "private with hairpin: \(privateHairpin)")
        #expect(try Sandbox.lanReaches("192.0.2.11"), "private: the lan side must still reach vm1")
        try Sandbox.reset()
    }

    @Test("Detach on a guest that never releases the NIC times out with exit 4 and says why; the NIC stays")
    func detachTimeout() throws {
        #expect(try Tool.run(["attach", "vm-noos", "--source", "eth0", "--mode", "bridge"]).status == 0)
        let mac = try #require(try Sandbox.macs("vm-noos").first)
        let detach = try Tool.run(["detach", "vm-noos", "--mac", mac, "--timeout", "1"])
        #expect(detach.status == 4)
        #expect(detach.standardOutput.contains("NOT detached"))
        #expect(detach.standardOutput.contains("ACPI PCI hot-unplug"))
        #expect(!(detach.standardOutput + detach.standardError).localizedCaseInsensitiveContains("successfully"))
        #expect(try Sandbox.macs("vm-noos") == [mac], "the NIC must still be in the live XML")
        try Sandbox.reset()
    }

    @Test("Refusals before anything changes: duplicate MACs (same domain, another domain, a host NIC), --live on a shut-off domain, an unknown domain, a device held by passthrough")
    func refusals() throws {
        let mac = "52:54:00:5a:0b:01"
        #expect(try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "bridge", "--mac", mac]).status == 0)

        let sameDomain = try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "bridge", "--mac", mac])
        #expect(sameDomain.status == 1)
        #expect(sameDomain.standardError.contains("MAC \(mac) is also used by the interface at line"), "\(sameDomain.standardError)")
        #expect(sameDomain.standardError.contains("[mac-duplicate-in-domain]"))
        let otherDomain = try Tool.run(["attach", "vm2", "--source", "eth0", "--mode", "bridge", "--mac", mac])
        #expect(otherDomain.status == 1)
        let conflict = "MAC \(mac) is used by domain 'vm1' on qemu:///system [libvirt does not check this]"
        #expect(otherDomain.standardError.contains(conflict) && otherDomain.standardError.contains("[mac-in-use-on-host]"), "\(otherDomain.standardError)")

        // The same conflict in a file, through lint -c: the same words, the same rule.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vm2-conflict-\(getpid()).xml")
        defer { try? FileManager.default.removeItem(at: file) }
        try
            ("<domain type='qemu'><name>vm2</name><memory unit='MiB'>192</memory><os><type arch='x86_64'>hvm</type></os><devices>"
            + "<interface type='direct'><mac address='\(mac)'/><source dev='eth0' mode='bridge'/><model type='virtio'/></interface>"
            + "</devices></domain>").write(to: file, atomically: true, encoding: .utf8)
        let lint = try Tool.run(["lint", "-c", "qemu:///system", file.path])
        #expect(lint.standardOutput.contains(conflict) && lint.standardOutput.contains("[mac-in-use-on-host]"), "\(lint.standardOutput)")

        let hostMAC = try Sandbox.shell("ip netns exec vmtap cat /sys/class/net/eth0/address").standardOutput
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hostNIC = try Tool.run(["attach", "vm2", "--source", "eth0", "--mode", "bridge", "--mac", hostMAC])
        #expect(hostNIC.status == 1)
        #expect(hostNIC.standardError.contains("host interface 'eth0'"), "\(hostNIC.standardError)")

        let shutOff = try Tool.run(["attach", "vm-off", "--source", "eth0", "--live"])
        #expect(shutOff.status == 1)
        #expect(shutOff.standardError.contains("'vm-off' is shut off"))

        let unknown = try Tool.run(["attach", "no-such-vm", "--source", "eth0"])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("domain 'no-such-vm' not found on qemu:///system"))

        let missingDevice = try Tool.run(["attach", "vm1", "--source", "eth9"])
        #expect(missingDevice.status == 1)
        #expect(missingDevice.standardError.contains("source device 'eth9' does not exist"))

        let passthroughOnShared = try Tool.run(["attach", "vm2", "--source", "eth0", "--mode", "passthrough"])
        #expect(passthroughOnShared.status == 1)
        #expect(
            passthroughOnShared.standardError.contains("source device 'eth0' on qemu:///system is held by this passthrough interface and also used by domain 'vm1'"),
            "\(passthroughOnShared.standardError)")
        try Sandbox.reset()

        #expect(try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "passthrough"]).status == 0)
        let onHeld = try Tool.run(["attach", "vm2", "--source", "eth0", "--mode", "bridge"])
        #expect(onHeld.status == 1)
        #expect(onHeld.standardError.contains("held by a passthrough interface of domain 'vm1'"), "\(onHeld.standardError)")
        #expect(try Sandbox.macs("vm2").isEmpty, "a refusal must change nothing")
        try Sandbox.reset()
    }

    @Test("A daemon that is not there: one line, exit 3")
    func daemonDown() throws {
        let result = try Tool.run(["-c", "qemu+unix:///system?socket=/run/virt-macvtap-no-daemon/libvirt-sock", "attach", "vm1", "--source", "eth0"])
        #expect(result.status == 3)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1, "\(result.standardError)")
        #expect(result.standardError.contains("is libvirtd (or virtqemud) running?"))
    }

    @Test("--live --config: both copies get the same MAC; detach --live --config removes both")
    func liveAndConfig() throws {
        let attach = try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "bridge", "--live", "--config"])
        #expect(attach.status == 0, "\(attach.standardError)")
        let rows = try Sandbox.directNICs("vm1")
        #expect(rows.count == 1)
        #expect(rows.first?["copies"] as? String == "live+config")
        let mac = try #require((rows.first?["nic"] as? [String: Any])?["mac"] as? String)
        #expect(try Tool.run(["detach", "vm1", "--mac", mac, "--live", "--config"]).status == 0)
        #expect(try Sandbox.directNICs("vm1").isEmpty)
    }

    @Test("--count 3 attaches three distinct MACs; --source without --all is ambiguous; --all detaches them")
    func batchAndAmbiguity() throws {
        let attach = try Tool.run(["attach", "vm2", "--source", "eth0", "--mode", "bridge", "--count", "3"])
        #expect(attach.status == 0, "\(attach.standardError)")
        let macs = try Sandbox.macs("vm2")
        #expect(Set(macs).count == 3)
        let ambiguous = try Tool.run(["detach", "vm2", "--source", "eth0"])
        #expect(ambiguous.status == 1)
        #expect(ambiguous.standardError.contains("3 direct interfaces of 'vm2' match source device 'eth0'"))
        #expect(macs.allSatisfy { ambiguous.standardError.contains($0) }, "the candidates must be listed")
        let all = try Tool.run(["detach", "vm2", "--source", "eth0", "--all"])
        #expect(all.status == 0, "\(all.standardOutput)")
        #expect(try Sandbox.macs("vm2").isEmpty)
    }

    @Test("A batch that fails part-way (the PCI bus runs out of slots) is rolled back: the domain is as it was")
    func batchRollback() throws {
        let before = try Sandbox.shell("virsh -c qemu:///system dumpxml vm2 | grep -c '<interface'").standardOutput
        let ledger = FileManager.default.temporaryDirectory.appendingPathComponent("rollback-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: ledger) }
        let attach = try Tool.run(["attach", "vm2", "--source", "eth0", "--mode", "bridge", "--count", "40", "--timeout", "20", "--ledger", ledger])
        #expect(attach.status == 3, "\(attach.standardOutput)\(attach.standardError)")
        // The 40 MACs were recorded before the first hot-plug; the rollback gave every one back.
        let reservations = try Tool.run(["mac", "list", "--ledger", ledger, "--format", "csv"])
        #expect(reservations.status == 0 && reservations.standardOutput.split(separator: "\n").count == 1, "\(reservations.standardOutput)")
        let batches = try Sandbox.shell(
            "python3 -c \"import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\\\"SELECT count(*) FROM batches WHERE label = 'vm2'\\\").fetchone()[0])\" '\(ledger)'")
        #expect(batches.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "recorded as one batch for vm2 first: \(batches.standardOutput)")
        #expect(attach.standardError.contains("attach failed"))
        #expect(attach.standardOutput.contains("rolled back (detached again)"))
        #expect(attach.standardOutput.contains("not attempted"))
        #expect(!attach.standardOutput.contains("STILL ATTACHED"))
        #expect(try Sandbox.macs("vm2").isEmpty)
        let after = try Sandbox.shell("virsh -c qemu:///system dumpxml vm2 | grep -c '<interface'").standardOutput
        #expect(before == after)
        #expect(try Sandbox.macvtapLinks().isEmpty)
    }
}
