import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing

/// Faults on live operations, made real: libvirtd is killed (SIGKILL) at a chosen moment and
/// brought back by scripts/sandbox up, which libvirt supports (QEMU guests keep running and the
/// restarted daemon reconnects to them). Part of the live suite so that nothing else uses the
/// daemon while it is down (the second-host suite is nested in it for that reason).
extension Sandbox {
    static let libvirtdPIDFile = "\(serialDirectory)/libvirtd.pid"

    /// Kills the sandbox's libvirtd and waits until it is gone.
    static func killDaemon() throws {
        let pid = try #require(
            Int32(try String(contentsOfFile: libvirtdPIDFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, SIGKILL) == 0)
        for _ in 0..<100 where kill(pid, 0) == 0 { Thread.sleep(forTimeInterval: 0.05) }
        #expect(kill(pid, 0) != 0, "libvirtd \(pid) survived SIGKILL")
    }

    /// system(3), not Foundation's Process: after libvirtd was killed under a running test,
    /// Process once never saw its child exit (a zombie, and waitUntilExit forever).
    static func restartDaemon() throws {
        let log = "\(serialDirectory)/restart.log"
        let status = system("'\(Fixtures.packageRoot.path)/scripts/sandbox' up >'\(log)' 2>&1 </dev/null")
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try #require(status == 0, "scripts/sandbox up could not restart libvirtd: \(output)")
    }

    /// MACs of every interface in a domain's live XML, read with virsh (not the tool under test).
    static func liveMACs(_ domain: String) throws -> Set<String> {
        let xml = try shell("virsh -c qemu:///system dumpxml \(domain)").standardOutput
        return Set(
            xml.split(separator: "\n").compactMap { line -> String? in
                guard let start = line.range(of: "<mac address='") else { return nil }
                return String(line[start.upperBound...].prefix(17))
            })
    }
}

extension LiveSandboxTests {
    @Test("libvirtd killed in the middle of a batch attach: a clear error, each NIC attached / not attached / unknown, nothing claimed that the XML does not show")
    func daemonKilledDuringBatchAttach() throws {
        let session = try LiveSession(uri: "qemu:///system", readOnly: false)
        let renderer = InterfaceRenderer(schema: try SchemaLocator.loadInterfaceSchema())
        let request = AttachRequest(
            domain: "vm2", interfaces: Array(repeating: DirectInterfaceSpec(sourceDevice: "eth0", mode: .bridge), count: 4),
            copies: .live)
        let plan = try session.planAttach(request, renderer: renderer, linter: Linter(rulesOnly: Linter.attachConfiguration))
        try #require(plan.refusals.isEmpty)
        let report = try session.attach(plan) { index in
            if index == 1 { try? Sandbox.killDaemon() }
        }
        defer {
            try? Sandbox.restartDaemon()
            try? Sandbox.reset()
        }
        let states = report.entries.map(\.state)
        let failure = try #require(report.failure, "a batch whose daemon died must not succeed")
        #expect(failure.hasPrefix("NIC 3 of 4"), "\(failure)")
        #expect(!states.contains(.attached), "nothing can be confirmed without the daemon: \(states)")
        #expect(states[3] == .notAttempted)
        for index in 0...2 {
            guard case .unknown = states[index] else {
                Issue.record("NIC \(index + 1): \(states[index]) (expected unknown)")
                continue
            }
        }
        let text = LiveReports.text(report)
        for entry in report.entries { #expect(text.contains(entry.requested.mac.description)) }
        #expect(text.contains("unknown (") && text.contains("not attempted"), "\(text)")

        // The truth, once the daemon is back: every NIC the report did not call unknown is as it says.
        try Sandbox.restartDaemon()
        let live = try Sandbox.liveMACs("vm2")
        for (entry, state) in zip(report.entries, states) {
            let mac = entry.requested.mac.description
            switch state {
            case .attached: #expect(live.contains(mac))
            case .notAttempted, .notAttached: #expect(!live.contains(mac), "\(mac) is attached although reported \(state)")
            default: break
            }
        }
        // libvirt confirmed the first two before it died; they are there, and the report did not deny it.
        #expect(live.contains(report.entries[0].requested.mac.description))
        #expect(live.contains(report.entries[1].requested.mac.description))
    }

    /// At 2 s libvirt is still inside virDomainDetachDeviceFlags (it waits ~5 s for the guest
    /// itself); at 8 s the call has returned and we are waiting for the device-removed event.
    @Test(
        "The connection is lost while detach waits (inside libvirt's call, then for the device-removed event): exit 4 at once, and it says so",
        arguments: [2.0, 8.0])
    func connectionLostWhileWaitingForDetach(killAfter seconds: Double) throws {
        let attach = try Tool.run(["attach", "vm-noos", "--source", "eth0", "--mode", "bridge", "--format", "json"])
        try #require(attach.status == 0, "\(attach.standardError)")
        let mac = try #require(try Sandbox.macs("vm-noos").first)
        defer {
            try? Sandbox.restartDaemon()
            try? Sandbox.reset()
        }
        let killer = Thread {
            Thread.sleep(forTimeInterval: seconds)
            try? Sandbox.killDaemon()
        }
        let started = Date()
        killer.start()
        // vm-noos never releases a NIC: without the fault this would wait the full 60 s.
        let detach = try Tool.run(["detach", "vm-noos", "--mac", mac, "--timeout", "60"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(detach.status == 4, "\(detach.standardOutput)\(detach.standardError)")
        #expect(elapsed < seconds + 10, "detach waited \(elapsed - seconds) s after the daemon died")
        #expect(
            (detach.standardOutput + detach.standardError).contains("the connection to libvirt was lost while waiting; whether it was removed is unknown"),
            "\(detach.standardOutput)\(detach.standardError)")
        #expect(!(detach.standardOutput + detach.standardError).contains("detached successfully"))
    }

    @Test("Permission denied on the libvirt socket: one line that says what to do, exit 3")
    func permissionDeniedOnTheSocket() throws {
        // The daemon's own socket is world-writable (polkit decides); reach it through a
        // directory only root may enter, as nobody, so the kernel says EACCES.
        let directory = "/run/virt-macvtap-private-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createSymbolicLink(atPath: directory + "/libvirt-sock", withDestinationPath: "/run/libvirt/libvirt-sock")
        let uri = "qemu+unix:///system?socket=\(directory)/libvirt-sock"
        for command in [["list"], ["attach", "vm1", "--source", "eth0"], ["detach", "vm1", "--mac", "52:54:00:00:00:01"]] {
            let result = try Tool.run(["-c", uri] + command, wrapper: "setpriv --reuid=65534 --regid=65534 --clear-groups")
            #expect(result.status == 3, "\(command): \(result.standardError)")
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.count == 1, "\(command): \(result.standardError)")
            #expect(result.standardError.contains("Permission denied; run as root or as a member of the libvirt group"))
        }
        #expect(try Sandbox.macs("vm1").isEmpty)
    }
}
