import ArgumentParser
import MacvtapKit

struct Edit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Add or remove a direct interface in a domain XML file, in place.",
        discussion: """
            Only the lines of the interface change: comments, quoting, attribute order and \
            indentation elsewhere stay byte for byte. The file is replaced atomically (temporary \
            file + rename); on any failure it is left exactly as it was. --dry-run prints a \
            unified diff instead.

            Examples:
              virt-macvtap edit vm1.xml --add-direct --source eth0 --mode bridge
              virt-macvtap edit vm1.xml --add-direct --source eth0 \\
                  --mac 52:54:00:aa:bb:cc --dry-run
              virt-macvtap edit vm1.xml --remove-direct 52:54:00:aa:bb:cc
            """
    )

    @Argument(help: "The domain XML file to change (e.g. from virsh dumpxml --inactive).")
    var file: String

    @Flag(name: .long, help: "Add a direct interface described by the options below.")
    var addDirect = false

    @Option(name: .long, help: "Remove the direct interface with this MAC.")
    var removeDirect: MACAddress?

    @Flag(name: .long, help: "Print a unified diff; do not change the file.")
    var dryRun = false

    @OptionGroup(title: "Interface options (with --add-direct)") var interface: InterfaceOptions
    @OptionGroup var ledgerChoice: LedgerChoice

    func validate() throws {
        guard addDirect != (removeDirect != nil) else {
            throw ValidationError("give exactly one of --add-direct or --remove-direct MAC")
        }
        if removeDirect != nil, interface.source != nil {
            throw ValidationError("--source and the other interface options go with --add-direct")
        }
    }

    func run() throws {
        do {
            let document = try DomainFileEditor.load(path: file)
            let plan =
                if let mac = removeDirect {
                    try DomainFileEditor.planRemove(mac: mac, from: document, path: file)
                } else {
                    try DomainFileEditor.planAdd(try interface.spec(), to: document, path: file, ledger: ledgerChoice.location)
                }
            if dryRun {
                writeStandardOutput(Array(plan.unifiedDiff().utf8))
                return
            }
            try DomainFileEditor.apply(plan)
            printLine(plan.summary)
        } catch DomainEditError.invalidRequest(let error) {
            throw CommandFailure.usage(error.commandLineDescription)
        }
    }
}
