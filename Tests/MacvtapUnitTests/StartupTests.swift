import Foundation
import MacvtapKit
import MacvtapSystem
import MacvtapTestSupport
import Testing

/// What makes a one-file lint and a single attach start fast: schemas compiled before the
/// arguments are parsed and shared by the process, work started on a thread of its own.
@Suite("Startup: prefetched schemas, detached threads")
struct StartupTests {
    /// libvirt's schemas, copied so that the test can break them after the compile.
    static func copyOfLibvirtSchemas() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("schemas-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: "/usr/share/libvirt/schemas", toPath: directory.path)
        return directory
    }

    @Test func aPrefetchedSchemaIsCompiledOnceAndSharedByEveryLinter() throws {
        let schemas = try Self.copyOfLibvirtSchemas()
        defer { try? FileManager.default.removeItem(at: schemas) }
        let domainSchema = schemas.appendingPathComponent("domain.rng").path
        let good = try Fixtures.bytes(Fixtures.examplesDirectory.appendingPathComponent("lint/good/app02.xml"))

        Linter.prefetchSchemas(configuration: LintConfiguration(), domainSchemaPath: domainSchema)
        Linter.waitForBackgroundWork()
        // A second compile would now fail: the linter must use the one prefetched.
        try Data("<grammar/>".utf8).write(to: URL(fileURLWithPath: domainSchema))
        for _ in 0..<2 {
            let linter = try Linter(configuration: LintConfiguration(), domainSchemaPath: domainSchema)
            let report = try linter.lint([.memory(good, name: "app02.xml")])
            #expect(report.findings.filter { $0.ruleID == "libvirt-schema" }.isEmpty)
        }
    }

    @Test func aSchemaThatDoesNotCompileIsReportedAfterAPrefetch() throws {
        let schemas = try Self.copyOfLibvirtSchemas()
        defer { try? FileManager.default.removeItem(at: schemas) }
        let broken = schemas.appendingPathComponent("broken.rng").path
        try Data("<grammar xmlns='http://relaxng.org/ns/structure/1.0'><start><ref name='nowhere'/></start></grammar>".utf8)
            .write(to: URL(fileURLWithPath: broken))
        Linter.prefetchSchemas(configuration: LintConfiguration(), domainSchemaPath: broken)
        let linter = try Linter(configuration: LintConfiguration(), domainSchemaPath: broken)
        #expect(throws: LintSetupError.self) { try linter.lint([.memory(Array("<domain/>".utf8), name: "x.xml")]) }
    }

    @Test func aDisabledSchemaIsNotPrefetched() throws {
        let schemas = try Self.copyOfLibvirtSchemas()
        defer { try? FileManager.default.removeItem(at: schemas) }
        let domainSchema = schemas.appendingPathComponent("domain.rng").path
        Linter.prefetchSchemas(configuration: LintConfiguration(disable: ["libvirt-schema"]), domainSchemaPath: domainSchema)
        Linter.waitForBackgroundWork()
        try Data("<grammar/>".utf8).write(to: URL(fileURLWithPath: domainSchema))
        // Nothing was compiled from the good file, so the linter compiles the broken one now.
        let linter = try Linter(configuration: LintConfiguration(), domainSchemaPath: domainSchema)
        #expect(throws: LintSetupError.self) { try linter.lint([.memory(Array("<domain/>".utf8), name: "x.xml")]) }
    }

    @Test func aDetachedThreadRunsItsWorkOnAnotherThreadWithAPreGrownHeap() {
        let caller = pthread_self()
        let done = DispatchSemaphore(value: 0)
        let ranElsewhere = LockedFlag()
        let usable = LockedCount()
        let started = DetachedThread.start {
            ThreadHeap.reserve(bytes: 6 << 20)
            // The room stays usable after the chunks are freed: the writable mapping that holds
            // this thread's next small allocation spans the reservation (glibc makes a thread's
            // heap usable piece by piece otherwise: a few hundred KiB at this point).
            let probe = malloc(64)
            usable.set(Self.writableMappingSize(containing: probe.map { UInt(bitPattern: $0) } ?? 0))
            free(probe)
            ranElsewhere.set(pthread_equal(pthread_self(), caller) == 0)
            done.signal()
        }
        #expect(started)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(ranElsewhere.value)
        #expect(usable.value >= 5 << 20, "the thread's heap is writable over only \(usable.value >> 10) KiB")
    }

    /// The size of the run of adjacent writable mappings in /proc/self/maps that holds `address`.
    static func writableMappingSize(containing address: UInt) -> Int {
        // Read to the end: /proc files report a size of 0, which whole-file readers trust.
        guard let data = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() else { return 0 }
        let maps = String(decoding: data, as: UTF8.self)
        var runs: [(start: UInt, end: UInt)] = []
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, fields[1].hasPrefix("rw") else { continue }
            let bounds = fields[0].split(separator: "-").compactMap { UInt($0, radix: 16) }
            guard bounds.count == 2 else { continue }
            if let last = runs.last, last.end == bounds[0] { runs[runs.count - 1].end = bounds[1] } else { runs.append((bounds[0], bounds[1])) }
        }
        return runs.first { $0.start <= address && address < $0.end }.map { Int($0.end - $0.start) } ?? 0
    }
}

/// An Int one thread sets and another reads.
final class LockedCount: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = 0
    func set(_ value: Int) { lock.withLock { stored = value } }
    var value: Int { lock.withLock { stored } }
}

/// A Bool one thread sets and another reads.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    func set(_ value: Bool) { lock.withLock { stored = value } }
    var value: Bool { lock.withLock { stored } }
}
