import Foundation
import MacvtapKit
import MacvtapNetlink
import MacvtapTestSupport
import MacvtapXML
import Testing

/// The parts of the day-two commands that need no sandbox: URIs, the network rule against
/// libvirt's test driver, element copies, host-shim plans (read-only netlink, scratch roots)
/// and the command lines' usage errors.
@Suite("Day two: the pure parts and read-only checks")
struct DayTwoUnitTests {
    @Test("A URI names a remote host only when it has a host part other than this one")
    func remoteHosts() {
        #expect(LibvirtURI.remoteHost("qemu:///system") == nil)
        #expect(LibvirtURI.remoteHost("qemu+ssh://root@hv-a/system") == "hv-a")
        #expect(LibvirtURI.remoteHost("qemu+tcp://hv-b:16509/system") == "hv-b")
        #expect(LibvirtURI.remoteHost("qemu+tcp://[2001:db8::5]:16509/system") == "2001:db8::5")
        #expect(LibvirtURI.remoteHost("qemu+tcp://localhost/system") == nil)
        #expect(LibvirtURI.remoteHost("test:///default") == nil)
    }

    @Test("network-on-host: a network the host does not define is an error under -c; one it defines is not")
    func networkOnHost() throws {
        func domain(_ network: String) -> String {
            "<domain type='kvm'><name>n1</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os><devices>"
                + "<interface type='network'><mac address='52:54:00:31:00:01'/><source network='\(network)'/><model type='virtio'/></interface>"
                + "</devices></domain>"
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("network-rule-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try domain("lab").write(to: directory.appendingPathComponent("missing.xml"), atomically: true, encoding: .utf8)
        try domain("default").write(to: directory.appendingPathComponent("present.xml"), atomically: true, encoding: .utf8)
        let result = try Tool.run(["lint", "-c", "test:///default", "--format", "json", directory.path])
        let findings = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])["findings"] as? [[String: Any]]
        let network = (findings ?? []).filter { $0["ruleID"] as? String == "network-on-host" }
        #expect(network.count == 1, "\(result.standardOutput)")
        #expect((network.first?["file"] as? String)?.hasSuffix("missing.xml") == true)
        #expect((network.first?["message"] as? String)?.contains("network 'lab' does not exist on test:///default") == true)
        #expect(network.first?["severity"] as? String == "error")
        #expect(result.status == 1)
    }

    @Test("An element copy keeps attributes, children and text, and changes only what is set")
    func elementCopy() throws {
        let xml = "<interface type='direct'><mac address='52:54:00:00:00:01'/><source dev='eth0' mode='vepa'/><target dev='macvtap3'/><description>uplink &amp; more</description></interface>"
        let document = try XMLDocument(bytes: Array(xml.utf8), fileName: "nic.xml")
        var copy = XMLElementSpec(copying: try #require(document.root))
        #expect(copy.firstChild(named: "source")?.attribute("mode") == "vepa")
        #expect(copy.firstChild(named: "description")?.text == "uplink & more")
        var source = try #require(copy.firstChild(named: "source"))
        source.setAttribute("mode", to: "bridge")
        copy.setChild("source", to: source)
        copy.setChild("target", to: nil)
        copy.setChild("link", to: XMLElementSpec("link", attributes: [("state", "down")]))
        let written = String(decoding: try XMLFragmentWriter.serialize(copy), as: UTF8.self)
        #expect(written.contains("<source dev=\"eth0\" mode=\"bridge\"/>"), "\(written)")
        #expect(!written.contains("macvtap3"))
        #expect(written.contains("<link state=\"down\"/>"))
        #expect(written.contains("uplink &amp; more"))
    }

    static func scratchRoot(_ name: String) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    /// Plans only: the netlink socket reads this namespace's links and addresses, changes nothing.
    static func plan(_ stack: NetworkStack?, root: String, device: String = "lo", address: String = "198.51.100.77/24") throws -> HostShimPlan {
        let session = try HostShimSession(environment: HostShimEnvironment(root: root, recordPath: root + "/state/host-shims.json"))
        return try session.plan(HostShimRequest(device: device, address: address, persist: .some(stack)))
    }

    @Test("host-shim --persist writes each stack's own format: a NetworkManager keyfile (0600, mode=2), an ifupdown stanza, networkd files with a drop-in")
    func persistFormats() throws {
        let root = try Self.scratchRoot("shim-formats")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let keyfile = try #require(try Self.plan(.networkmanager, root: root).files.first)
        #expect(keyfile.path == root + "/etc/NetworkManager/system-connections/virt-macvtap-mv-lo.nmconnection")
        #expect(keyfile.mode == 0o600)
        #expect(keyfile.content.contains("type=macvlan") && keyfile.content.contains("parent=lo") && keyfile.content.contains("mode=2"))
        #expect(keyfile.content.contains("[ipv4]\nmethod=manual\naddress1=198.51.100.77/24"))

        let stanza = try #require(try Self.plan(.ifupdown, root: root).files.first)
        #expect(stanza.content.contains("iface mv-lo inet static") && stanza.content.contains("type macvlan mode bridge"))

        #expect(throws: HostShimError.self, "networkd without a .network for the device has nothing to hang MACVLAN= on") {
            try Self.plan(.networkd, root: root)
        }
        try FileManager.default.createDirectory(atPath: root + "/usr/lib/systemd/network", withIntermediateDirectories: true)
        try "[Match]\nName=l* e*\n".write(toFile: root + "/usr/lib/systemd/network/80-all.network", atomically: true, encoding: .utf8)
        let networkd = try Self.plan(.networkd, root: root).files.map(\.path)
        #expect(networkd.contains(root + "/etc/systemd/network/80-all.network.d/virt-macvtap-mv-lo.conf"), "\(networkd)")
        #expect(networkd.contains(root + "/etc/systemd/network/50-virt-macvtap-mv-lo.netdev"))
    }

    @Test(
        "host-vlan --persist writes DEV.N in each stack's format (networkd netdev + drop-in VLAN=, a NetworkManager vlan keyfile, an ifupdown stanza), without an address; a name past 15 bytes is refused with the one to use"
    )
    func vlanPersistFormats() throws {
        let root = try Self.scratchRoot("vlan-formats")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let session = try HostShimSession(environment: HostShimEnvironment(root: root, recordPath: root + "/state/host-shims.json"))
        func plan(_ stack: NetworkStack, device: String = "lo", name: String? = nil) throws -> HostShimPlan {
            try session.plan(HostVLANRequest(device: device, id: 15, name: name, persist: .some(stack)))
        }
        let keyfile = try #require(try plan(.networkmanager).files.first)
        #expect(keyfile.path == root + "/etc/NetworkManager/system-connections/virt-macvtap-lo.15.nmconnection" && keyfile.mode == 0o600)
        #expect(keyfile.content.contains("type=vlan") && keyfile.content.contains("[vlan]\nparent=lo\nid=15"), "\(keyfile.content)")
        #expect(keyfile.content.contains("[ipv4]\nmethod=disabled") && !keyfile.content.contains("address1"))
        let stanza = try #require(try plan(.ifupdown).files.first)
        #expect(stanza.content.contains("iface lo.15 inet manual") && stanza.content.contains("ip link add link lo name lo.15 type vlan id 15"))
        #expect(stanza.content.contains("Written by virt-macvtap host-vlan"))
        try FileManager.default.createDirectory(atPath: root + "/etc/systemd/network", withIntermediateDirectories: true)
        try "[Match]\nName=lo\n".write(toFile: root + "/etc/systemd/network/10-lo.network", atomically: true, encoding: .utf8)
        let networkd = try plan(.networkd)
        let byPath = Dictionary(networkd.files.map { ($0.path, $0.content) }, uniquingKeysWith: { first, _ in first })
        #expect(byPath[root + "/etc/systemd/network/50-virt-macvtap-lo.15.netdev"]?.contains("Kind=vlan\n\n[VLAN]\nId=15") == true, "\(byPath)")
        #expect(byPath[root + "/etc/systemd/network/10-lo.network.d/virt-macvtap-lo.15.conf"]?.contains("VLAN=lo.15") == true, "\(byPath)")
        #expect(networkd.vlanID == 15 && networkd.address.isEmpty)
        #expect(try plan(.ifupdown, name: "vlan15").name == "vlan15")

        let long = try Tool.run(["host-vlan", "averyveryverylong0", "15"])
        #expect(long.status == 1 && long.standardError.contains("--name vlan15"), "\(long)")
        #expect(long.standardError.split(separator: "\n").count == 1)
        for bad in ["0", "4095", "x"] {
            let usage = try Tool.run(["host-vlan", "lo", bad])
            #expect(usage.status == 2, "\(bad): \(usage)")
        }
    }

    @Test("host-shim --persist auto: NetworkManager when it runs, netplan noted and written as networkd, ifupdown; a file it did not write is never replaced")
    func persistDetection() throws {
        let root = try Self.scratchRoot("shim-detect")
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: HostShimError.self, "nothing to detect") { try Self.plan(nil, root: root) }

        try FileManager.default.createDirectory(atPath: root + "/etc/network", withIntermediateDirectories: true)
        try "auto lo\niface lo inet loopback\n".write(toFile: root + "/etc/network/interfaces", atomically: true, encoding: .utf8)
        let ifupdown = try Self.plan(nil, root: root)
        #expect(ifupdown.stack == .ifupdown)
        #expect(ifupdown.notes.contains { $0.contains("does not source /etc/network/interfaces.d") })

        try FileManager.default.createDirectory(atPath: root + "/etc/netplan", withIntermediateDirectories: true)
        try "network: {version: 2}\n".write(toFile: root + "/etc/netplan/01.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root + "/run/systemd/network", withIntermediateDirectories: true)
        try "[Match]\nName=lo\n".write(toFile: root + "/run/systemd/network/10-netplan-lo.network", atomically: true, encoding: .utf8)
        let netplan = try Self.plan(nil, root: root)
        #expect(netplan.stack == .networkd)
        #expect(netplan.notes.contains { $0.contains("netplan, which has no macvlan type") })

        try FileManager.default.createDirectory(atPath: root + "/run/NetworkManager", withIntermediateDirectories: true)
        let manager = try Self.plan(nil, root: root)
        #expect(manager.stack == .networkmanager)
        let foreign = try #require(manager.files.first).path
        try FileManager.default.createDirectory(atPath: (foreign as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "[connection]\nid=someone-elses\n".write(toFile: foreign, atomically: true, encoding: .utf8)
        do {
            _ = try Self.plan(nil, root: root)
            Issue.record("a foreign file at \(foreign) must be refused")
        } catch let error as HostShimError {
            #expect(error.description.contains("was not written by virt-macvtap"), "\(error)")
        }
    }

    @Test("Usage errors of the day-two commands exit 2 with the error first, then the usage")
    func usage() throws {
        for arguments in [
            ["set-link", "vm1", "down"],
            ["set-link", "vm1", "--mac", "52:54:00:00:00:01", "--alias", "net0", "down"],
            ["set-link", "vm1", "--mac", "52:54:00:00:00:01", "sideways"],
            ["change-mode", "vm1", "--mac", "52:54:00:00:00:01", "--mode", "VEPA"],
            ["migrate-check", "vm1", "--to", "test:///default", "--map", "eth0"],
            ["migrate-check", "vm1", "--to", "test:///default", "--map", "eth0=a", "--map", "eth0=b"],
            ["host-shim", "eth0"],
            ["host-shim", "eth0", "--remove", "--address", "192.0.2.2/24"],
            ["host-shim", "eth0", "--address", "192.0.2.2/24", "--persist", "netplan"],
        ] {
            let result = try Tool.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.status) \(result.standardError)")
            // argument-parser's shape: the error on one line, then the usage.
            #expect(result.standardError.hasPrefix("Error: ") && result.standardError.contains("Usage: virt-macvtap \(arguments[0])"), "\(arguments): \(result.standardError)")
        }
    }
}
