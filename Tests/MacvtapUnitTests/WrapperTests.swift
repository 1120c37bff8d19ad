import Foundation
import MacvtapKit
import MacvtapLibvirt
import MacvtapSystem
import MacvtapTestSupport
import MacvtapXML
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
