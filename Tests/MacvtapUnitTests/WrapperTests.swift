import Foundation
import MacvtapKit
import MacvtapLibvirt
import MacvtapNetlink
import MacvtapPostgres
import MacvtapSQLite
import MacvtapSystem
import MacvtapTestSupport
import MacvtapXML
import Synchronization
import Testing

@Suite("Wrapper layers: libvirt connection, document sources")
struct WrapperTests {
    @Test func opensLibvirtsTestDriverReadOnly() throws {
        let connection = try LibvirtConnection(uri: "test:///default", readOnly: true)
        #expect(try connection.canonicalURI() == "test:///default")
        #expect(try connection.domains().map(\.name) == ["test"])
        connection.close()
        #expect(throws: LibvirtError.self) { try connection.domains() }
    }

    /// The host scan nests reads (each listing then describes what it listed). libdispatch adds
    /// a thread a second once all of its threads wait, so a nested run that waited for helpers
    /// stalled the scan for seconds; the caller takes reads too, and waits only for started ones.
    @Test func nestedConcurrentReadsDoNotWaitForThePool() throws {
        let connection = try LibvirtConnection(uri: "test:///default", readOnly: true)
        defer { connection.close() }
        let done = Mutex<[Int]>([])
        let clock = ContinuousClock()
        let start = clock.now
        connection.concurrently(
            (0..<6).map { outer in
                { connection in
                    connection.concurrently(
                        (0..<8).map { inner in
                            { connection in
                                usleep(5_000)
                                if (try? connection.domains().map(\.name)) == ["test"] { done.withLock { $0.append(outer * 8 + inner) } }
                            }
                        })
                }
            })
        let elapsed = clock.now - start
        #expect(done.withLock { $0.sorted() } == Array(0..<48))
        // 48 reads of 5 ms take 240 ms one after another; a wait for the pool takes a second.
        #expect(elapsed < .milliseconds(900), "nested reads took \(elapsed)")
    }

    @Test func libvirtErrorsKeepCodeAndMessage() throws {
        let error = try #require(throws: LibvirtError.self) {
            _ = try LibvirtConnection(uri: "test:///nonexistent/node.xml", readOnly: true)
        }
        #expect(error.code != 0)
        #expect(error.message.contains("/nonexistent/node.xml"))
        #expect(error.description.hasPrefix("connecting to test:///nonexistent/node.xml: "))
    }

    @Test func readsDocumentsFromFilesAndMemory() throws {
        let url = Fixtures.examplesDirectory.appendingPathComponent("domains/web01.xml")
        let fromFile = try XMLDocument(source: .file(url.path))
        let fromMemory = try XMLDocument(source: .memory(Fixtures.bytes(url), name: "web01"))
        #expect(fromFile.source == fromMemory.source)
        #expect(fromMemory.fileName == "web01")
        #expect(DocumentSource(argument: "-") == .standardInput)
    }

    @Test func refusesDirectoriesAndFIFOsWithoutBlocking() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("src-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("pipe.xml").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let fifoError = try #require(throws: DocumentReadError.self) { try XMLDocument(source: .file(fifo)) }
        #expect(fifoError.description.contains("not a regular file"))
        let directoryError = try #require(throws: DocumentReadError.self) {
            try XMLDocument(source: .file(directory.path))
        }
        #expect(directoryError.description.contains("is a directory"))
    }
}

@Suite("Wrapper errors: one result-code shape (named codes, == and ~=)")
struct WrapperResultCodeTests {
    @Test("Each wrapper's errors match their named codes in a switch, and only those")
    func namedCodesMatch() throws {
        func libvirtCode(_ error: any Error) -> String {
            switch error {
            case LibvirtError.Code.noDomain: "no domain"
            case LibvirtError.Code.noSupport: "no support"
            default: "other"
            }
        }
        let connection = try LibvirtConnection(uri: "test:///default", readOnly: true)
        defer { connection.close() }
        do {
            _ = try connection.lookupDomain("no-such-domain-here")
            Issue.record("the test driver found a domain that does not exist")
        } catch {
            #expect(libvirtCode(error) == "no domain", "\(error)")
            #expect(error.resultCode == .noDomain)
        }

        func sqliteCode(_ error: any Error) -> String {
            switch error {
            case SQLiteResultCode.cannotOpen: "cannot open"
            case SQLiteResultCode.busy: "busy"
            default: "other"
            }
        }
        do {
            _ = try SQLiteDatabase(path: "/proc/no-such-dir/ledger.sqlite", mode: .readWriteCreate, busyTimeout: .seconds(1))
            Issue.record("SQLite opened a database where no directory exists")
        } catch {
            #expect(sqliteCode(error) == "cannot open", "\(error)")
        }

        let exists = NetlinkError(code: NetlinkResultCode.exist.rawValue, message: "Object exists", operation: "adding a link")
        switch exists as any Error {
        case NetlinkResultCode.noDevice: Issue.record("an existing object matched no-device")
        case NetlinkResultCode.exist: #expect(exists.isExisting)
        default: Issue.record("NLE_EXIST did not match .exist")
        }
        let unique = PostgresError(kind: .statement, sqlState: "23505", message: "duplicate key", operation: "reserving")
        switch unique as any Error {
        case PostgresResultCode.uniqueViolation: #expect(unique.isUniqueViolation && !unique.isTransient)
        default: Issue.record("SQLSTATE 23505 did not match .uniqueViolation")
        }
    }
}
