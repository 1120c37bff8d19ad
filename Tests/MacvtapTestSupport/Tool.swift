// Built only where Swift Testing is (the test build): a release build of the package compiles
// this module empty.
#if canImport(Testing)
    package import Foundation
    import Synchronization
    import Testing
    import VirtMacvtapCommands

    /// Runs the built `virt-macvtap` executable the way a user does.
    package struct CommandResult {
        package var status: Int32
        package var standardOutput: String
        package var standardError: String
    }

    package enum Tool {
        /// The tool's environment in tests: the test run's, with the default ledger (and the
        /// host-shim records beside it) in a scratch directory, so `attach` and `lint --fix` never
        /// write to the developer's own ledger and tests start from an empty one.
        package static let environment: [String: String] = {
            var environment = ProcessInfo.processInfo.environment
            if environment["XDG_STATE_HOME"] == nil {
                let state = FileManager.default.temporaryDirectory.appendingPathComponent("virt-macvtap-state-\(getpid())")
                try? FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
                environment["XDG_STATE_HOME"] = state.path
            }
            environment.removeValue(forKey: "VIRT_MACVTAP_LEDGER")
            // In-process runs read this process's environment: the same isolation for them.
            setenv("XDG_STATE_HOME", environment["XDG_STATE_HOME"]!, 1)
            unsetenv("VIRT_MACVTAP_LEDGER")
            return environment
        }()

        /// `swift test` builds the executable next to the test bundle.
        package static var executable: URL {
            let testBinary = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
            var directory = testBinary.deletingLastPathComponent()
            while directory.path != "/" {
                let candidate = directory.appendingPathComponent("virt-macvtap")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                directory.deleteLastPathComponent()
            }
            return Fixtures.packageRoot.appendingPathComponent(".build/debug/virt-macvtap")
        }

        /// Runs the tool in this process (`VirtMacvtapCLI.run`: the same parsing, commands and
        /// error-to-status mapping as the executable, output captured); with `shellPrefix` or
        /// `wrapper`, runs the real executable instead.
        @discardableResult
        package static func run(_ arguments: [String], shellPrefix: String? = nil, wrapper: String? = nil) throws -> CommandResult {
            if shellPrefix != nil || wrapper != nil { return try runProcess(arguments, shellPrefix: shellPrefix, wrapper: wrapper) }
            _ = environment
            let outcome = VirtMacvtapCLI.run(arguments)
            return CommandResult(status: outcome.status, standardOutput: outcome.standardOutput, standardError: outcome.standardError)
        }

        /// Runs the real executable, for what only a process shows: exit statuses as the shell sees
        /// them, stdout and stderr as separate pipes, standard input, signals, resource limits.
        /// `shellPrefix` runs in bash first (e.g. `ulimit -f 1;`); `wrapper` is a command that runs
        /// the tool (e.g. `timeout 60 setpriv …`).
        @discardableResult
        package static func runProcess(
            _ arguments: [String], shellPrefix: String? = nil, wrapper: String? = nil, executable: URL = Tool.executable
        ) throws -> CommandResult {
            let process = Process()
            // Another user (setpriv) may not be able to enter the checkout: run an installed copy.
            let executable = wrapper?.contains("setpriv") == true && executable == Tool.executable ? try stagedForOtherUsers() : executable
            if shellPrefix != nil || wrapper != nil {
                process.executableURL = URL(fileURLWithPath: "/bin/bash")
                let quoted = ([executable.path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
                process.arguments = ["-c", (shellPrefix ?? "") + " exec " + (wrapper ?? "") + " " + quoted.joined(separator: " ")]
            } else {
                process.executableURL = executable
                process.arguments = arguments
            }
            process.environment = environment
            let output = Pipe()
            let error = Pipe()
            process.standardOutput = output
            process.standardError = error
            try process.run()
            let outData = output.fileHandleForReading.readDataToEndOfFile()
            let errData = error.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return CommandResult(
                status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
                standardError: String(decoding: errData, as: UTF8.self))
        }
    }

    extension Tool {
        private static let staged = Mutex<URL?>(nil)

        /// One installed copy per test process, for runs as another user.
        static func stagedForOtherUsers() throws -> URL {
            try staged.withLock { copy in
                if let copy { return copy }
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("virt-macvtap-installed-\(getpid())")
                try? FileManager.default.removeItem(at: directory)
                let made = try stagedInstall(in: directory)
                copy = made
                return made
            }
        }

        /// A copy of the executable laid out as an installation (`PREFIX/bin/virt-macvtap`, its
        /// schemas in `PREFIX/share/virt-macvtap/schemas`) under `directory`, readable by every user:
        /// for runs as another user, who may not be able to enter the checkout (Debian 12 makes home
        /// directories 0700).
        package static func stagedInstall(in directory: URL) throws -> URL {
            let manager = FileManager.default
            let bin = directory.appendingPathComponent("bin")
            let schemas = directory.appendingPathComponent("share/virt-macvtap/schemas")
            try manager.createDirectory(at: bin, withIntermediateDirectories: true)
            try manager.createDirectory(at: schemas.deletingLastPathComponent(), withIntermediateDirectories: true)
            let staged = bin.appendingPathComponent("virt-macvtap")
            try manager.copyItem(at: executable, to: staged)
            try manager.copyItem(at: Fixtures.schemasDirectory, to: schemas)
            // Every directory and file readable (and the directories enterable) by everyone.
            for path in [directory.path] + (manager.subpaths(atPath: directory.path) ?? []).map({ directory.path + "/" + $0 }) {
                var isDirectory: ObjCBool = false
                _ = manager.fileExists(atPath: path, isDirectory: &isDirectory)
                try manager.setAttributes([.posixPermissions: isDirectory.boolValue || path == staged.path ? 0o755 : 0o644], ofItemAtPath: path)
            }
            return staged
        }
    }

    /// A scratch directory with a copy of an example domain.
    package struct Scratch {
        package let directory: URL

        package init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("virt-macvtap-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }

        package func copyExample(_ name: String) throws -> URL {
            let destination = directory.appendingPathComponent(name)
            try FileManager.default.copyItem(
                at: Fixtures.examplesDirectory.appendingPathComponent("domains/\(name)"), to: destination)
            return destination
        }

        package var entries: [String] {
            (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        }

        package func remove() {
            try? FileManager.default.removeItem(at: directory)
        }
    }
#endif
