import Foundation
import MacvtapTestSupport
import Testing

@Suite("Fuzzing corpus replay")
struct FuzzReplayTests {
    /// Every committed fuzz input (the minimised corpus, the seeds and each past crash) goes
    /// through the harness's invariants again: parse, lint, every reporter, add and remove.
    @Test func committedInputsKeepEveryInvariant() throws {
        let replayer = Tool.executable.deletingLastPathComponent().appendingPathComponent("virt-macvtap-fuzz")
        try #require(FileManager.default.isExecutableFile(atPath: replayer.path), "build virt-macvtap-fuzz first (swift build)")
        let fuzz = Fixtures.packageRoot.appendingPathComponent("Fuzz")
        let inputs = ["corpus", "seeds", "regressions"].flatMap { directory in
            ((try? FileManager.default.contentsOfDirectory(atPath: fuzz.appendingPathComponent(directory).path)) ?? [])
                .filter { !$0.hasPrefix(".") }.map { fuzz.appendingPathComponent(directory).appendingPathComponent($0).path }
        }
        #expect(inputs.count > 100, "the committed corpus looks empty")
        let process = Process()
        process.executableURL = replayer
        process.arguments = inputs
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text.suffix(2000))")
        #expect(text.contains("\(inputs.count) inputs replayed, every invariant held"))
    }
}
