import Foundation
import MacvtapTestSupport
import Testing

/// One hostile or broken input, and what `virt-macvtap lint` must say about it.
struct HostileInput: CustomTestStringConvertible, Sendable {
    enum Content: Sendable {
        case bytes([UInt8])
        /// Written in chunks, so the test never holds it in memory twice.
        case repeated(prefix: String, line: String, count: Int, suffix: String)
        case directory(containing: [String])
        case fifo
        case missing
        case unreadable
    }

    var name: String
    var content: Content
    var expectedStatus: Int32
    /// Text that the one line about this input must contain (stdout for findings, stderr for errors).
    var expectedText: String
    var ruleID: String?

    var testDescription: String { name }

    static func text(_ string: String) -> Content { .bytes(Array(string.utf8)) }

    static let domainHead = "<domain type='kvm'><name>h</name><memory>1</memory><os><type>hvm</type></os><devices>"
    static let directNIC =
        "<interface type='direct'><mac address='52:54:00:12:34:56'/><source dev='eth0' mode='bridge'/>"
        + "<model type='virtio'/></interface>"

    static let all: [HostileInput] = [
        HostileInput(
            name: "external general entity to a file",
            content: text(
                "<?xml version='1.0'?>\n<!DOCTYPE domain [ <!ENTITY x SYSTEM 'file:///etc/passwd'> ]>\n"
                    + domainHead.replacingOccurrences(of: "<name>h</name>", with: "<name>&x;</name>") + directNIC
                    + "</devices></domain>\n"),
            expectedStatus: 1, expectedText: "entity '&x;' refers to an external resource, which is never loaded",
            ruleID: "xml-external-entity"),
        HostileInput(
            name: "external general entity to an http:// URL",
            content: text(
                "<!DOCTYPE domain [ <!ENTITY x SYSTEM 'http://192.0.2.1/x'> ]>\n"
                    + "<domain type='kvm'><name>&x;</name></domain>\n"),
            expectedStatus: 1, expectedText: "refers to an external resource", ruleID: "xml-external-entity"),
        HostileInput(
            name: "external DTD",
            content: text("<!DOCTYPE domain SYSTEM 'http://192.0.2.1/domain.dtd'>\n<domain type='kvm'><name>a</name></domain>\n"),
            expectedStatus: 1, expectedText: "the DOCTYPE names an external DTD, which is never loaded",
            ruleID: "xml-external-entity"),
        HostileInput(
            name: "parameter entities",
            content: text(
                "<!DOCTYPE domain [ <!ENTITY % p SYSTEM 'file:///etc/passwd'> %p; ]>\n"
                    + "<domain type='kvm'><name>a</name></domain>\n"),
            expectedStatus: 1, expectedText: "parameter entity '%p;' refers to an external resource",
            ruleID: "xml-external-entity"),
        HostileInput(
            name: "billion laughs",
            content: text(
                "<!DOCTYPE domain [<!ENTITY l0 'lol'>"
                    + (1...9).map { level in "<!ENTITY l\(level) '" + String(repeating: "&l\(level - 1);", count: 10) + "'>" }
                    .joined() + "]>\n<domain type='kvm'><name>&l9;</name></domain>\n"),
            expectedStatus: 1, expectedText: "entity references expand without end", ruleID: "xml-malformed"),
        HostileInput(
            name: "100,000 nested elements",
            content: text(
                "<domain type='kvm'>" + String(repeating: "<a>", count: 100_000)
                    + String(repeating: "</a>", count: 100_000) + "</domain>"),
            expectedStatus: 1, expectedText: "nested more than 256 levels deep", ruleID: "xml-malformed"),
        HostileInput(
            name: "a 100 MB file",
            content: .repeated(
                prefix: "<domain type='kvm'><name>big</name><description>",
                line: String(repeating: "x", count: 1023) + "\n", count: 100 * 1024, suffix: "</description></domain>"),
            expectedStatus: 3, expectedText: "cannot read it: it is 100 MiB; virt-macvtap reads at most 16 MiB"),
        HostileInput(
            name: "invalid UTF-8",
            content: .bytes(Array("<domain type='kvm'><name>".utf8) + [0xFF, 0xFE, 0xC3] + Array("</name></domain>".utf8)),
            expectedStatus: 1, expectedText: "the text is not valid UTF-8 (bytes 0xFF 0xFE 0xC3", ruleID: "xml-malformed"),
        HostileInput(
            name: "NUL bytes",
            content: .bytes(Array("<domain type='kvm'><name>a".utf8) + [0] + Array("b</name></domain>".utf8)),
            expectedStatus: 1, expectedText: "a NUL byte (0x00) is not allowed anywhere in XML", ruleID: "xml-malformed"),
        HostileInput(
            name: "a BOM (accepted: UTF-8 with a byte order mark is valid XML)",
            content: .bytes([0xEF, 0xBB, 0xBF] + Array((domainHead + directNIC + "</devices></domain>\n").utf8)),
            expectedStatus: 0, expectedText: "0 errors"),
        HostileInput(
            name: "a non-domain root element",
            content: text("<pool type='dir'><name>default</name></pool>\n"),
            expectedStatus: 0, expectedText: "skipped: root element <pool> is not <domain>, <interface> or <network>",
            ruleID: "not-a-domain"),
        HostileInput(
            name: "an empty file", content: text(""),
            expectedStatus: 1, expectedText: "empty file: expected an XML document", ruleID: "xml-malformed"),
        HostileInput(
            name: "a directory given as a file, holding no XML", content: .directory(containing: ["notes.txt"]),
            expectedStatus: 2, expectedText: "the directory holds no *.xml files"),
        HostileInput(
            name: "a FIFO given as a file", content: .fifo,
            expectedStatus: 3, expectedText: "cannot read it: it is not a regular file"),
        HostileInput(
            name: "a path that does not exist", content: .missing,
            expectedStatus: 3, expectedText: "cannot open it: No such file or directory; check the path"),
        HostileInput(
            name: "no read permission", content: .unreadable,
            expectedStatus: 3, expectedText: "cannot open it: Permission denied"),
    ]

    /// Creates the input in `directory` and returns its path.
    func materialize(in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("input.xml").path
        switch content {
        case .bytes(let bytes):
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        case .repeated(let prefix, let line, let count, let suffix):
            _ = FileManager.default.createFile(atPath: path, contents: Data(prefix.utf8))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            let block = Data(String(repeating: line, count: 1024).utf8)
            for _ in 0..<(count / 1024) { try handle.write(contentsOf: block) }
            try handle.write(contentsOf: Data(suffix.utf8))
            try handle.close()
        case .directory(let names):
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            for name in names { _ = FileManager.default.createFile(atPath: path + "/" + name, contents: Data("x".utf8)) }
        case .fifo:
            #expect(mkfifo(path, 0o644) == 0)
        case .missing:
            break
        case .unreadable:
            try Data("<domain type='kvm'><name>secret</name></domain>".utf8).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: path)
        }
        return path
    }

    /// Root reads any file; the unreadable case runs the tool as nobody so permissions apply.
    var shellPrefix: String? {
        guard case .unreadable = content, geteuid() == 0 else { return nil }
        return "setpriv --reuid=65534 --regid=65534 --clear-groups"
    }
}

@Suite("Hostile and broken input")
struct HostileInputTests {
    @Test(arguments: HostileInput.all)
    func lintGivesOneClearLine(_ input: HostileInput) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // nobody must reach the file's directory for the permission to be what stops it.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.directory.path)
        let path = try input.materialize(in: scratch.directory)
        let memoryReport = scratch.directory.appendingPathComponent("maxrss").path
        let measure = "/usr/bin/time -o '\(memoryReport)' -f %M timeout 60"
        let prefix = input.shellPrefix.map { measure + " " + $0 } ?? measure

        // Another user runs a copy installed outside the checkout, which may be closed to them.
        let executable = input.shellPrefix == nil ? Tool.executable : try Tool.stagedInstall(in: scratch.directory.appendingPathComponent("prefix"))
        for format in ["text", "json", "sarif", "github", "junit"] {
            let result = try Tool.runProcess(["lint", "--format", format, path], wrapper: prefix, executable: executable)
            #expect(result.status == input.expectedStatus, "\(format): exit \(result.status)\n\(result.standardError)")
            let everything = result.standardOutput + result.standardError
            #expect(!everything.contains("root:x:0:0"), "\(format): the contents of /etc/passwd leaked")
            #expect(!everything.contains("/etc/passwd"), "\(format): the external resource was named")
            // Everything on stderr is ours: libxml2 printed nothing of its own.
            for line in result.standardError.split(separator: "\n") {
                #expect(line.hasPrefix("virt-macvtap: error: \(path): "), "\(format): stray stderr line: \(line)")
            }
            #expect(result.standardError.split(separator: "\n").count <= 1, "\(format): more than one error line")
            if format == "text" {
                #expect(everything.contains(input.expectedText), "text output: \(everything)")
                if let ruleID = input.ruleID {
                    let line = result.standardOutput.split(separator: "\n").first { $0.contains("[\(ruleID)]") }
                    let findingLine = try #require(line, "no [\(ruleID)] finding: \(result.standardOutput)")
                    #expect(findingLine.hasPrefix("\(path):"), "finding without file:line:col: \(findingLine)")
                    #expect(findingLine.contains(input.expectedText))
                }
            }
            if format == "json" && input.expectedStatus <= 1 {
                let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
                #expect(object is [String: Any], "json output is not an object")
            }
            let maxResidentKiB = Int(try String(contentsOfFile: memoryReport, encoding: .utf8).split(separator: "\n").last ?? "") ?? 0
            #expect(maxResidentKiB > 0 && maxResidentKiB < 200_000, "\(format): \(maxResidentKiB) KiB resident")
        }
    }

    @Test func editRefusesHostileInputAndLeavesItAlone() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        for input in HostileInput.all where input.expectedStatus != 0 {
            guard case .bytes = input.content else { continue }
            let path = try input.materialize(in: scratch.directory)
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            let result = try Tool.run(["edit", path, "--add-direct", "--source", "eth0", "--mac", "52:54:00:77:66:55"])
            let after = try Data(contentsOf: URL(fileURLWithPath: path))
            let everything = result.standardOutput + result.standardError
            #expect(!everything.contains("root:x:0:0") && !everything.contains("/etc/passwd"), "\(input.name)")
            if input.ruleID == "xml-malformed" || input.ruleID == nil {
                #expect(before == after, "\(input.name): edit changed the file")
                #expect(result.status != 0, "\(input.name): edit accepted a malformed file")
                #expect(result.standardError.split(separator: "\n").count == 1, "\(input.name): \(result.standardError)")
            } else {
                // A DOCTYPE is the user's: an edit keeps it byte for byte (and never expands it).
                let prologue = before.prefix { $0 != UInt8(ascii: ">") }
                #expect(after.starts(with: prologue), "\(input.name): the DOCTYPE was not kept")
                #expect(!String(decoding: after, as: UTF8.self).contains("root:x"), "\(input.name)")
            }
            try FileManager.default.removeItem(atPath: path)
            #expect(scratch.entries.isEmpty, "\(input.name): a temporary file was left behind: \(scratch.entries)")
        }
    }
}
