import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

extension Mac {
    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract: "Remove addresses from the ledger.",
            discussion: """
                Exit code 1 when one of them was not reserved (the others are still released).

                Example:
                  virt-macvtap mac release 52:54:00:12:34:56
                """
        )
        @Argument(help: "The addresses.")
        var macs: [MACAddress]
        @OptionGroup var ledger: LedgerOptions

        func run() throws {
            let addresses = macs
            guard let opened = try ledger.open(forWriting: true) else { return }
            let released = try opened.release(addresses)
            printLine("released \(released.count) address\(released.count == 1 ? "" : "es") from \(ledger.location.description)")
            let unknown = addresses.filter { !released.contains($0) }
            if !unknown.isEmpty {
                throw CommandFailure.refused("not reserved: \(unknown.map(\.description).joined(separator: ", "))")
            }
        }
    }
}
