import Foundation
import MacvtapTestSupport
import Testing

/// `reach -c` against real traffic: random topologies of the sandbox's two guests on eth0, each
/// pinged pair compared with the prediction (part of the serialized live suite).
extension LiveSandboxTests {
    /// One topology: the guests' modes, a hairpin switch port or not, the host's address on a
    /// shim or on eth0 itself, and maybe one guest's link down.
    struct Topology: CustomStringConvertible {
        var modes: [String]
        var hairpin: Bool
        var shim: Bool
        var linkDown: Int?

        var description: String {
            "vm1 \(modes[0]), vm2 \(modes[1]), hairpin \(hairpin ? "on" : "off"), host address on \(shim ? "a shim" : "eth0")"
                + (linkDown.map { ", vm\($0 + 1)'s link down" } ?? "")
        }
    }

    static let guests = [("vm1", "192.0.2.11", "52:54:00:7e:a0:01"), ("vm2", "192.0.2.12", "52:54:00:7e:a0:02")]

    @Test("reach -c predicts every pinged pair (guest↔guest, LAN→guest, host→guest) in 20 random topologies: modes, hairpin, a shim, a link down")
    func reachAgreesWithPings() throws {
        let root = Fixtures.packageRoot.path
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("reach-state-\(getpid())").path
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("reach-\(getpid()).json").path
        defer {
            _ = try? Sandbox.shell("ip netns exec vmtap ip addr del 192.0.2.3/24 dev eth0 2>/dev/null")
            _ = try? Tool.run(["host-shim", "eth0", "--remove"], shellPrefix: "export XDG_STATE_HOME='\(state)';", wrapper: "ip netns exec vmtap")
            _ = try? Sandbox.shell("\(root)/scripts/sandbox hairpin off")
            try? FileManager.default.removeItem(atPath: state)
            try? FileManager.default.removeItem(atPath: config)
            try? Sandbox.reset()
        }
        var random = UInt64(24)
        func next(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        var compared = 0
        var disagreements: [String] = []
        for number in 1...20 {
            let modes = ["bridge", "vepa", "private"]
            let topology = Topology(
                modes: [modes[next(3)], modes[next(3)]], hairpin: next(2) == 0, shim: next(2) == 0, linkDown: next(4) == 0 ? next(2) : nil)
            try Sandbox.reset()
            var offsets: [Int] = []
            for (index, (domain, _, mac)) in Self.guests.enumerated() {
                offsets.append(Sandbox.serialLength(domain))
                let attach = try Tool.run(["attach", domain, "--source", "eth0", "--mode", topology.modes[index], "--mac", mac, "--no-ledger"])
                try #require(attach.status == 0, "topology \(number) (\(topology)): \(attach.standardError)")
            }
            if let down = topology.linkDown {
                let (domain, _, mac) = Self.guests[down]
                try #require(try Tool.run(["set-link", domain, "--mac", mac, "down"]).status == 0)
            }
            try Sandbox.shell("\(root)/scripts/sandbox hairpin \(topology.hairpin ? "on" : "off")")
            if topology.shim {
                let shim = try Tool.run(
                    ["host-shim", "eth0", "--address", "192.0.2.2/24"], shellPrefix: "export XDG_STATE_HOME='\(state)';", wrapper: "ip netns exec vmtap")
                try #require(shim.status == 0, "\(shim.standardError)")
            } else {
                try Sandbox.shell("ip netns exec vmtap ip addr add 192.0.2.3/24 dev eth0")
            }
            try (topology.hairpin ? #"{"hairpin": ["eth0"]}"# : "{}").write(toFile: config, atomically: true, encoding: .utf8)

            // The prediction, from inside the namespace that owns eth0 (its links show the shim).
            let reach = try Tool.run(["reach", "-c", "qemu:///system", "--config", config, "--format", "json"], wrapper: "ip netns exec vmtap")
            try #require(reach.status == 0, "\(reach.standardError)")
            let output = try #require(try JSONSerialization.jsonObject(with: Data(reach.standardOutput.utf8)) as? [String: Any])
            let pairs = ((output["segments"] as? [[String: Any]]) ?? []).flatMap { ($0["pairs"] as? [[String: Any]]) ?? [] }
            func predicted(_ from: String, _ to: String) -> Bool? {
                pairs.first { ($0["from"] as? String)?.hasPrefix(from) == true && ($0["to"] as? String)?.hasPrefix(to) == true }
                    .map { $0["verdict"] as? String == "reaches" }
            }
            func compare(_ label: String, _ expected: Bool?, _ observe: (Bool) throws -> Bool) rethrows {
                guard let expected else {
                    disagreements.append("topology \(number) (\(topology)): reach has no pair \(label)")
                    return
                }
                let observed = try observe(expected)
                compared += 1
                if observed != expected {
                    disagreements.append("topology \(number) (\(topology)): \(label) predicted \(expected ? "reaches" : "does not"), ping says \(observed ? "reaches" : "does not")")
                }
            }
            // What reaches is waited for (a guest configures a new NIC within seconds); what does
            // not is watched for as long, once the guest answers something.
            for (domain, address, mac) in Self.guests {
                try compare("LAN → \(domain)", predicted("LAN", "\(domain) (\(mac))")) { expected in
                    try Sandbox.lanReaches(address, within: expected ? 20 : 8)
                }
            }
            for (domain, address, mac) in Self.guests {
                try compare("host → \(domain)", predicted("host", "\(domain) (\(mac))")) { expected in
                    try Sandbox.shell("for i in $(seq \(expected ? 15 : 5)); do ip netns exec vmtap ping -c 1 -W 1 \(address) >/dev/null && exit 0; done; exit 1").status == 0
                }
            }
            for (index, (domain, _, mac)) in Self.guests.enumerated() {
                let (peer, _, peerMAC) = Self.guests[1 - index]
                compare("\(domain) → \(peer)", predicted("\(domain) (\(mac))", "\(peer) (\(peerMAC))")) { expected in
                    Sandbox.watchPeer(domain, since: offsets[index], results: 5, untilReachable: expected).contains(true)
                }
            }

            if topology.shim {
                _ = try Tool.run(["host-shim", "eth0", "--remove"], shellPrefix: "export XDG_STATE_HOME='\(state)';", wrapper: "ip netns exec vmtap")
            } else {
                _ = try Sandbox.shell("ip netns exec vmtap ip addr del 192.0.2.3/24 dev eth0")
            }
        }
        #expect(compared == 120, "6 pairs in each of 20 topologies")
        #expect(disagreements.isEmpty, "\(disagreements.count) of \(compared) pairs disagree:\n\(disagreements.joined(separator: "\n"))")
        print("reach -c against pings: \(compared) pairs in 20 topologies, \(compared - disagreements.count) agree")
    }
}
