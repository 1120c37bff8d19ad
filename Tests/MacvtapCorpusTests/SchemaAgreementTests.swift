import Dispatch
import Foundation
import MacvtapKit
import MacvtapTestSupport
import MacvtapXML
import Synchronization
import Testing

/// Our schema layer must accept and reject exactly the files xmllint does.
@Suite("libvirt schema layer agrees with xmllint")
struct SchemaAgreementTests {
    @Test(.enabled(if: corpusIsConfigured, "set VIRT_MACVTAP_CORPUS (the README's test command does)"))
    func everyCorpusFileGetsTheSameVerdict() throws {
        let files = try Fixtures.corpusDomainFiles().map(\.path)
        let schemaPath = try SchemaLocator.domainSchemaPath()
        let schema = try RelaxNGSchema(contentsOfFile: schemaPath)

        // Ours, in parallel on one shared compiled schema, as lint runs it.
        let verdicts = Mutex<[String: Bool]>([:])
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            let valid: Bool
            if let document = try? XMLDocument(source: .file(files[index])) {
                valid = schema.validate(document).isEmpty
            } else {
                valid = false
            }
            verdicts.withLock { $0[files[index]] = valid }
        }

        // xmllint, one process over all files, as the notes measured it.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        process.arguments = ["--noout", "--relaxng", schemaPath] + files
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let accepted = Set(
            output.split(separator: "\n").compactMap { line in
                line.hasSuffix(" validates") ? String(line.dropLast(" validates".count)) : nil
            })

        let ours = verdicts.withLock { $0 }
        var disagreements: [String] = []
        for file in files where ours[file] != accepted.contains(file) {
            disagreements.append("\(file): ours \(ours[file] == true ? "valid" : "invalid"), xmllint \(accepted.contains(file) ? "valid" : "invalid")")
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) files disagree:\n\(disagreements.prefix(20).joined(separator: "\n"))")
        #expect(accepted.count > 1500, "xmllint accepted only \(accepted.count) files; is the corpus complete?")
        #expect(files.count - accepted.count > 50, "the corpus should include files libvirt's schema rejects")
    }
}
