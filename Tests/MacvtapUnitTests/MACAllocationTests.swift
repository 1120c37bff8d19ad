import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing

@Suite("MAC allocation: SHA-256, spaces, the allocator, the birthday odds")
struct MACAllocatorTests {
    @Test("SHA-256 matches the NIST test vectors")
    func sha256() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(Array(repeating: UInt8(ascii: "a"), count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("Prefixes must be unicast, locally administered and not fe; ranges are taken as given")
    func spaces() throws {
        #expect(MACSpace.qemuDefault.usableCount == 1 << 24)
        #expect(try MACSpace(prefix: "52:54:00:ab").usableCount == 1 << 16)
        #expect(throws: AllocationError.self) { try MACSpace(prefix: "53:54:00") }  // multicast
        #expect(throws: AllocationError.self) { try MACSpace(prefix: "00:16:3e") }  // Xen's OUI, not local
        #expect(throws: AllocationError.self) { try MACSpace(prefix: "fe:54:00") }
        #expect(throws: AllocationError.self) { try MACSpace(prefix: "52:54:0") }
        #expect(throws: AllocationError.self) { try MACSpace(prefix: "52:54:00:00:00:00") }
        #expect(try MACSpace(range: "00:00:00:00:00:00-00:00:00:00:00:0f").usableCount == 15, "all-zero is never handed out")
        #expect(try MACSpace(range: "01:00:00:00:00:00-01:00:00:00:00:ff").usableCount == 0, "multicast")
        #expect(try MACSpace(range: "00:ff:ff:ff:ff:ff-02:00:00:00:00:00").usableCount == 2, "00:ff:… and 02:00:…, not 01:…")
        #expect(throws: AllocationError.self) { try MACSpace(range: "02:00:00:00:00:10-02:00:00:00:00:01") }
    }

    @Test("Random batches are distinct, inside the space, valid, and avoid what is taken")
    func randomBatch() throws {
        let space = try MACSpace(prefix: "52:54:00:ab")
        let taken = Set((0..<30_000).map { MACAddress(value: space.first + UInt64($0) * 2) })
        let batch = try MACAllocator(space: space).allocate(count: 20_000, taken: taken)
        let macs = batch.map(\.mac)
        #expect(Set(macs).count == 20_000)
        #expect(macs.allSatisfy { space.contains($0) && $0.isUnicast && $0.isLocallyAdministered })
        #expect(Set(macs).isDisjoint(with: taken))
        #expect(batch.map(\.index) == Array(0..<20_000))
    }

    @Test("Asking for nearly all of a small range takes every free address; one more is refused up front")
    func smallRange() throws {
        let space = try MACSpace(range: "02:00:00:00:00:01-02:00:00:00:00:40")
        let taken: Set<MACAddress> = [MACAddress("02:00:00:00:00:05")!, MACAddress("02:00:00:00:00:06")!]
        let all = try MACAllocator(space: space).allocate(count: 62, taken: taken)
        #expect(Set(all.map(\.mac)).count == 62)
        #expect(Set(all.map(\.mac)).isDisjoint(with: taken))
        #expect(throws: AllocationError.spaceTooSmall(requested: 63, free: 62, space: space.description)) {
            try MACAllocator(space: space).allocate(count: 63, taken: taken)
        }
    }

    @Test("Deterministic: same key and index, same address; the documented hash; collisions probe and say so")
    func deterministic() throws {
        let allocator = MACAllocator(space: .qemuDefault)
        let first = try allocator.allocate(count: 50, taken: [], mode: .deterministic(key: "tenant-42"))
        let again = try allocator.allocate(count: 50, taken: [], mode: .deterministic(key: "tenant-42"))
        #expect(first == again)
        #expect(try allocator.allocate(count: 50, taken: [], mode: .deterministic(key: "tenant-43")) != first)
        // The documented formula, recomputed here: SHA-256("KEY\nINDEX"), first 8 bytes mod 2^24.
        let digest = SHA256.hash(Array("tenant-42\n7".utf8))
        let number = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(first[7].mac == MACAddress(value: 0x52_54_00_00_00_00 + number % (1 << 24)))
        #expect(first.allSatisfy { $0.probes == 0 })

        let moved = try allocator.allocate(count: 50, taken: [first[3].mac, first[9].mac], mode: .deterministic(key: "tenant-42"))
        #expect(moved.filter { $0.probes > 0 }.map(\.index) == [3, 9])
        #expect(moved[3].mac == MACAddress(value: MACAllocator.deterministicValue(key: "tenant-42", index: 3, probe: 1, in: .qemuDefault)))
        #expect(moved.enumerated().allSatisfy { index, entry in [3, 9].contains(index) || entry == first[index] })
    }

    @Test("Birthday odds: 50 % near 4,823 random guests in 2^24 addresses; taken addresses raise them")
    func odds() {
        let half = CollisionOdds.guests(reaching: 0.5, usable: 1 << 24, taken: 0)
        #expect((4_800...4_850).contains(half))
        #expect(CollisionOdds.probability(guests: 1, usable: 1 << 24, taken: 0) == 0)
        #expect(CollisionOdds.probability(guests: 100, usable: 1 << 24, taken: 1_000_000) > CollisionOdds.probability(guests: 100, usable: 1 << 24, taken: 0))
    }
}

@Suite("MAC ledger: SQLite locks, corruption and read-only files, refusals that write nothing", .serialized)
struct MACLedgerTests {
    let scratch: URL

    init() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    func path(_ name: String = "ledger.sqlite") -> String { scratch.appendingPathComponent(name).path }

    // The lifecycle and 8 × 10,000 concurrency cases run on both backends in LedgerBehaviourTests.

    @Test("A locked ledger: a clear error after the timeout, nothing written")
    func locked() throws {
        let ledgerPath = path("locked.sqlite")
        _ = try Tool.run(["mac", "reserve", "52:54:00:00:00:01", "--ledger", ledgerPath])
        let before = try Data(contentsOf: URL(fileURLWithPath: ledgerPath))
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN EXCLUSIVE'); print('held', flush=True); time.sleep(6)", ledgerPath]
        let ready = Pipe()
        holder.standardOutput = ready
        try holder.run()
        _ = ready.fileHandleForReading.availableData  // "held"
        let result = try Tool.run(["mac", "allocate", "--count", "5", "--ledger", ledgerPath, "--lock-timeout", "1"])
        holder.terminate()
        holder.waitUntilExit()
        #expect(result.status == 3)
        #expect(result.standardError.contains("is locked by another process (waited 1"))
        #expect(result.standardError.contains("nothing was written"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: ledgerPath)) == before)
    }

    @Test("A corrupt ledger and another application's database: clear errors, files unchanged")
    func corruptAndForeign() throws {
        let corrupt = path("corrupt.sqlite")
        let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try garbage.write(to: URL(fileURLWithPath: corrupt))
        let result = try Tool.run(["mac", "allocate", "--count", "1", "--ledger", corrupt])
        #expect(result.status == 3)
        #expect(result.standardError.contains("is not a readable SQLite database"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: corrupt)) == garbage)

        let foreign = path("foreign.sqlite")
        _ = try Sandbox.shell("python3 -c \"import sqlite3; c=sqlite3.connect('\(foreign)'); c.execute('CREATE TABLE t(x)'); c.commit()\"")
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))
        let refused = try Tool.run(["mac", "reserve", "52:54:00:00:00:01", "--ledger", foreign])
        #expect(refused.status == 3)
        #expect(refused.standardError.contains("not a virt-macvtap ledger"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == before)
    }

    @Test("A read-only ledger: a clear error, nothing written")
    func readOnly() throws {
        let directory = scratch.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ledgerPath = directory.appendingPathComponent("ledger.sqlite").path
        _ = try Tool.run(["mac", "reserve", "52:54:00:00:00:01", "--ledger", ledgerPath])
        let before = try Data(contentsOf: URL(fileURLWithPath: ledgerPath))
        // root ignores file modes: make the directory a read-only bind mount instead.
        let isRoot = getuid() == 0
        if isRoot {
            try #require(try Sandbox.shell("mount --bind '\(directory.path)' '\(directory.path)' && mount -o remount,ro,bind '\(directory.path)'").status == 0)
        } else {
            try Sandbox.shell("chmod 0444 '\(ledgerPath)' && chmod 0555 '\(directory.path)'")
        }
        defer {
            if isRoot { _ = try? Sandbox.shell("umount '\(directory.path)'") } else { _ = try? Sandbox.shell("chmod 0755 '\(directory.path)'; chmod 0644 '\(ledgerPath)'") }
        }
        let result = try Tool.run(["mac", "allocate", "--count", "3", "--ledger", ledgerPath])
        #expect(result.status == 3)
        #expect(result.standardError.contains("read-only"), "\(result.standardError)")
        #expect(result.standardError.contains("nothing was written"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: ledgerPath)) == before)
    }

    @Test("check and allocate see domains on a host, domain files and the ledger")
    func checkSources() throws {
        let ledgerPath = path("check.sqlite")
        let host = "test://" + Fixtures.fixturesDirectory.appendingPathComponent("test-host.xml").path
        _ = try Tool.run(["mac", "reserve", "52:54:00:0f:0f:0f", "--ledger", ledgerPath, "--label", "future-db"])
        let exampleMAC = try #require(
            try String(contentsOf: Fixtures.examplesDirectory.appendingPathComponent("domains/web01.xml"), encoding: .utf8)
                .firstMatch(of: /mac address='([0-9a-f:]{17})'/).map { String($0.output.1) })
        let check = try Tool.run([
            "mac", "check", "52:54:00:aa:00:01", "52:54:00:ee:ee:01", exampleMAC, "52:54:00:0f:0f:0f", "52:54:00:01:02:03",
            "-c", host, "--exclude", Fixtures.examplesDirectory.appendingPathComponent("domains").path, "--ledger", ledgerPath,
        ])
        #expect(check.status == 1)
        let lines = check.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines[0].contains("domain 'running-vm' on test://"))
        #expect(lines[1].contains("host interface eth0 on test://"))
        #expect(lines[2].contains("web01.xml (domain 'web01')"))
        #expect(lines[3].contains("label 'future-db'"))
        #expect(lines[4] == "52:54:00:01:02:03: free")

        // A range holding exactly those taken addresses and two free ones: allocate gets the two.
        let allocation = try Tool.run([
            "mac", "allocate", "--count", "2", "--range", "52:54:00:aa:00:00-52:54:00:aa:00:02", "-c", host, "--ledger", ledgerPath,
            "--format", "json",
        ])
        #expect(allocation.status == 0, "\(allocation.standardError)")
        #expect(allocation.standardOutput.contains("52:54:00:aa:00:00") && allocation.standardOutput.contains("52:54:00:aa:00:02"))
        #expect(!allocation.standardOutput.contains("\"52:54:00:aa:00:01\""))
        let tooMany = try Tool.run(["mac", "allocate", "--count", "1", "--range", "52:54:00:aa:00:00-52:54:00:aa:00:02", "-c", host, "--ledger", ledgerPath])
        #expect(tooMany.status == 1)
        #expect(tooMany.standardError.contains("only 0 are free"))

        let stats = try Tool.run(["mac", "stats", "--guests", "5000", "--ledger", ledgerPath, "--format", "json"])
        let object = try #require(JSONSerialization.jsonObject(with: Data(stats.standardOutput.utf8)) as? [String: Any])
        #expect(object["usable"] as? Int == 1 << 24)
        #expect(object["taken"] as? Int == 3)
    }
}
