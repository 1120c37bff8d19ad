import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing

@Suite("Ledger behaviour: the same suite on SQLite and PostgreSQL")
struct LedgerBehaviourTests {
    @Test("allocate, reserve (all or nothing), check, release, list through the library", arguments: LedgerBackend.available)
    func lifecycle(backend: LedgerBackend) throws {
        let location = LedgerLocation(try backend.freshLedger())
        #expect(try location.open(forWriting: false) == nil, "a ledger that does not exist yet reads as empty")
        let ledger = try #require(try location.open(forWriting: true))
        let batch = try ledger.allocate(label: "web", checkedAgainst: "test:///default") { reserved throws(AllocationError) in
            try MACAllocator(space: .qemuDefault).allocate(count: 10, taken: reserved)
        }
        #expect(batch.count == 10)
        let chosen = MACAddress("52:54:00:12:34:56")!
        try ledger.reserve([chosen], label: "dhcp", checkedAgainst: "")
        #expect(throws: LedgerError.self) { try ledger.reserve([MACAddress("52:54:00:12:34:57")!, chosen], label: "x", checkedAgainst: "") }
        #expect(try ledger.reservations(of: [MACAddress("52:54:00:12:34:57")!]).isEmpty, "a refused reserve writes nothing")
        let all = try ledger.reservations()
        #expect(all.count == 11)
        #expect(all.map(\.mac.value) == all.map(\.mac.value).sorted(), "in address order")
        #expect(all.first { $0.mac == chosen }?.label == "dhcp")
        #expect(all.first { $0.mac == batch[0].mac }?.checkedAgainst == "test:///default")
        #expect(all.allSatisfy { $0.reservedAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil }, "\(all.map(\.reservedAt))")
        #expect(try ledger.release([chosen, MACAddress("52:54:00:99:99:99")!]) == [chosen])
        #expect(try ledger.reservedMACs().count == 10)
        // A refusal inside allocate writes nothing, not even the batch.
        #expect(throws: LedgerError.self) {
            _ = try ledger.allocate(label: "too-many", checkedAgainst: "") { reserved throws(AllocationError) in
                try MACAllocator(space: try MACSpace(range: "52:54:00:00:00:00-52:54:00:00:00:01")).allocate(count: 3, taken: reserved)
            }
        }
        #expect(try ledger.reservedMACs().count == 10)
    }

    @Test("The mac commands: the same output on both backends, labels stored verbatim", arguments: LedgerBackend.available)
    func commands(backend: LedgerBackend) throws {
        let ledger = try backend.freshLedger()
        let hostile = "x'); DROP TABLE addresses; --"
        let allocated = try Tool.run(["mac", "allocate", "--count", "3", "--range", "52:54:00:aa:00:00-52:54:00:aa:00:03", "--label", hostile, "--ledger", ledger])
        #expect(allocated.status == 0, "\(allocated.standardError)")
        #expect(allocated.standardOutput.split(separator: "\n").count == 3)
        let reserved = try Tool.run(["mac", "reserve", "52:54:00:aa:00:10", "--label", "dhcp", "--ledger", ledger])
        #expect(reserved.status == 0 && reserved.standardOutput.hasPrefix("reserved 1 address in "), "\(reserved)")
        let again = try Tool.run(["mac", "reserve", "52:54:00:aa:00:10", "52:54:00:aa:00:11", "--ledger", ledger])
        #expect(again.status == 1)
        #expect(again.standardError.contains("already reserved in") && again.standardError.contains("52:54:00:aa:00:10 (label 'dhcp'"), "\(again.standardError)")
        let list = try Tool.run(["mac", "list", "--ledger", ledger, "--format", "json"])
        let rows = try #require(JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]], "\(list.standardOutput)")
        #expect(rows.count == 4, "the refused reserve wrote nothing")
        #expect(rows.filter { $0["label"] as? String == hostile }.count == 3, "the label is stored verbatim")
        let check = try Tool.run(["mac", "check", "52:54:00:aa:00:10", "52:54:00:aa:00:20", "--ledger", ledger])
        #expect(check.status == 1)
        #expect(check.standardOutput.contains("label 'dhcp'") && check.standardOutput.contains("52:54:00:aa:00:20: free"), "\(check.standardOutput)")
        let stats = try Tool.run(["mac", "stats", "--range", "52:54:00:aa:00:00-52:54:00:aa:00:ff", "--ledger", ledger, "--format", "json"])
        let object = try #require(JSONSerialization.jsonObject(with: Data(stats.standardOutput.utf8)) as? [String: Any])
        #expect(object["taken"] as? Int == 4)
        let full = try Tool.run(["mac", "allocate", "--count", "2", "--range", "52:54:00:aa:00:00-52:54:00:aa:00:03", "--ledger", ledger])
        #expect(full.status == 1, "one free address left for two")
        let release = try Tool.run(["mac", "release", "52:54:00:aa:00:10", "52:54:00:aa:00:99", "--ledger", ledger])
        #expect(release.status == 1 && release.standardError.contains("not reserved: 52:54:00:aa:00:99"))
        #expect(try Tool.run(["mac", "list", "--ledger", ledger, "--format", "csv"]).standardOutput.split(separator: "\n").count == 4)
    }

    @Test("8 processes allocating 10,000 each at the same moment end with 80,000 distinct addresses", arguments: LedgerBackend.available)
    func concurrentProcesses(backend: LedgerBackend) throws {
        let ledger = try backend.freshLedger()
        let addresses = try Self.allocateConcurrently(ledger: ledger, processes: 8, count: 10_000)
        #expect(addresses.count == 80_000)
        #expect(Set(addresses).count == 80_000)
        let reopened = try #require(try LedgerLocation(ledger).open(forWriting: false))
        #expect(try reopened.reservedMACs() == Set(addresses.compactMap { MACAddress($0) }))
        if backend == .postgresql {
            // Eight first users of a fresh database: one created the schema, the others waited.
            let database = String(ledger[ledger.index(after: ledger.lastIndex(of: "/")!)...])
            #expect(try PostgresTestServer.psql("SELECT count(*) FROM virt_macvtap.schema_migrations", database: database) == "2")
        }
    }

    /// Starts `processes` `mac allocate --count N` at once (optionally some through a wrapper
    /// such as `ip netns exec NS`) and returns every address they printed.
    static func allocateConcurrently(ledger: String, processes: Int, count: Int, wrappers: [Int: [String]] = [:], ledgers: [Int: String] = [:]) throws -> [String] {
        let running = try (0..<processes).map { index -> (Process, Pipe, Pipe) in
            let process = Process()
            let arguments = ["mac", "allocate", "--count", String(count), "--ledger", ledgers[index] ?? ledger, "--label", "run\(index)", "--format", "csv"]
            if let wrapper = wrappers[index] {
                process.executableURL = URL(fileURLWithPath: wrapper[0])
                process.arguments = Array(wrapper.dropFirst()) + [Tool.executable.path] + arguments
            } else {
                process.executableURL = Tool.executable
                process.arguments = arguments
            }
            process.environment = Tool.environment
            let output = Pipe()
            let error = Pipe()
            process.standardOutput = output
            process.standardError = error
            try process.run()
            return (process, output, error)
        }
        var addresses: [String] = []
        for (process, output, error) in running {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            let errors = error.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(String(decoding: errors, as: UTF8.self))")
            addresses += String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst().map { String($0.prefix(17)) }
        }
        return addresses
    }

    @Test("reconcile: unreserved uses recorded, stale reservations released, a MAC used twice is an error; a second run finds nothing new", arguments: LedgerBackend.available)
    func reconcile(backend: LedgerBackend) throws {
        let ledger = try backend.freshLedger()
        let host = "test://" + Fixtures.fixturesDirectory.appendingPathComponent("test-host.xml").path
        let scratch = try Scratch()
        let web01 = try scratch.copyExample("web01.xml")
        let exampleMAC = try #require(try String(contentsOf: web01, encoding: .utf8).firstMatch(of: /mac address='([0-9a-f:]{17})'/).map { String($0.output.1) })
        // A reservation nothing uses: stale at 0 days.
        _ = try Tool.run(["mac", "reserve", "52:54:00:0e:0e:0e", "--label", "left-over", "--ledger", ledger])

        let report = try Tool.run(["mac", "reconcile", "-c", host, "--exclude", web01.path, "--stale-days", "0", "--ledger", ledger, "--format", "json"])
        #expect(report.status == 0, "\(report.standardError)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any], "\(report.standardOutput)")
        let unrecorded = try #require(object["unrecorded"] as? [[String: Any]])
        #expect(unrecorded.contains { $0["mac"] as? String == exampleMAC && ($0["domains"] as? [String]) == ["web01"] })
        #expect(unrecorded.contains { ($0["domains"] as? [String]) == ["running-vm"] }, "a domain on the host")
        #expect((object["stale"] as? [[String: Any]])?.map { $0["mac"] as? String } == ["52:54:00:0e:0e:0e"])
        #expect((object["conflicts"] as? [Any])?.isEmpty == true)
        #expect(try Tool.run(["mac", "list", "--ledger", ledger, "--format", "csv"]).standardOutput.split(separator: "\n").count == 2, "without --apply nothing changes")

        let applied = try Tool.run(["mac", "reconcile", "-c", host, "--exclude", web01.path, "--stale-days", "0", "--apply", "--release-stale", "--ledger", ledger])
        #expect(applied.status == 0, "\(applied.standardError)")
        #expect(applied.standardOutput.contains("recorded as 'reconciled:web01'"), "\(applied.standardOutput)")
        #expect(applied.standardOutput.contains("52:54:00:0e:0e:0e") && applied.standardOutput.contains("— released"), "\(applied.standardOutput)")
        let check = try Tool.run(["mac", "check", exampleMAC, "--ledger", ledger])
        #expect(check.standardOutput.contains("label 'reconciled:web01'"), "\(check.standardOutput)")

        let second = try Tool.run(["mac", "reconcile", "-c", host, "--exclude", web01.path, "--stale-days", "0", "--ledger", ledger])
        #expect(second.status == 0)
        #expect(second.standardOutput.contains("nothing to reconcile"), "\(second.standardOutput)")

        // --hosts: the hosts with a "uri" in .virt-macvtap.json.
        let config = scratch.directory.appendingPathComponent(".virt-macvtap.json")
        try #"{"hosts": {"hv-a": {"files": ["a/**"], "uri": "\#(host)"}}}"#.write(to: config, atomically: true, encoding: .utf8)
        let fresh = try backend.freshLedger()
        let configured = try Tool.run(["mac", "reconcile", "--hosts", "--config", config.path, "--ledger", fresh])
        #expect(configured.status == 0 && configured.standardOutput.contains("domain 'running-vm' on \(host)"), "\(configured)")

        // Another domain file with web01's MAC: used twice, an error (exit 1).
        let clone = scratch.directory.appendingPathComponent("clone.xml")
        try String(contentsOf: web01, encoding: .utf8).replacingOccurrences(of: "<name>web01</name>", with: "<name>web02</name>")
            .write(to: clone, atomically: true, encoding: .utf8)
        let twice = try Tool.run(["mac", "reconcile", "--exclude", web01.path, "--exclude", clone.path, "--ledger", ledger])
        #expect(twice.status == 1)
        #expect(twice.standardOutput.contains("error: \(exampleMAC) is used by"), "\(twice.standardOutput)")
    }
}

@Suite("PostgreSQL ledger: failures, secrets, a lost connection", .enabled(if: PostgresTestServer.isConfigured, "set VIRT_MACVTAP_POSTGRES (the README's test command starts the server)"))
struct PostgresLedgerTests {
    @Test("Unreachable server, wrong password, no such database: one line, exit 3, the password never printed")
    func connectionFailures() throws {
        let good = try PostgresTestServer.freshDatabase()
        let port = try #require(good.firstMatch(of: /:(\d+)\//).map { String($0.output.1) })
        let closed = good.replacingOccurrences(of: ":\(port)/", with: ":1/")
        let cases: [(url: String, expected: String)] = [
            (closed, "cannot reach ledger"),
            (good.replacingOccurrences(of: PostgresTestServer.password, with: "wrong-secret"), "refused the credentials"),
            (good.replacingOccurrences(of: "/ledger_", with: "/missing_"), "cannot reach ledger"),
        ]
        for (url, expected) in cases {
            let result = try Tool.run(["mac", "allocate", "--count", "1", "--ledger", url])
            #expect(result.status == 3, "\(url): \(result.standardError)")
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains(expected), "\(result.standardError)")
            #expect(!result.standardError.contains(PostgresTestServer.password) && !result.standardError.contains("wrong-secret"))
            #expect(result.standardError.contains("postgres:***@"), "\(result.standardError)")
        }
        // libpq's own files: a URL without the password, the password in PGPASSFILE.
        let passfile = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)")
        try "127.0.0.1:\(port):*:postgres:\(PostgresTestServer.password)\n".write(to: passfile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passfile.path)
        defer { try? FileManager.default.removeItem(at: passfile) }
        let withoutPassword = good.replacingOccurrences(of: "postgres:\(PostgresTestServer.password)@", with: "postgres@")
        let viaPassfile = try Sandbox.shell("PGPASSFILE='\(passfile.path)' '\(Tool.executable.path)' mac reserve 52:54:00:00:00:43 --ledger '\(withoutPassword)'")
        #expect(viaPassfile.status == 0, "\(viaPassfile)")

        // VIRT_MACVTAP_LEDGER sets the default ledger.
        let viaEnvironment = try Sandbox.shell("VIRT_MACVTAP_LEDGER='\(good)' '\(Tool.executable.path)' mac reserve 52:54:00:00:00:42")
        #expect(viaEnvironment.status == 0 && viaEnvironment.standardOutput.contains("postgres:***@"), "\(viaEnvironment)")
        #expect(!viaEnvironment.standardOutput.contains(PostgresTestServer.password))
    }

    @Test("Permission denied, another application's schema, a newer schema: clear errors, nothing written")
    func refusals() throws {
        let url = try PostgresTestServer.freshDatabase()
        let database = String(url[url.index(after: url.lastIndex(of: "/")!)...])
        // A role that may connect but not create schemas.
        let role = "reader_\(database.suffix(8))"
        try PostgresTestServer.psql("CREATE ROLE \(role) LOGIN PASSWORD 'reader-pass'; REVOKE CREATE ON DATABASE \(database) FROM PUBLIC; REVOKE ALL ON SCHEMA public FROM PUBLIC")
        let readerURL = url.replacingOccurrences(of: "postgres:\(PostgresTestServer.password)@", with: "\(role):reader-pass@")
        let denied = try Tool.run(["mac", "allocate", "--count", "1", "--ledger", readerURL])
        #expect(denied.status == 3)
        #expect(denied.standardError.contains("permission denied"), "\(denied.standardError)")
        #expect(!denied.standardError.contains("reader-pass"))

        try PostgresTestServer.psql("CREATE SCHEMA virt_macvtap; CREATE TABLE virt_macvtap.addresses (x int)", database: database)
        let foreign = try Tool.run(["mac", "reserve", "52:54:00:00:00:01", "--ledger", url])
        #expect(foreign.status == 3)
        #expect(foreign.standardError.contains("not a virt-macvtap ledger"), "\(foreign.standardError)")
        #expect(try PostgresTestServer.psql("SELECT count(*) FROM virt_macvtap.addresses", database: database) == "0")

        let newer = try PostgresTestServer.freshDatabase()
        let newerName = String(newer[newer.index(after: newer.lastIndex(of: "/")!)...])
        #expect(try Tool.run(["mac", "reserve", "52:54:00:00:00:01", "--ledger", newer]).status == 0)
        try PostgresTestServer.psql("INSERT INTO virt_macvtap.schema_migrations (version, description) VALUES (99, 'from the future')", database: newerName)
        let refused = try Tool.run(["mac", "reserve", "52:54:00:00:00:02", "--ledger", newer])
        #expect(refused.status == 3)
        #expect(refused.standardError.contains("schema version 99, newer than"), "\(refused.standardError)")
    }

    @Test("The connection lost in the middle of a million-address allocation: nothing recorded, and the message says so")
    func connectionLost() throws {
        let url = try PostgresTestServer.freshDatabase()
        let database = String(url[url.index(after: url.lastIndex(of: "/")!)...])
        #expect(try Tool.run(["mac", "allocate", "--count", "10", "--ledger", url]).status == 0)
        let process = Process()
        process.executableURL = Tool.executable
        process.arguments = ["mac", "allocate", "--count", "1000000", "--ledger", url, "--quiet"]
        process.environment = Tool.environment
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Wait for the COPY, then end that backend from the server side.
        var terminated = false
        for _ in 0..<400 where !terminated {
            let killed = try PostgresTestServer.psql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '\(database)' AND query LIKE 'COPY%' AND state = 'active'")
            terminated = killed != "0"
            if !terminated { usleep(10_000) }
        }
        _ = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(terminated, "the allocation's COPY was never seen running")
        #expect(process.terminationStatus == 3, "\(message)")
        #expect(message.contains("was lost during the change") && message.contains("nothing was recorded"), "\(message)")
        #expect(try PostgresTestServer.psql("SELECT count(*) FROM virt_macvtap.addresses", database: database) == "10")
    }
}
