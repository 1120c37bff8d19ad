import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing

/// `reach`: the reachability model, its outputs, and lint's advice agreeing with it.
@Suite("reach: who reaches whom over macvtap")
struct ReachTests {
    static func domain(_ name: String, _ nics: [(mac: String, device: String, mode: String, linkDown: Bool)]) -> String {
        let interfaces = nics.map { nic in
            "<interface type='direct'><mac address='\(nic.mac)'/><source dev='\(nic.device)' mode='\(nic.mode)'/><model type='virtio'/>"
                + (nic.linkDown ? "<link state='down'/>" : "") + "</interface>"
        }
        return "<domain type='kvm'><name>\(name)</name><devices>\(interfaces.joined())</devices></domain>"
    }

    static func summaries(_ documents: [String]) throws -> [DocumentSummary] {
        try documents.enumerated().map { index, xml in
            DocumentSummary(try DomainDocument(bytes: Array(xml.utf8), fileName: "d\(index).xml"))
        }
    }

    static func verdict(_ segments: [ReachSegment], _ from: String, _ to: String) -> ReachVerdict? {
        segments.flatMap(\.pairs).first { $0.from.hasPrefix(from) && $0.to.hasPrefix(to) }?.verdict
    }

    @Test(
        "The kernel's rules: bridge↔bridge reaches; vepa needs a hairpin port; private never; passthrough owns the device; the host needs a hairpin port or a shim (bridge guests only); a down link or another VLAN reaches nothing"
    )
    func modelFollowsTheKernel() throws {
        func pair(_ a: String, _ b: String, facts: ReachFacts = ReachFacts(), deviceB: String = "eth0", downB: Bool = false) throws -> [ReachSegment] {
            Reachability.segments(
                of: try Self.summaries([
                    Self.domain("a", [("52:54:00:00:00:01", "eth0", a, false)]), Self.domain("b", [("52:54:00:00:00:02", deviceB, b, downB)]),
                ]), facts: HostReachFacts([nil: facts]))
        }
        #expect(Self.verdict(try pair("bridge", "bridge"), "a", "b") == .reaches)
        #expect(Self.verdict(try pair("vepa", "vepa"), "a", "b") == .onlyThroughHairpin)
        #expect(Self.verdict(try pair("vepa", "bridge"), "b", "a") == .onlyThroughHairpin)
        #expect(Self.verdict(try pair("vepa", "bridge", facts: ReachFacts(hairpin: ["eth0"])), "a", "b") == .reaches)
        #expect(Self.verdict(try pair("private", "bridge", facts: ReachFacts(hairpin: ["eth0"])), "a", "b") == .never)
        #expect(Self.verdict(try pair("passthrough", "bridge"), "a", "b") == .never)
        #expect(Self.verdict(try pair("bridge", "bridge", downB: true), "a", "b") == .never)
        #expect(Self.verdict(try pair("bridge", "bridge", deviceB: "eth0.15"), "a", "b") == .never)
        #expect(Self.verdict(try pair("bridge", "bridge", deviceB: "eth0.15"), "b", "LAN (VLAN 15)") == .reaches)
        #expect(Self.verdict(try pair("bridge", "bridge", deviceB: "eth0.15"), "b", "LAN") == .never)
        // The host: never by itself; a shim reaches bridge guests only; hairpin reaches every mode.
        #expect(Self.verdict(try pair("bridge", "vepa"), "host", "a") == .onlyThroughHairpin)
        #expect(Self.verdict(try pair("bridge", "vepa", facts: ReachFacts(shims: ["eth0"])), "host", "a") == .reaches)
        #expect(Self.verdict(try pair("bridge", "vepa", facts: ReachFacts(shims: ["eth0"])), "host", "b") == .onlyThroughHairpin)
        #expect(Self.verdict(try pair("bridge", "private", facts: ReachFacts(hairpin: ["eth0"])), "host", "b") == .reaches)
        #expect(Self.verdict(try pair("bridge", "private", facts: ReachFacts(hairpin: ["eth0"], shims: ["eth0"])), "host", "b") == .never)
        #expect(Self.verdict(try pair("bridge", "passthrough"), "host", "b") == .never)
        #expect(Self.verdict(try pair("bridge", "bridge"), "LAN", "host") == .reaches)
        #expect(Self.verdict(try pair("bridge", "bridge", facts: ReachFacts(down: ["eth0"])), "LAN", "a") == .never)
    }

    @Test(
        "lint's advice says what reach says: host-guest-unreachable exactly when the host does not reach every guest, vepa-needs-hairpin on every device where a pair needs a hairpin port and on none declared hairpin (200 random topologies)"
    )
    func lintAndReachAgree() throws {
        var random = SeededGenerator(seed: 24)
        let modes = ["vepa", "bridge", "private", "passthrough"]
        let devices = ["eth0", "eth1", "eth0.15"]
        var checked = 0
        for topology in 0..<200 {
            var documents: [String] = []
            for guest in 0..<(2 + Int(random.next() % 3)) {
                let nics = (0..<(1 + Int(random.next() % 2))).map { nic in
                    (
                        mac: String(format: "52:54:00:%02x:%02x:%02x", topology % 256, guest, nic), device: devices[Int(random.next() % 3)],
                        mode: modes[Int(random.next() % 4)], linkDown: random.next() % 6 == 0
                    )
                }
                documents.append(Self.domain("g\(guest)", nics))
            }
            let hairpin: [String] = random.next() % 2 == 0 ? ["eth0"] : []
            let shims: [String] = random.next() % 2 == 0 ? ["eth0"] : []
            let facts = ReachFacts(hairpin: Set(hairpin), shims: Set(shims))
            let summaries = try Self.summaries(documents)
            let segments = Reachability.segments(of: summaries, facts: HostReachFacts([nil: facts]))

            var configuration = LintConfiguration()
            configuration.hairpin = hairpin
            configuration.shims = shims
            let findings = try Linter(configuration: configuration)
                .lint(documents.enumerated().map { .memory(Array($1.utf8), name: "d\($0).xml") }).findings
            let hostMisses = segments.flatMap(\.pairs).contains { $0.from == "host" && $0.verdict != .reaches && !$0.to.hasPrefix("LAN") }
            #expect(findings.contains { $0.ruleID == "host-guest-unreachable" } == hostMisses, "topology \(topology)")
            // "mode vepa on 'eth0' …": the device the advice is about.
            let advised = Set(
                findings.filter { $0.ruleID == "vepa-needs-hairpin" }.compactMap { $0.message.split(separator: "'").dropFirst().first.map(String.init) })
            for segment in segments {
                // Between guests: the host's own need for a hairpin port is host-guest-unreachable's.
                let guests = Set(segment.endpoints.filter { $0.kind == .guest }.map(\.name))
                let needing = Set(
                    segment.pairs.filter { $0.verdict == .onlyThroughHairpin && guests.contains($0.from) && guests.contains($0.to) }.flatMap { pair in
                        segment.endpoints.filter { $0.name == pair.from || $0.name == pair.to }.map(\.device)
                    })
                for device in needing {
                    #expect(advised.contains(device), "topology \(topology): reach needs a hairpin port on \(device), lint did not say so")
                }
                for device in advised where LinuxInterfaceName.vlanParts(of: device).device == segment.device {
                    #expect(!hairpin.contains(LinuxInterfaceName.vlanParts(of: device).device), "topology \(topology): lint advises hairpin on \(device), declared hairpin")
                }
            }
            checked += 1
        }
        #expect(checked == 200)
    }

    @Test("reach from files: a matrix and every pair in text, the segments in JSON, a Graphviz graph in DOT, a picture in SVG drawn by Graphviz")
    func outputs() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reach-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let web = directory.appendingPathComponent("web.xml")
        let db = directory.appendingPathComponent("db.xml")
        try Self.domain("web", [("52:54:00:00:00:01", "eth0", "bridge", false)]).write(to: web, atomically: true, encoding: .utf8)
        try Self.domain("db", [("52:54:00:00:00:02", "eth0", "vepa", false)]).write(to: db, atomically: true, encoding: .utf8)
        try #"{"hairpin": ["eth0"]}"#.write(to: directory.appendingPathComponent(".virt-macvtap.json"), atomically: true, encoding: .utf8)

        let text = try Tool.run(["reach", web.path, db.path, "--config", directory.appendingPathComponent(".virt-macvtap.json").path])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains("files — device eth0"))
        #expect(text.standardOutput.contains("web (52:54:00:00:00:01) → db (52:54:00:00:00:02): reaches: one in vepa mode, one in bridge: through the hairpin port of eth0"))
        let noHairpin = try Tool.run(["reach", web.path, db.path, "--config", "/dev/null/none.json"])
        #expect(noHairpin.status != 0 && noHairpin.standardError.contains("none.json"), "a missing configuration is named")

        let json = try Tool.run(["reach", web.path, db.path, "--format", "json"])
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let segments = try #require(decoded["segments"] as? [[String: Any]])
        #expect(segments.count == 1 && (segments[0]["pairs"] as? [Any])?.count == 12, "4 endpoints, 12 ordered pairs")

        let dot = try Tool.run(["reach", web.path, db.path, "--format", "dot"])
        #expect(dot.standardOutput.hasPrefix("digraph reach {") && dot.standardOutput.contains("subgraph cluster_0") && dot.standardOutput.contains("tooltip="))

        // make test installs Graphviz (scripts/setup): the picture is drawn, not skipped.
        #expect(Graphviz.dotProgram() != nil, "Graphviz's dot program is missing; scripts/setup installs it")
        let svgPath = directory.appendingPathComponent("reach.svg").path
        let svg = try Tool.run(["reach", web.path, db.path, "--format", "svg", "--output", svgPath])
        #expect(svg.status == 0 && svg.standardError.contains("drawn by Graphviz's dot program"), "\(svg.standardError)")
        let drawn = try String(contentsOfFile: svgPath, encoding: .utf8)
        #expect(drawn.contains("<svg") && drawn.contains("web") && drawn.contains("#2e7d32"))

        let nothing = try Tool.run(["reach"])
        #expect(nothing.status == 2 && nothing.standardError.contains("give files, -c URI or --hosts"))
    }
}

/// `--vlan N`: a guest in VLAN N sits on the VLAN device DEV.N.
@Suite("--vlan: guests on a VLAN device")
struct VLANOptionTests {
    @Test("generate, edit and attach put the NIC on DEV.N; a name past 15 bytes is refused with the name to use instead; ids outside 1–4094 and --vlan with --network are usage errors")
    func vlanDevices() throws {
        let generated = try Tool.run(["generate", "--source", "eth0", "--vlan", "15", "--mode", "bridge", "--mac", "52:54:00:15:00:01"])
        #expect(generated.status == 0 && generated.standardOutput.contains(#"<source dev="eth0.15" mode="bridge"/>"#), "\(generated.standardOutput)")
        let long = try Tool.run(["generate", "--source", "enp129s0f1np1", "--vlan", "1500"])
        #expect(long.status == 2 && long.standardError.contains("'enp129s0f1np1.1500' would pass the kernel's 15 bytes"), "\(long.standardError)")
        #expect(long.standardError.contains("--source vlan1500"), "the refusal names the device to use instead")
        for bad in ["0", "4095", "x"] {
            #expect(try Tool.run(["generate", "--source", "eth0", "--vlan", bad]).status == 2, "--vlan \(bad)")
        }
        let network = try Tool.run(["attach", "vm1", "--network", "lan", "--vlan", "15", "-c", "test:///nonexistent/host.xml"])
        #expect(network.status == 2 && network.standardError.contains("--vlan goes with --source"), "\(network.standardError)")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vlan-\(UUID().uuidString).xml")
        defer { try? FileManager.default.removeItem(at: file) }
        try "<domain type='kvm'>\n  <name>web</name>\n  <devices>\n  </devices>\n</domain>\n".write(to: file, atomically: true, encoding: .utf8)
        let edit = try Tool.run(["edit", file.path, "--add-direct", "--source", "eth1", "--vlan", "200", "--mode", "bridge", "--mac", "52:54:00:15:00:02"])
        #expect(edit.status == 0, "\(edit.standardError)")
        #expect(try String(contentsOf: file, encoding: .utf8).contains("dev='eth1.200'") || String(contentsOf: file, encoding: .utf8).contains(#"dev="eth1.200""#))
        // reach sees the VLAN: the guest reaches VLAN 200's LAN and nothing untagged.
        let reach = try Tool.run(["reach", file.path])
        #expect(reach.standardOutput.contains("LAN (VLAN 200)") && reach.standardOutput.contains("→ LAN (VLAN 200): reaches"), "\(reach.standardOutput)")
    }
}
