import ArgumentParser
import MacvtapKit
import MacvtapSystem

@main
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
        subcommands: [Attach.self, Detach.self, List.self, SetLink.self, ChangeMode.self, MigrateCheck.self, HostShim.self, Mac.self, Generate.self, GenerateNetwork.self, Edit.self, Lint.self]
    )

    /// ArgumentParser exits with 64 on usage errors; our documented code is 2.
    static func main() {
        // The library versions need libvirt loaded; only `--version` pays for that.
        if CommandLine.arguments.dropFirst() == ["--version"] {
            printLine(Versions.summary)
            return
        }
        let arguments = connectOptionAfterSubcommand(Array(CommandLine.arguments.dropFirst()))
        StartupWork.begin(arguments)
        do {
            var command = try parseAsRoot(Lint.withoutInputs(arguments))
            if var lint = command as? Lint {
                lint.inputs += Lint.inputs(in: arguments)
                command = lint
            }
            try command.run()
        } catch {
            StartupWork.finish()
            // Our errors and the library's: the one mapping to lines and exit statuses.
            CommandFailure.exit(for: error)
            // argument-parser's own (usage): exit 2, not its 64.
            if exitCode(for: error) == .validationFailure {
                StandardStream.error.write(fullMessage(for: error) + "\n")
                exitProcess(CommandFailure.usageStatus)
            }
            exit(withError: error)
        }
        StartupWork.finish()
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
