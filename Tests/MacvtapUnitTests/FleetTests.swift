import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing

/// A three-host repository (a copy of Examples/fleet with conflicts added): device rules within a
/// host, MACs across the fleet, findings placed where the fix belongs, `--host`, `--hosts`.
@Suite("Fleet repositories: hosts in one repository")
struct FleetTests {
    /// Examples/fleet copied to a scratch directory, with: web02 (hv-b) given web01's (hv-a)
    /// MAC; db03 on hv-a taking db01's passthrough device; app01 on hv-c in bridge mode
    /// among two vepa guests.
    static func repository() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Fixtures.examplesDirectory.appendingPathComponent("fleet"), to: root)
        func edit(_ path: String, _ changes: [(String, String)], saveAs: String? = nil) throws {
            var text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
            for (old, new) in changes { text = text.replacingOccurrences(of: old, with: new) }
            try text.write(to: root.appendingPathComponent(saveAs ?? path), atomically: true, encoding: .utf8)
        }
        try edit("hosts/b/web02.xml", [("52:54:00:f1:b0:01", "52:54:00:f1:a0:01")])
        try edit("hosts/a/db01.xml", [("db01", "db03"), ("a0:02", "a0:03"), ("b302", "b308")], saveAs: "hosts/a/db03.xml")
        try edit("hosts/c/app01.xml", [("mode='vepa'", "mode='bridge'")])
        try edit("hosts/c/app02.xml", [("app02", "app03"), ("c0:02", "c0:03"), ("b306", "b307")], saveAs: "hosts/c/app03.xml")
        return root
    }

    static func lint(_ arguments: [String], in directory: URL) throws -> (status: Int32, findings: [[String: Any]], standardError: String) {
        let result = try Tool.run(arguments + ["--format", "json"], shellPrefix: "cd '\(directory.path)' &&")
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        return (result.status, object?["findings"] as? [[String: Any]] ?? [], result.standardError)
    }

    static func findings(_ findings: [[String: Any]], rule: String) -> [[String: Any]] {
        findings.filter { $0["ruleID"] as? String == rule }
    }

    @Test("A passthrough device reused on another host is fine, on the same host it is not; the later claim carries the finding")
    func passthroughPerHost() throws {
        let root = try Self.repository()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try Self.lint(["lint", "hosts"], in: root)
        let shared = Self.findings(run.findings, rule: "passthrough-shared")
        #expect(shared.count == 1, "\(shared)")
        #expect(shared.first?["file"] as? String == "hosts/a/db03.xml")
        let related = try #require(shared.first?["related"] as? [[String: Any]])
        #expect(related.first?["file"] as? String == "hosts/a/db01.xml")
        #expect(run.status == 1)

        // Without the hosts, the same files are one machine: db02 (hv-b) conflicts with db01 too.
        let flat = try Self.lint(["lint", "--config", Fixtures.fixturesDirectory.appendingPathComponent("empty-config.json").path, "hosts"], in: root)
        #expect(Self.findings(flat.findings, rule: "passthrough-shared").count == 2, "\(flat.standardError)")
    }

    @Test("MACs are unique across the fleet: a MAC on two hosts is an error that names both hosts")
    func macAcrossHosts() throws {
        let root = try Self.repository()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try Self.lint(["lint", "hosts"], in: root)
        let duplicate = try #require(Self.findings(run.findings, rule: "mac-duplicate-across-domains").first)
        #expect(duplicate["file"] as? String == "hosts/b/web02.xml")
        let message = try #require(duplicate["message"] as? String)
        #expect(message.contains("on host hv-b") && message.contains("(host hv-a)"), "\(message)")
        let related = try #require((duplicate["related"] as? [[String: Any]])?.first)
        #expect(related["file"] as? String == "hosts/a/web01.xml")
        #expect(related["line"] as? Int == 10, "the related location is web01's <mac>")
    }

    @Test("mixed-modes lands on the one use that differs, with the majority as related locations (text: 'also at')")
    func mixedModesOnTheMinority() throws {
        let root = try Self.repository()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try Self.lint(["lint", "hosts"], in: root)
        let mixed = Self.findings(run.findings, rule: "mixed-modes")
        #expect(mixed.count == 1, "\(mixed)")
        #expect(mixed.first?["file"] as? String == "hosts/c/app01.xml")
        #expect((mixed.first?["related"] as? [[String: Any]])?.compactMap { $0["file"] as? String } == ["hosts/c/app02.xml", "hosts/c/app03.xml"])
        let text = try Tool.run(["lint", "hosts"], shellPrefix: "cd '\(root.path)' &&")
        #expect(text.standardOutput.contains("    also at hosts/c/app02.xml:11:15: domain 'app02' on 'eno1' in mode vepa"), "\(text.standardOutput)")
    }

    @Test("--host NAME=GLOB does what the configuration does; a file two hosts claim is a usage error")
    func hostOption() throws {
        let root = try Self.repository()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.removeItem(at: root.appendingPathComponent(".virt-macvtap.json"))
        let hosts = ["--host", "hv-a=hosts/a/**", "--host", "hv-b=hosts/b/*.xml", "--host", "hv-c=hosts/c/**"]
        let run = try Self.lint(["lint"] + hosts + ["hosts"], in: root)
        #expect(Self.findings(run.findings, rule: "passthrough-shared").map { $0["file"] as? String } == ["hosts/a/db03.xml"])
        let overlapping = try Tool.run(["lint", "--host", "x=hosts/**", "--host", "y=hosts/a/*", "hosts"], shellPrefix: "cd '\(root.path)' &&")
        #expect(overlapping.status == 2)
        #expect(overlapping.standardError.contains("belongs to hosts 'x' and 'y'"), "\(overlapping.standardError)")
        let malformed = try Tool.run(["lint", "--host", "hv-a", "hosts"], shellPrefix: "cd '\(root.path)' &&")
        #expect(malformed.status == 2)
    }

    @Test("lint --hosts: each host's files against its own URI; a host that cannot be reached is one error line, exit 3, and the others are still checked")
    func hostsAgainstTheirURIs() throws {
        let root = try Self.repository()
        defer { try? FileManager.default.removeItem(at: root) }
        let testHost = "test://" + Fixtures.fixturesDirectory.appendingPathComponent("test-host.xml").path
        let configuration = """
            {"hosts": {
              "hv-a": {"files": ["hosts/a/**"], "uri": "\(testHost)"},
              "hv-b": {"files": ["hosts/b/**"], "uri": "qemu+tcp://127.0.0.1:1/system"},
              "hv-c": {"files": ["hosts/c/**"]}
            }}
            """
        try configuration.write(to: root.appendingPathComponent(".virt-macvtap.json"), atomically: true, encoding: .utf8)
        let run = try Self.lint(["lint", "--hosts", "hosts"], in: root)
        #expect(run.status == 3)
        let errors = run.standardError.split(separator: "\n")
        #expect(errors.count == 1 && errors[0].contains("host 'hv-b'") && errors[0].contains("could not be checked"), "\(run.standardError)")
        // hv-a's test host holds enp3s0f0v1 for running-vm's passthrough NIC and has no eno1.
        let onHost = Self.findings(run.findings, rule: "source-dev-on-host")
        #expect(!onHost.isEmpty && onHost.allSatisfy { ($0["file"] as? String)?.hasPrefix("hosts/a/") == true }, "\(onHost)")
        // hv-c's files (eno1) and hv-b's were not checked against hv-a's inventory.
        #expect(!run.findings.contains { ($0["ruleID"] as? String)?.hasSuffix("-on-host") == true && ($0["file"] as? String)?.hasPrefix("hosts/a/") == false })
    }
}

extension FleetTests {
    @Test("A fleet host's \"libvirt\" release judges its files (and picks its bundled schema); the cache keeps the two apart")
    func fleetHostRelease() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-release-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        // The same content on a 9.0 host and an 11.3 host: an all-zero MAC is a start failure on
        // 9.0 and a MAC 11.3 replaces at define.
        let domain = """
            <domain type='kvm'>
              <name>zero</name>
              <memory unit='MiB'>512</memory>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices>
                <interface type='direct'><mac address='00:00:00:00:00:00'/><source dev='eth0' mode='bridge'/><model type='virtio'/></interface>
              </devices>
            </domain>
            """
        for host in ["old", "new"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(host), withIntermediateDirectories: true)
            // Enough files that the cache is used (LintCache.minimumFiles).
            for number in 1...12 {
                try domain.replacingOccurrences(of: "zero", with: "zero\(number)").write(
                    to: root.appendingPathComponent("\(host)/vm\(number).xml"), atomically: true, encoding: .utf8)
            }
        }
        try """
        {"hosts": {"old": {"files": ["old/**"], "libvirt": "9.0"}, "new": {"files": ["new/**"], "libvirt": "11.3"}}}
        """.write(to: root.appendingPathComponent(".virt-macvtap.json"), atomically: true, encoding: .utf8)
        let cache = root.appendingPathComponent("cache").path
        for _ in 0..<2 {  // cold, then from the cache
            let run = try Self.lint(["lint", "--cache-dir", cache, "old", "new"], in: root)
            let zero = Self.findings(run.findings, rule: "mac-all-zero")
            #expect(zero.count == 24, "\(run.standardError)")
            for finding in zero {
                let file = finding["file"] as? String ?? ""
                #expect(finding["severity"] as? String == (file.hasPrefix("old/") ? "error" : "warning"), "\(finding)")
            }
        }
        try """
        {"hosts": {"old": {"files": ["old/**"], "libvirt": "eleven"}}}
        """.write(to: root.appendingPathComponent(".virt-macvtap.json"), atomically: true, encoding: .utf8)
        let bad = try Tool.run(["lint", "old"], shellPrefix: "cd '\(root.path)' &&")
        #expect(bad.status == 2 && bad.standardError.contains("eleven"), "\(bad.standardError)")
    }
}
