// Built only where Swift Testing is (the test build): a release build of the package compiles
// this module empty.
#if canImport(Testing)
    import Foundation
    import Testing

    /// The real thing: scripts/sandbox runs libvirtd in network namespace `vmtap` with the Linux
    /// guests vm1 (192.0.2.11) and vm2 (192.0.2.12), the no-OS guest vm-noos and the shut-off
    /// vm-off; the `lan` namespace (192.0.2.1) plays the switch. The README's test command brings it
    /// up and sets VIRT_MACVTAP_SANDBOX=1; with it set, a sandbox that does not answer fails here.
    package enum Sandbox {
        package static let isConfigured = TestGate.sandbox.isSet
        package static let serialDirectory = "/run/virt-macvtap-sandbox"
        package static let guestAddress = ["vm1": "192.0.2.11", "vm2": "192.0.2.12"]

        @discardableResult
        package static func shell(_ command: String) throws -> CommandResult {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", command]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return CommandResult(status: process.terminationStatus, standardOutput: String(decoding: data, as: UTF8.self), standardError: "")
        }

        /// `ip -d -o link` lines of the macvtaps in the sandbox namespace.
        package static func macvtapLinks() throws -> [String] {
            try shell("ip netns exec vmtap ip -d -o link show type macvtap").standardOutput
                .split(separator: "\n").map(String.init)
        }

        /// Direct NICs of a domain, from `virt-macvtap list --format json`.
        package static func directNICs(_ domain: String) throws -> [[String: Any]] {
            let result = try Tool.run(["list", domain, "--format", "json"])
            try #require(result.status == 0, "list \(domain) failed: \(result.standardError)")
            return try #require(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
        }

        package static func macs(_ domain: String) throws -> [String] {
            try directNICs(domain).compactMap { ($0["nic"] as? [String: Any])?["mac"] as? String }
        }

        /// Leaves every guest without direct NICs, with virsh (independent of the tool under test).
        /// vm-noos can never release a NIC, so it is restarted instead.
        package static func reset() throws {
            for domain in ["vm1", "vm2"] {
                for mac in try macs(domain) {
                    try shell(
                        "virsh -q -c qemu:///system detach-interface \(domain) direct --mac \(mac) --live --config 2>/dev/null || virsh -q -c qemu:///system detach-interface \(domain) direct --mac \(mac) --live"
                    )
                }
            }
            if try !macs("vm-noos").isEmpty {
                try shell("virsh -q -c qemu:///system destroy vm-noos && virsh -q -c qemu:///system start vm-noos")
            }
            try shell("ip netns exec lan tc qdisc del dev lan0 ingress 2>/dev/null")
            for domain in ["vm1", "vm2"] {
                #expect(try macs(domain).isEmpty, "\(domain) still has direct NICs after reset")
            }
        }

        /// Pings from the `lan` namespace until the guest answers (its init gives a new NIC the
        /// address within a second or two), up to `seconds`.
        package static func lanReaches(_ address: String, within seconds: Int = 15) throws -> Bool {
            try shell("for i in $(seq 1 \(seconds)); do ip netns exec lan ping -c 1 -W 1 \(address) >/dev/null && exit 0; done; exit 1").status == 0
        }

        package static func serialTail(_ domain: String) -> String {
            let data = (try? Data(contentsOf: URL(fileURLWithPath: "\(serialDirectory)/\(domain).serial"))) ?? Data()
            return String(decoding: data.suffix(600), as: UTF8.self)
        }

        package static func serialLength(_ domain: String) -> Int {
            (try? Data(contentsOf: URL(fileURLWithPath: "\(serialDirectory)/\(domain).serial")).count) ?? 0
        }

        /// The guest's own ping results for its peer, logged since `offset` in its serial file.
        package static func peerResults(_ domain: String, since offset: Int) -> [Bool] {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: "\(serialDirectory)/\(domain).serial")), data.count > offset else {
                return []
            }
            // The serial console ends lines with \r\n, one Character in Swift: split on newlines.
            return String(decoding: data[offset...], as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { line in
                guard line.contains("VMTAP-PEER") else { return nil }
                return line.contains(" reachable")
            }
        }

        /// Waits until the guest has logged `count` peer results since `offset`, or any success when
        /// `untilReachable`; returns what it saw.
        package static func watchPeer(_ domain: String, since offset: Int, results count: Int, untilReachable: Bool, seconds: Double = 25) -> [Bool] {
            let deadline = Date().addingTimeInterval(seconds)
            var seen: [Bool] = []
            while Date() < deadline {
                seen = peerResults(domain, since: offset)
                if untilReachable, seen.contains(true) { return seen }
                if !untilReachable, seen.count >= count { return seen }
                Thread.sleep(forTimeInterval: 0.5)
            }
            return seen
        }
    }
#endif
