import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing

/// `lint --fix`, `--unsafe-fixes` and `--diff` on real files.
@Suite("lint --fix and --diff")
struct FixCommandTests {
    static let document = """
        <domain type='kvm'>
          <name>a</name>
          <memory unit='MiB'>512</memory>
          <os><type arch='x86_64'>hvm</type></os>
          <devices>
            <!-- uplink: keep this comment -->
            <interface type='direct'>
              <mac address='52:54:0:1:2:3'/>
              <source dev="eth0" mod='bridge'/>
            </interface>
          </devices>
        </domain>

        """

    static func directory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fix-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try document.write(to: directory.appendingPathComponent("a.xml"), atomically: true, encoding: .utf8)
        let copy = document.replacingOccurrences(of: "<name>a<", with: "<name>b<").replacingOccurrences(of: "52:54:0:1:2:3", with: "52:54:00:01:02:03")
            .replacingOccurrences(of: "mod=", with: "mode=").replacingOccurrences(of: "\"eth0\"", with: "\"eth1\"")
        try copy.write(to: directory.appendingPathComponent("b.xml"), atomically: true, encoding: .utf8)
        return directory
    }

    static func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    @Test("--diff shows the safe fixes and changes nothing (exit 1); --diff --unsafe-fixes adds the unsafe ones")
    func diff() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let safe = try Tool.run(["lint", "--diff", directory.path])
        #expect(safe.status == 1)
        #expect(safe.standardOutput.contains("-      <mac address='52:54:0:1:2:3'/>\n+      <mac address='52:54:00:01:02:03'/>"), "\(safe.standardOutput)")
        #expect(!safe.standardOutput.contains("mode='bridge'\"") && !safe.standardOutput.contains("<model"))
        #expect(safe.standardError.contains("unsafe fixes held back (--unsafe-fixes)"), "\(safe.standardError)")
        #expect(try Self.read(directory.appendingPathComponent("a.xml")) == Self.document, "--diff changed the file")
        let unsafe = try Tool.run(["lint", "--diff", "--unsafe-fixes", directory.path])
        #expect(unsafe.standardOutput.contains("+      <source dev=\"eth0\" mode='bridge'/>") && unsafe.standardOutput.contains("+      <model type=\"virtio\"/>"), "\(unsafe.standardOutput)")
    }

    @Test("--fix writes the safe fixes in place, byte for byte elsewhere; --unsafe-fixes gives the duplicate a new MAC and records it in the ledger; a second run changes nothing")
    func fix() throws {
        let directory = try Self.directory()
        let state = directory.appendingPathComponent("state").path
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = directory.appendingPathComponent("a.xml")
        let safe = try Tool.run(["lint", "--fix", a.path], shellPrefix: "export XDG_STATE_HOME='\(state)';")
        #expect(safe.standardError.contains("fixed 1 finding in 1 file"), "\(safe.standardError)")
        #expect(try Self.read(a) == Self.document.replacingOccurrences(of: "52:54:0:1:2:3", with: "52:54:00:01:02:03"))

        let unsafe = try Tool.run(["lint", "--fix", "--unsafe-fixes", directory.path], shellPrefix: "export XDG_STATE_HOME='\(state)';")
        #expect(unsafe.status == 0, "\(unsafe.standardOutput)\(unsafe.standardError)")
        let fixedB = try Self.read(directory.appendingPathComponent("b.xml"))
        let newMAC = try #require(fixedB.firstMatch(of: /address='(52:54:00:[0-9a-f:]+)'/).map { String($0.output.1) })
        #expect(newMAC != "52:54:00:01:02:03")
        #expect(try Self.read(a).contains("<!-- uplink: keep this comment -->") && Self.read(a).contains("mode='bridge'"))
        let ledger = try Tool.run(["mac", "list", "--format", "json"], shellPrefix: "export XDG_STATE_HOME='\(state)';")
        #expect(ledger.standardOutput.contains(newMAC) && ledger.standardOutput.contains("lint --fix"), "\(ledger.standardOutput)")

        let again = try Tool.run(["lint", "--fix", "--unsafe-fixes", directory.path], shellPrefix: "export XDG_STATE_HOME='\(state)';")
        #expect(again.standardError.contains("fixed 0 findings in 0 files"), "\(again.standardError)")
    }

    @Test("Usage: --unsafe-fixes alone, --fix with --diff, --fix on standard input")
    func usage() throws {
        #expect(try Tool.run(["lint", "--unsafe-fixes", "x.xml"]).status == 2)
        #expect(try Tool.run(["lint", "--fix", "--diff", "x.xml"]).status == 2)
        let stdin = try Tool.run(["lint", "--fix", "-"], shellPrefix: "echo '<domain/>' |")
        #expect(stdin.status == 2 && stdin.standardError.contains("standard input"), "\(stdin.standardError)")
    }
}
