import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing
import VirtMacvtapCommands

@Suite("virt-macvtap command line", .serialized)
struct CommandLineTests {
    @Test("generate, edit --add-direct and mac read the ledger --ledger names (an unreachable one is exit 3, the password never shown)")
    func ledgerOption() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let file = try scratch.copyExample("web01.xml")
        let before = try Data(contentsOf: file)
        let ledger = "postgresql://ipam:s3cret@127.0.0.1:1/macs"
        for arguments in [
            ["generate", "--source", "eth0", "--mode", "bridge", "--ledger", ledger],
            ["edit", file.path, "--add-direct", "--source", "eth0", "--mode", "bridge", "--ledger", ledger],
            ["mac", "list", "--ledger", ledger],
        ] {
            let result = try Tool.run(arguments)
            #expect(result.status == 3, "\(arguments[0]): \(result)")
            #expect(result.standardError.contains("cannot reach ledger postgresql://ipam:***@127.0.0.1:1/macs"), "\(result.standardError)")
            #expect(!result.standardError.contains("s3cret"))
        }
        #expect(try Data(contentsOf: file) == before, "the file is unchanged")
        // VIRT_MACVTAP_LEDGER is the default, --ledger wins over it.
        let viaEnvironment = try Tool.runProcess(["mac", "list"], shellPrefix: "export VIRT_MACVTAP_LEDGER='\(ledger)';")
        #expect(viaEnvironment.status == 3 && viaEnvironment.standardError.contains("ipam:***@"), "\(viaEnvironment)")
        let overridden = try Tool.runProcess(["mac", "list", "--ledger", scratch.directory.appendingPathComponent("l.sqlite").path], shellPrefix: "export VIRT_MACVTAP_LEDGER='\(ledger)';")
        #expect(overridden.status == 0, "\(overridden)")
    }

    @Test func versionNamesTheLibraries() throws {
        let result = try Tool.run(["--version"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("libxml2 2."))
        #expect(result.standardOutput.contains("libvirt "))
        #expect(result.standardOutput.contains("bundled libvirt schemas: 9.0, 11.3"), "\(result)")
        #expect(result.standardOutput.contains("lint validates against "), "\(result)")
    }

    @Test func everyCommandHasHelpWithAnExample() throws {
        for command in [[], ["generate"], ["edit"]] {
            let result = try Tool.run(command + ["--help"])
            #expect(result.status == 0)
            #expect(result.standardOutput.contains("Examples:"), "\(command) --help has no example")
        }
    }

    @Test func generatePrintsValidDistinctInterfaces() throws {
        let result = try Tool.run(["generate", "--source", "eth0", "--mode", "private", "--count", "3"])
        #expect(result.status == 0, "\(result.standardError)")
        let macs = result.standardOutput.components(separatedBy: "<mac address=\"").dropFirst().map { $0.prefix(17) }
        #expect(macs.count == 3 && Set(macs).count == 3)
        #expect(macs.allSatisfy { $0.hasPrefix("52:54:00:") })
        #expect(result.standardOutput.components(separatedBy: "<source dev=\"eth0\" mode=\"private\"/>").count == 4)
        #expect(result.standardOutput.components(separatedBy: "<model type=\"virtio\"/>").count == 4)
    }

    @Test func generateUsesTheGivenMACInCanonicalForm() throws {
        let result = try Tool.run(["generate", "--source", "eth0", "--mac", "52:54:0:A:B:C"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("<mac address=\"52:54:00:0a:0b:0c\"/>"))
    }

    @Test(arguments: [
        ["generate", "--source", "eth0' mode='passthrough"],
        ["generate", "--source", "eth0", "--mode", "VEPA"],
        ["generate", "--source", "eth0", "--mac", "01:00:5e:00:00:01"],
        ["generate", "--source", "eth0", "--mac", "nonsense"],
        ["generate"],
        ["generate", "--source", "eth0", "--count", "2", "--mac", "52:54:00:00:00:01"],
        ["edit", "x.xml"],
        // An invalid value the user typed is a usage error in every command, edit and attach too.
        ["edit", Fixtures.examplesDirectory.appendingPathComponent("domains/web01.xml").path, "--add-direct", "--source", "eth0/1", "--dry-run"],
        [
            "attach", "running-vm", "-c", "test://" + Fixtures.fixturesDirectory.appendingPathComponent("test-host.xml").path,
            "--source", "eth0/1", "--dry-run",
        ],
        ["frobnicate"],
    ])
    func usageErrorsExitWithTwoAndOneLine(arguments: [String]) throws {
        let result = try Tool.run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        #expect(!result.standardError.isEmpty)
    }

    @Test func editAddsAndRemovesInPlace() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let file = try scratch.copyExample("web01.xml")
        let original = try Data(contentsOf: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: file.path)

        let add = try Tool.run(["edit", file.path, "--add-direct", "--source", "eth1", "--mac", "52:54:00:aa:bb:cc"])
        #expect(add.status == 0, "\(add.standardError)")
        #expect(add.standardOutput.contains("added interface 52:54:00:aa:bb:cc"))
        let edited = String(decoding: try Data(contentsOf: file), as: UTF8.self)
        #expect(edited.contains("<source dev=\"eth1\" mode=\"vepa\"/>"))
        let permissions = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(permissions == 0o640)

        let duplicate = try Tool.run(["edit", file.path, "--add-direct", "--source", "eth1", "--mac", "52:54:00:aa:bb:cc"])
        #expect(duplicate.status == 1)
        #expect(duplicate.standardError.contains("already used"))

        let remove = try Tool.run(["edit", file.path, "--remove-direct", "52:54:00:AA:BB:CC"])
        #expect(remove.status == 0, "\(remove.standardError)")
        #expect(try Data(contentsOf: file) == original)
        #expect(scratch.entries == ["web01.xml"], "temporary files left behind: \(scratch.entries)")
    }

    @Test func dryRunPrintsADiffAndLeavesTheFileAlone() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let file = try scratch.copyExample("db01.xml")
        let original = try Data(contentsOf: file)
        let result = try Tool.run(["edit", file.path, "--add-direct", "--source", "eth1", "--dry-run"])
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix("--- \(file.path)\n+++ \(file.path)\n@@ "))
        let changed = result.standardOutput.split(separator: "\n").dropFirst(3).filter { !$0.hasPrefix(" ") }
        #expect(changed.count == 5 && changed.allSatisfy { $0.hasPrefix("+") })
        #expect(try Data(contentsOf: file) == original)
    }

    @Test func aFailedWriteLeavesTheOriginalIntact() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let file = try scratch.copyExample("web01.xml")
        let original = try Data(contentsOf: file)
        // The file-size limit makes write(2) fail with EFBIG part-way through the new file.
        let result = try Tool.run(
            ["edit", file.path, "--add-direct", "--source", "eth1"], shellPrefix: "trap '' XFSZ; ulimit -f 1;")
        #expect(result.status == 3, "\(result.standardError)")
        #expect(result.standardError.contains("cannot write the new content"))
        #expect(try Data(contentsOf: file) == original)
        #expect(scratch.entries == ["web01.xml"], "temporary files left behind: \(scratch.entries)")
    }

    @Test func aFullDiskLeavesTheOriginalIntact() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let mountPoint = scratch.directory.appendingPathComponent("full")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        // A 64 KiB tmpfs, then filled: the new file cannot be written (ENOSPC).
        try #require(Sandbox.shell("mount -t tmpfs -o size=64k tmpfs '\(mountPoint.path)'").status == 0, "cannot mount a tmpfs")
        defer { _ = try? Sandbox.shell("umount '\(mountPoint.path)'") }
        let file = mountPoint.appendingPathComponent("web01.xml")
        try FileManager.default.copyItem(at: Fixtures.examplesDirectory.appendingPathComponent("domains/web01.xml"), to: file)
        _ = try Sandbox.shell("dd if=/dev/zero of='\(mountPoint.path)/filler' bs=1k count=128")
        let original = try Data(contentsOf: file)
        let result = try Tool.run(["edit", file.path, "--add-direct", "--source", "eth1"])
        #expect(result.status == 3, "\(result.standardError)")
        #expect(result.standardError.contains("No space left on device; free some space; the original file was not changed"))
        #expect(result.standardError.split(separator: "\n").count == 1)
        #expect(try Data(contentsOf: file) == original)
        let left = try FileManager.default.contentsOfDirectory(atPath: mountPoint.path).sorted()
        #expect(left == ["filler", "web01.xml"], "temporary files left behind: \(left)")
    }

    @Test func aReadOnlyDirectoryLeavesTheOriginalIntact() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let file = try scratch.copyExample("web01.xml")
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: file.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: scratch.directory.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.directory.path) }
        let original = try Data(contentsOf: file)
        // As nobody (root ignores modes): the file is writable, its directory is not, so the
        // temporary file beside it cannot be created and nothing is written in place either.
        let result = try Tool.run(
            ["edit", file.path, "--add-direct", "--source", "eth1"],
            wrapper: geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups" : nil)
        #expect(result.status == 3, "\(result.standardError)")
        #expect(result.standardError.contains("cannot create a temporary file in"))
        #expect(result.standardError.contains("Permission denied"))
        #expect(try Data(contentsOf: file) == original)
        #expect(scratch.entries == ["web01.xml"], "temporary files left behind: \(scratch.entries)")
    }

    @Test func removingAnUnknownMACIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let file = try scratch.copyExample("web01.xml")
        let result = try Tool.run(["edit", file.path, "--remove-direct", "52:54:00:00:00:42"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("no interface matches"))
    }

    @Test func badInputsGiveOneClearLine() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let missing = try Tool.run(["edit", scratch.directory.path + "/nope.xml", "--remove-direct", "52:54:00:00:00:01"])
        #expect(missing.status == 3)
        #expect(missing.standardError.contains("nope.xml: cannot open it: No such file or directory"))

        let directory = try Tool.run(["edit", scratch.directory.path, "--remove-direct", "52:54:00:00:00:01"])
        #expect(directory.status == 3)
        #expect(directory.standardError.contains("it is a directory"))

        let network = scratch.directory.appendingPathComponent("net.xml")
        try Data("<network><name>default</name></network>\n".utf8).write(to: network)
        let notDomain = try Tool.run(["edit", network.path, "--add-direct", "--source", "eth0"])
        #expect(notDomain.status == 1)
        #expect(notDomain.standardError.contains("root element is <network>, expected <domain>"))

        let broken = scratch.directory.appendingPathComponent("broken.xml")
        try Data("<domain>\n  <name>x</nam>\n</domain>\n".utf8).write(to: broken)
        let malformed = try Tool.run(["edit", broken.path, "--add-direct", "--source", "eth0"])
        #expect(malformed.status == 1)
        #expect(malformed.standardError.contains("broken.xml:2:"))
        #expect(malformed.standardError.split(separator: "\n").count == 1)
    }
}

@Suite("virt-macvtap lint command line", .serialized)
struct LintCommandLineTests {
    @Test func exitCodesFollowTheLinterConvention() throws {
        let good = Fixtures.examplesDirectory.appendingPathComponent("lint/good").path
        let bad = Fixtures.examplesDirectory.appendingPathComponent("lint/bad").path
        #expect(try Tool.run(["lint", good]).status == 0)
        #expect(try Tool.run(["lint", bad]).status == 1)
        #expect(try Tool.run(["lint", good, "--fail-level", "info"]).status == 1)
        #expect(try Tool.run(["lint", "--disable", "no-such-rule", good]).status == 2)
        #expect(try Tool.run(["lint", "--format", "yaml", good]).status == 2)
        #expect(try Tool.run(["lint"]).status == 2)
        #expect(try Tool.run(["lint", "--schema", "/nonexistent/domain.rng", good]).status == 2)
        #expect(try Tool.run(["lint", "--schema=/usr/share/libvirt/schemas/domain.rng", good]).status == 0)
        #expect(try Tool.run(["lint", "--schema=/nonexistent/domain.rng", good]).status == 2)
        #expect(try Tool.run(["lint", "--disable", "libvirt-schema", "--disable", "interface-schema", good]).status == 0)
        #expect(try Tool.run(["lint", "--help"]).status == 0)
        let missing = try Tool.run(["lint", good, "/nonexistent/vm.xml"])
        #expect(missing.status == 3)
        #expect(missing.standardError.contains("/nonexistent/vm.xml: cannot open it"))
        #expect(try Tool.run(["lint", "-c", "test:///nonexistent/host.xml", good]).status == 3)
    }

    @Test func inputsMixWithOptionsInAnyOrder() throws {
        let bad = Fixtures.examplesDirectory.appendingPathComponent("lint/bad/typo-and-copy.xml").path
        let good = Fixtures.examplesDirectory.appendingPathComponent("lint/good/app02.xml").path
        let result = try Tool.runProcess(["lint", good, "--format", "json", "--disable", "model-missing", bad, "--", "-"])
        // "-" after "--" is standard input, which is empty here: not well-formed.
        #expect(result.standardOutput.contains("\"files\" : 3"))
        #expect(!result.standardOutput.contains("\"ruleID\" : \"model-missing\""))
        #expect(result.standardOutput.contains("\"ruleID\" : \"source-mode-invalid\""))
    }

    @Test func readsStandardInput() throws {
        let process = Process()
        process.executableURL = Tool.executable
        process.arguments = ["lint", "--format", "github", "-"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data("<interface type='direct'><source dev='eth0' mode='VEPA'/></interface>".utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(text.contains("::error file=<stdin>,line=1,col=45,title=source-mode-invalid::"))
    }

    @Test func everyFormatRenders() throws {
        let bad = Fixtures.examplesDirectory.appendingPathComponent("lint/bad").path
        for format in ["text", "json", "sarif", "github", "junit"] {
            let result = try Tool.run(["lint", "--format", format, bad])
            #expect(result.status == 1, "\(format)")
            #expect(!result.standardOutput.isEmpty, "\(format)")
        }
        let list = try Tool.run(["lint", "--list-rules"])
        #expect(list.status == 0 && list.standardOutput.contains("mac-duplicate-across-domains"))
    }
}

/// `lint` takes its inputs out of the arguments before parsing (argument-parser is quadratic in
/// positional arguments), which needs to know which options take a value. That list is checked
/// here against `lint --help`: an option added without it would turn its value into an input file.
@Suite("lint: options that take a value")
struct LintOptionValueTests {
    @Test("--files-from takes a newline or NUL separated list, from a file or standard input, beside the inputs")
    func filesFrom() throws {
        let good = Fixtures.examplesDirectory.appendingPathComponent("lint/good")
        let files = Fixtures.xmlFiles(under: good).map(\.path)
        try #require(files.count >= 2)
        let scratch = try Scratch()
        defer { scratch.remove() }
        let newline = scratch.directory.appendingPathComponent("list.txt")
        try (files.dropFirst().joined(separator: "\n") + "\n").write(to: newline, atomically: true, encoding: .utf8)
        let nul = scratch.directory.appendingPathComponent("list.nul")
        try Data((files.dropFirst().joined(separator: "\u{0}") + "\u{0}").utf8).write(to: nul)
        let expected = "in \(files.count) files"
        for list in [newline, nul] {
            let run = try Tool.run(["lint", "--files-from", list.path, files[0]])
            #expect(run.standardOutput.contains(expected), "\(list.lastPathComponent): \(run.standardOutput)\n\(run.standardError)")
        }
        let piped = try Tool.runProcess(["lint", "--files-from", "-", files[0]], shellPrefix: "cat '\(nul.path)' |")
        #expect(piped.standardOutput.contains(expected), "\(piped.standardOutput)\n\(piped.standardError)")
        let missing = try Tool.run(["lint", "--files-from", scratch.directory.appendingPathComponent("nope").path])
        #expect(missing.status == 3 && missing.standardError.contains("cannot read the input list"), "\(missing.standardError)")
    }

    @Test("Every option `lint --help` shows with a value keeps its value (it is never read as an input file)")
    func everyValueOptionKeepsItsValue() throws {
        let help = try Tool.run(["lint", "--help"]).standardOutput
        let options = Set(help.matches(of: /(--[a-z][a-z-]*) </).map { String($0.output.1) })
        #expect(options.contains("--format") && options.contains("--cache-dir") && options.count >= 8, "\(options.sorted())")
        let good = Fixtures.examplesDirectory.appendingPathComponent("lint/good/app02.xml").path
        // An absolute path in a scratch directory: an option that writes where its value says
        // (`--cache-dir`) must not write into the working directory, the package checkout.
        let scratch = try Scratch()
        defer { scratch.remove() }
        let sentinel = scratch.directory.appendingPathComponent("zz-sentinel-value").path
        // Few arguments and many: argument-parser alone tells options from inputs.
        for inputs in [[good], Array(repeating: good, count: 80)] {
            for option in options.sorted() {
                let result = try Tool.run(["lint", option, sentinel] + inputs)
                let output = result.standardOutput + result.standardError  // "FILE: cannot open it" is a missing input
                // Taken for an input, the value leaves the option without one.
                // (--files-from reads its value as a list of inputs: "cannot read the input list" is that.)
                let readAsInput = output.contains("\(sentinel): cannot open it") && !output.contains("cannot read the input list")
                #expect(
                    !readAsInput && !output.contains("Missing value for '\(option)"),
                    "\(option)'s value was read as an input file (\(inputs.count) inputs):\n\(output)")
            }
        }
    }
}

/// What only the real executable shows: the statuses the shell sees, stdout and stderr as two
/// pipes, a reader that goes away. Everything else runs in-process (`Tool.run`).
@Suite("The executable: exit statuses, separate streams, a closed pipe")
struct ExecutableTests {
    @Test("Exit statuses 0, 1, 2 and 3 as the shell sees them, each error on stderr only")
    func statuses() throws {
        let good = Fixtures.examplesDirectory.appendingPathComponent("lint/good/app02.xml").path
        let bad = Fixtures.examplesDirectory.appendingPathComponent("lint/bad").path
        let clean = try Tool.runProcess(["lint", good, "--fail-level", "warning"])
        #expect(clean.status == 0 && clean.standardError.isEmpty, "\(clean)")
        let findings = try Tool.runProcess(["lint", bad])
        #expect(findings.status == 1 && findings.standardOutput.contains("error:") && findings.standardError.isEmpty, "\(findings)")
        let usage = try Tool.runProcess(["attach", "vm1", "--source", "eth0", "--mode", "VEPA"])
        #expect(usage.status == 2 && usage.standardOutput.isEmpty && usage.standardError.contains("'VEPA' is invalid"), "\(usage)")
        let missing = try Tool.runProcess(["edit", "/nonexistent/vm.xml", "--remove-direct", "52:54:00:00:00:01"])
        #expect(missing.status == 3 && missing.standardOutput.isEmpty && missing.standardError.hasPrefix("virt-macvtap: error: "), "\(missing)")
        // The in-process runner gives the same.
        #expect(try Tool.run(["attach", "vm1", "--source", "eth0", "--mode", "VEPA"]).status == 2)
        #expect(try Tool.run(["lint", bad]).status == 1)
    }

    @Test("A reader that stops early (| head -1) ends the output quietly, not with a crash")
    func closedPipe() throws {
        let bad = Fixtures.examplesDirectory.appendingPathComponent("lint/bad").path
        let result = try Sandbox.shell("set -o pipefail; '\(Tool.executable.path)' lint '\(bad)' | head -1 >/dev/null; echo \"status ${PIPESTATUS[0]}\"")
        #expect(result.standardOutput.contains("status 1") || result.standardOutput.contains("status 141"), "\(result.standardOutput)")
        #expect(!result.standardOutput.contains("Fatal error") && !result.standardOutput.contains("Stack dump"), "\(result.standardOutput)")
    }
}

/// The version is defined once (`Versions.tool`); the changelog's newest entry must be it.
@Suite("The version")
struct VersionTests {
    @Test func theChangelogStartsFromTheToolsVersion() throws {
        let changelog = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        let newest = try #require(changelog.firstMatch(of: /\n## ([0-9]+\.[0-9]+\.[0-9]+)/)?.output.1)
        #expect(String(newest) == Versions.tool)
        #expect(try Tool.run(["--version"]).standardOutput.hasPrefix(Versions.tool + " "))
    }

    @Test("The container image the pre-commit hook and the GitHub Action name is this version's")
    func theHooksNameThisVersionsImage() throws {
        for file in [".pre-commit-hooks.yaml", "action.yml"] {
            let text = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent(file), encoding: .utf8)
            let tags = text.matches(of: /virt-macvtap:([0-9]+\.[0-9]+\.[0-9]+)/).map { String($0.output.1) }
            #expect(!tags.isEmpty && tags.allSatisfy { $0 == Versions.tool }, "\(file): \(tags)")
        }
    }
}
