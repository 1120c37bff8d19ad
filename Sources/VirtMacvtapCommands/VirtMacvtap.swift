import ArgumentParser
import MacvtapKit
import MacvtapSystem

/// The root command. `VirtMacvtapCLI` runs it, as a process or in-process.
struct VirtMacvtap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "virt-macvtap",
        abstract: "Generate, edit and check libvirt macvtap interfaces (<interface type='direct'>).",
        discussion: """
            Exit codes: 0 success; 1 the input or request was refused; 2 usage error; 3 I/O or \
            libvirt error; 4 libvirt took a live change the domain XML does not confirm (detach \
            or change-mode timed out).

            Examples:
              virt-macvtap attach vm1 --source eth0 --mode vepa
              virt-macvtap list --all
              virt-macvtap detach vm1 --source eth0
              virt-macvtap change-mode vm1 --target macvtap0 --mode bridge
              virt-macvtap host-shim eth0 --address 192.0.2.2/24
              virt-macvtap generate --source eth0 --mode bridge
              virt-macvtap edit vm1.xml --add-direct --source eth0 --mode vepa --dry-run
              virt-macvtap lint domains/ --format sarif > lint.sarif
            """,
        version: Versions.tool,
        subcommands: [
            Attach.self, Detach.self, List.self, SetLink.self, ChangeMode.self, MigrateCheck.self, HostShim.self, HostVLAN.self, Mac.self, Generate.self, GenerateNetwork.self, Edit.self, Lint.self,
            Reach.self,
            LanguageServerCommand.self, EditGuard.self,
        ]
    )

}

/// Runs `virt-macvtap`: as the process (`main()`), or in-process with its output captured
/// (`run(_:)`, what most command-line tests use).
public enum VirtMacvtapCLI {
    /// What one in-process run printed and the exit status the process would have had.
    public struct Outcome: Sendable {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
    }

    /// The process's entry point: runs `CommandLine.arguments` and exits with the status.
    public static func main() {
        exitProcess(execute(Array(CommandLine.arguments.dropFirst())))
    }

    /// Runs the tool with `arguments` (without the program name) in this process; what it
    /// writes to standard output and error on this thread is captured, not printed.
    public static func run(_ arguments: [String]) -> Outcome {
        let capture = OutputCapture()
        let status = StandardStream.$capture.withValue(capture) { execute(arguments) }
        return Outcome(status: status, standardOutput: capture.text(of: .output), standardError: capture.text(of: .error))
    }

    /// Parses and runs one command; every error becomes stderr lines and a status here:
    /// `CommandFailure.classify` for ours and the library's, argument-parser's own for usage
    /// (2, not its 64), help and completion scripts (0, on stdout).
    static func execute(_ given: [String]) -> Int32 {
        // The library versions need libvirt loaded; only `--version` pays for that.
        if given == ["--version"] {
            printLine(Versions.summary)
            return 0
        }
        let arguments = connectOptionAfterSubcommand(given)
        StartupWork.begin(arguments)
        defer { StartupWork.finish() }
        do {
            var command = try VirtMacvtap.parseAsRoot(arguments)
            (command as? Lint)?.prefetchSchemas()
            try command.run()
            return 0
        } catch {
            if let (lines, status) = CommandFailure.classify(error) {
                for line in lines { StandardStream.error.write("virt-macvtap: error: \(line)\n") }
                return status
            }
            let message = VirtMacvtap.fullMessage(for: error)
            let code = VirtMacvtap.exitCode(for: error)
            if code == .success {
                if !message.isEmpty { printLine(message) }
                return 0
            }
            if !message.isEmpty { StandardStream.error.write(message + "\n") }
            return code == .validationFailure ? CommandFailure.usageStatus : code.rawValue
        }
    }
}

/// virsh takes `-c URI` before the command (`virsh -c URI attach-device …`); so do we, by
/// moving it behind the subcommand name, where the commands declare it.
func connectOptionAfterSubcommand(_ arguments: [String]) -> [String] {
    guard let first = arguments.first, let width = connectOptionWidth(first), arguments.count > width else {
        return arguments
    }
    let option = arguments[0..<width]
    let rest = arguments[width...]
    return [rest.first!] + option + rest.dropFirst()
}

/// How many arguments a `-c URI` option starting with `argument` takes: 2 for `-c`/`--connect`,
/// 1 for `--connect=URI`, nil when it is not one.
func connectOptionWidth(_ argument: String) -> Int? {
    if argument == "-c" || argument == "--connect" { return 2 }
    return argument.hasPrefix("--connect=") ? 1 : nil
}

func printLine(_ text: String) {
    StandardStream.output.write(text + "\n")
}

func writeStandardOutput(_ bytes: [UInt8]) {
    StandardStream.output.write(bytes)
}
