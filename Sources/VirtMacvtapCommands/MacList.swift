import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

extension Mac {
    struct ListReservations: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Print the ledger's reservations.",
            discussion: """
                Examples:
                  virt-macvtap mac list
                  virt-macvtap mac list --ledger /srv/macs.sqlite --format csv
                """
        )
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "Output format.")
        var format: MACReports.Format = .text

        func run() throws {
            let opened = try ledger.open(forWriting: false)
            let reservations = try opened?.reservations() ?? []
            printLine(MACReports.reservations(reservations, format: format))
        }
    }
}
