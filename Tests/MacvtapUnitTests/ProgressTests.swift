import Foundation
import MacvtapTestSupport
import Testing

/// The progress line: on a terminal only (a pty from script(1)), never with --quiet or when
/// stderr is a pipe, and only for long work (here: more than 500 files).
@Suite("Progress on a terminal")
struct ProgressTests {
    static func repository(files: Int) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for index in 0..<files {
            let mac = String(format: "52:54:00:%02x:%02x:%02x", (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff)
            try
                "<domain type='kvm'><name>vm\(index)</name><devices><interface type='direct'><mac address='\(mac)'/><source dev='eth0' mode='bridge'/><model type='virtio'/></interface></devices></domain>\n"
                .write(to: directory.appendingPathComponent("vm\(index).xml"), atomically: false, encoding: .utf8)
        }
        return directory
    }

    /// stderr of the tool run on a pseudo-terminal (stdout discarded).
    static func onTerminal(_ arguments: [String]) throws -> String {
        let command = ([Tool.executable.path] + arguments).map { "'\($0)'" }.joined(separator: " ") + " >/dev/null"
        return try Sandbox.shell("script -qc \"\(command)\" /dev/null").standardOutput
    }

    @Test("lint of 501 files draws 'linted N/501' on a terminal and clears it; --quiet, a pipe or 500 files draw nothing")
    func lintProgress() throws {
        let many = try Self.repository(files: 501)
        defer { try? FileManager.default.removeItem(at: many) }
        let shown = try Self.onTerminal(["lint", many.path])
        #expect(shown.contains("linted ") && shown.contains("/501") && shown.hasSuffix("\r\u{1B}[K"), "\(shown.debugDescription)")
        #expect(try Self.onTerminal(["lint", "--quiet", many.path]).isEmpty)
        let piped = try Tool.run(["lint", many.path])
        #expect(!piped.standardError.contains("linted "))

        let few = try Self.repository(files: 500)
        defer { try? FileManager.default.removeItem(at: few) }
        #expect(try Self.onTerminal(["lint", few.path]).isEmpty)
    }
}
