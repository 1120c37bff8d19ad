import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

extension Mac {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Tell whether addresses are free, and where each is used.",
            discussion: """
                Exit code 0 when all are free, 1 when one is in use (which domain on which host, \
                which file, which ledger label).

                Examples:
                  virt-macvtap mac check 52:54:00:12:34:56 -c qemu:///system --exclude domains/
                  virt-macvtap mac check 52:54:00:12:34:56 52:54:00:12:34:57 --format json
                """
        )
        @Argument(help: "The addresses.")
        var macs: [MACAddress]
        @OptionGroup var usage: UsageOptions
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "Output format.")
        var format: MACReports.Format = .text

        func run() throws {
            let addresses = macs
            let used = try usage.gather()
            let opened = try ledger.open(forWriting: false)
            let reservations = try opened?.reservations(of: addresses) ?? []
            let results = addresses.map { mac in
                (mac: mac, users: (used.users[mac] ?? []) + reservations.filter { $0.mac == mac }.map { "ledger \(ledger.location.description) (label '\($0.label)', \($0.reservedAt))" })
            }
            printLine(MACReports.check(results, format: format))
            if results.contains(where: { !$0.users.isEmpty }) { throw CommandFailure.status(CommandFailure.refusedStatus) }
        }
    }
}
