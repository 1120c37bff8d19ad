import ArgumentParser
import MacvtapKit
import MacvtapSystem

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the direct (macvtap) NICs of domains, from their live and persistent XML.",
        discussion: """
            One row per NIC: domain, state, MAC, source device, mode, model, host-side target, \
            alias, and which copies hold it (live+config; live = hot-plugged only, gone at the \
            next restart; config = takes effect at the next start). Uses a read-only connection.

            Examples:
              virt-macvtap list
              virt-macvtap list --all --format json
              virt-macvtap -c qemu+ssh://root@host2/system list vm1 vm2
            """
    )

    @Argument(help: "Domains (name, UUID or id); default: every running domain.")
    var domains: [String] = []

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Include domains that are not running.")
    var all = false

    @Option(name: .long, help: "Output format (text is the table).")
    var format: LiveOutputFormat = .text

    func run() throws {
        let session = try connection.open(readOnly: true)
        let rows = try session.listDirectNICs(domains: domains, all: all)
        printLine(format == .json ? LiveReports.json(rows) : LiveReports.table(rows))
    }
}
