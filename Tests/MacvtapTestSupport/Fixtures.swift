// Built only where Swift Testing is (the test build): a release build of the package compiles
// this module empty.
#if canImport(Testing)
    package import Foundation
    import Testing

    /// Test fixtures and the optional external corpus.
    package enum Fixtures {
        package static let packageRoot: URL = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

        package static var examplesDirectory: URL { packageRoot.appendingPathComponent("Examples") }
        package static var schemasDirectory: URL { packageRoot.appendingPathComponent("Schemas") }
        package static var fixturesDirectory: URL { packageRoot.appendingPathComponent("Tests/Fixtures") }

        /// libvirt's test domain XMLs, fetched by scripts/fetch-libvirt-corpus (`TestGate.corpus`).
        package static var corpusDirectory: URL? {
            TestGate.corpus.value.map { URL(fileURLWithPath: $0) }
        }

        package static func xmlFiles(under directory: URL) -> [URL] {
            guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else {
                return []
            }
            return enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == "xml" }
                .sorted { $0.path < $1.path }
        }

        /// Corpus files whose root element is `<domain>` (libvirt's tests also hold networks,
        /// capabilities, and deliberately broken files).
        package static func corpusDomainFiles() throws -> [URL] {
            let directory = try #require(corpusDirectory, "VIRT_MACVTAP_CORPUS is not set")
            let files = xmlFiles(under: directory)
            #expect(files.count > 2000, "the libvirt corpus at \(directory.path) looks incomplete")
            return files.filter { url in
                guard let data = try? Data(contentsOf: url), let text = String(data: data, encoding: .utf8) else {
                    return false
                }
                return text.range(of: "<domain") != nil
            }
        }

        package static func bytes(_ url: URL) throws -> [UInt8] {
            [UInt8](try Data(contentsOf: url))
        }
    }

    package var corpusIsConfigured: Bool { TestGate.corpus.isSet }
#endif
