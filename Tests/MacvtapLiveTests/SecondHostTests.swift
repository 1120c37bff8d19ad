import Foundation
import MacvtapTestSupport
import Testing

/// The sandbox's second libvirt host (scripts/sandbox: its own libvirtd in network namespace hv2
/// and a private mount namespace, over TCP) and the shared PostgreSQL ledger reached from two
/// network namespaces.
enum SecondHost {
    static let uri = "qemu+tcp://198.51.100.2/system"
    static let firstURI = "qemu:///system"
    static let guest = "vm-far"
    static let guestMAC = "52:54:00:0f:a2:01"
    /// The PostgreSQL server as seen from inside namespace hv2 (scripts/postgres listens there too).
    static func ledgerFromNamespace(_ url: String) -> String { url.replacingOccurrences(of: "@127.0.0.1:", with: "@198.51.100.1:") }

    /// Starts the second host's libvirtd again; true once it answers (the script waits for that).
    static func startDaemon() throws -> Bool {
        try Sandbox.shell("\(Fixtures.packageRoot.path)/scripts/sandbox second-host start").status == 0
    }
}

// Nested in the live suite, which runs serially: the fault tests there kill the first host's
// libvirtd and restart the whole sandbox, and this suite stops the second host's and uses the
// first; run beside each other, two restarts raced (a clean-clone run failed so).
extension LiveSandboxTests {
    @Suite(
        "Second host: lint, mac, attach and detach over qemu+tcp against a second libvirtd; one ledger from two namespaces",
        .serialized, .enabled(if: Sandbox.isConfigured && PostgresTestServer.isConfigured))
    struct SecondHostTests {
        /// A domain file using the second host's guest MAC on eth0, and a device no host has.
        func fleetFile() throws -> URL {
            let scratch = try Scratch()
            let file = scratch.directory.appendingPathComponent("web9.xml")
            try """
            <domain type='kvm'>
              <name>web9</name>
              <memory>1048576</memory>
              <os><type>hvm</type></os>
              <devices>
                <interface type='direct'><mac address='\(SecondHost.guestMAC)'/><source dev='eth0' mode='bridge'/><model type='virtio'/></interface>
                <interface type='direct'><mac address='52:54:00:0f:a2:09'/><source dev='eth9' mode='bridge'/><model type='virtio'/></interface>
              </devices>
            </domain>
            """.write(to: file, atomically: true, encoding: .utf8)
            return file
        }

        @Test("lint -c on both hosts finds the MAC the other host's guest uses; -c on the first alone does not")
        func lintAcrossHosts() throws {
            let file = try fleetFile()
            let both = try Tool.run(["lint", "-c", SecondHost.firstURI, "-c", SecondHost.uri, file.path])
            #expect(both.status == 1)
            #expect(
                both.standardOutput.contains("MAC \(SecondHost.guestMAC) is used by domain '\(SecondHost.guest)' on \(SecondHost.uri)")
                    && both.standardOutput.contains("[mac-in-use-on-host]"), "\(both.standardOutput)")
            let first = try Tool.run(["lint", "-c", SecondHost.firstURI, file.path])
            #expect(!first.standardOutput.contains("[mac-in-use-on-host]"), "\(first.standardOutput)")
        }

        @Test("mac allocate and check with -c on both hosts avoid both hosts' MACs")
        func allocateAcrossHosts() throws {
            let ledger = try LedgerBackend.postgresql.freshLedger()
            let check = try Tool.run(["mac", "check", "02:00:00:00:00:e0", SecondHost.guestMAC, "-c", SecondHost.firstURI, "-c", SecondHost.uri, "--ledger", ledger])
            #expect(check.status == 1)
            let lines = check.standardOutput.split(separator: "\n")
            #expect(lines.count == 2 && lines[0].contains("on \(SecondHost.firstURI)") && lines[1].contains("domain '\(SecondHost.guest)' on \(SecondHost.uri)"), "\(check.standardOutput)")
            // Three addresses around the second host's guest, two around the first host's eth0/eth1: only the free ones come out.
            let near = try Tool.run(["mac", "allocate", "--count", "2", "--range", "52:54:00:0f:a2:00-52:54:00:0f:a2:02", "-c", SecondHost.firstURI, "-c", SecondHost.uri, "--ledger", ledger])
            #expect(near.status == 0, "\(near.standardError)")
            #expect(Set(near.standardOutput.split(separator: "\n")) == ["52:54:00:0f:a2:00", "52:54:00:0f:a2:02"])
            let uplinks = try Tool.run(["mac", "allocate", "--count", "1", "--range", "02:00:00:00:00:df-02:00:00:00:00:e1", "-c", SecondHost.firstURI, "-c", SecondHost.uri, "--ledger", ledger])
            #expect(uplinks.status == 0 && uplinks.standardOutput == "02:00:00:00:00:df\n", "\(uplinks)")
        }

        @Test("attach over TCP records the MAC (label: the domain), a refused attach gives it back, detach --release releases it once gone")
        func attachAndDetachThroughTCP() throws {
            let ledger = try LedgerBackend.postgresql.freshLedger()
            // A target name another link of that host has: refused by the rule before anything is
            // recorded (libvirt itself fails it at hot-plug with "File exists": LiveSandboxTests).
            let refused = try Tool.run(["attach", SecondHost.guest, "-c", SecondHost.uri, "--source", "eth0", "--mode", "bridge", "--target", "hv2-up", "--ledger", ledger])
            #expect(refused.status == 1 && refused.standardError.contains("[target-dev-on-host]"), "\(refused.standardError)")
            #expect(try Tool.run(["mac", "list", "--ledger", ledger, "--format", "csv"]).standardOutput.split(separator: "\n").count == 1, "nothing recorded")

            let attached = try Tool.run(["attach", SecondHost.guest, "-c", SecondHost.uri, "--source", "eth0", "--mode", "vepa", "--ledger", ledger, "--format", "json"])
            #expect(attached.status == 0, "\(attached.standardError)")
            let object = try #require(JSONSerialization.jsonObject(with: Data(attached.standardOutput.utf8)) as? [String: Any], "\(attached.standardOutput)")
            let nic = try #require((object["interfaces"] as? [[String: Any]])?.first, "\(attached.standardOutput)")
            let mac = try #require(nic["mac"] as? String)
            let target = try #require((nic["nic"] as? [String: Any])?["target"] as? String, "\(attached.standardOutput)")
            // The second host's kernel shows it, in its own namespace.
            let link = try Sandbox.shell("ip netns exec hv2 ip -d link show \(target)")
            #expect(link.standardOutput.contains("macvtap mode vepa") && link.standardOutput.contains(mac), "\(link.standardOutput)")
            let check = try Tool.run(["mac", "check", mac, "--ledger", ledger])
            #expect(check.standardOutput.contains("label '\(SecondHost.guest)'"), "\(check.standardOutput)")

            let detached = try Tool.run(["detach", SecondHost.guest, "-c", SecondHost.uri, "--mac", mac, "--release", "--ledger", ledger, "--timeout", "30"])
            #expect(detached.status == 0, "\(detached.standardError)")
            #expect(detached.standardError.contains("released \(mac) from ledger"), "\(detached.standardError)")
            #expect(try Tool.run(["mac", "check", mac, "--ledger", ledger]).status == 0, "free again")
            #expect(try Sandbox.shell("ip netns exec hv2 ip link show \(target)").status != 0, "the macvtap is gone")

            // No ledger reachable: refused with the way out; --no-ledger attaches and says it recorded nothing.
            let unreachable = ledger.replacing(#/:\d+/ledger_/#, with: ":1/ledger_")
            let blocked = try Tool.run(["attach", SecondHost.guest, "-c", SecondHost.uri, "--source", "eth0", "--mode", "bridge", "--ledger", unreachable])
            #expect(blocked.status == 3 && blocked.standardError.contains("cannot reach ledger") && blocked.standardError.contains("give --no-ledger"), "\(blocked)")
            #expect(!blocked.standardOutput.contains("attached"), "nothing was attached")
            let unrecorded = try Tool.run(["attach", SecondHost.guest, "-c", SecondHost.uri, "--source", "eth0", "--mode", "bridge", "--no-ledger"])
            #expect(unrecorded.status == 0, "\(unrecorded.standardError)")
            #expect(unrecorded.standardError.contains("--no-ledger:") && unrecorded.standardError.contains("not recorded in any ledger"), "\(unrecorded.standardError)")
            let plain = try #require(unrecorded.standardOutput.firstMatch(of: /attached ([0-9a-f:]{17})/).map { String($0.output.1) }, "\(unrecorded.standardOutput)")
            #expect(try Tool.run(["detach", SecondHost.guest, "-c", SecondHost.uri, "--mac", plain, "--timeout", "30"]).status == 0)
        }

        @Test("Two clients in different network namespaces allocate 10,000 each from one PostgreSQL ledger at once: 20,000 distinct")
        func twoNamespaces() throws {
            let ledger = try LedgerBackend.postgresql.freshLedger()
            let addresses = try LedgerBehaviourTests.allocateConcurrently(
                ledger: ledger, processes: 2, count: 10_000, wrappers: [1: ["/usr/bin/env", "ip", "netns", "exec", "hv2"]],
                ledgers: [1: SecondHost.ledgerFromNamespace(ledger)])
            #expect(addresses.count == 20_000)
            #expect(Set(addresses).count == 20_000)
            // The namespace cannot reach 127.0.0.1 of this one: the second client really used the veth.
            let loopback = try Sandbox.shell("ip netns exec hv2 '\(Tool.executable.path)' mac list --ledger '\(ledger)'")
            #expect(loopback.status == 3 && loopback.standardOutput.contains("cannot reach ledger"), "\(loopback)")
        }

        @Test("With the second host's libvirtd stopped: lint and reconcile name it, exit 3, and still report the first host")
        func oneHostStopped() throws {
            let file = try fleetFile()
            try #require(try Sandbox.shell("\(Fixtures.packageRoot.path)/scripts/sandbox second-host stop").status == 0)
            var restarted = false
            defer { if !restarted { _ = try? SecondHost.startDaemon() } }
            let lint = try Tool.run(["lint", "-c", SecondHost.firstURI, "-c", SecondHost.uri, file.path])
            #expect(lint.status == 3)
            #expect(lint.standardError.contains("host \(SecondHost.uri) could not be checked"), "\(lint.standardError)")
            #expect(lint.standardOutput.contains("'eth9' does not exist on \(SecondHost.firstURI)"), "\(lint.standardOutput)")
            let ledger = try LedgerBackend.postgresql.freshLedger()
            let reconcile = try Tool.run(["mac", "reconcile", "-c", SecondHost.firstURI, "-c", SecondHost.uri, "--exclude", file.path, "--ledger", ledger])
            #expect(reconcile.status == 3)
            #expect(reconcile.standardError.contains("host \(SecondHost.uri)"), "\(reconcile.standardError)")
            #expect(reconcile.standardOutput.contains("in use, not reserved: 52:54:00:0f:a2:09"), "\(reconcile.standardOutput)")
            restarted = try SecondHost.startDaemon()
            #expect(restarted, "the second host's libvirtd answers again")
            #expect(try Tool.run(["list", "-c", SecondHost.uri]).standardOutput.contains(SecondHost.guestMAC), "the guest survived its daemon's restart")
        }
    }
}
