import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

extension Mac {
    struct Reserve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reserve",
            abstract: "Record addresses chosen elsewhere in the ledger (all or nothing).",
            discussion: """
                Refused when any is already reserved, or (with -c / --exclude) in use there.

                Examples:
                  virt-macvtap mac reserve 52:54:00:12:34:56 52:54:00:12:34:57 --label dhcp-pool
                  virt-macvtap mac reserve 52:54:00:aa:bb:cc -c qemu:///system
                """
        )
        @Argument(help: "The addresses.")
        var macs: [MACAddress]
        @OptionGroup var usage: UsageOptions
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "A label stored with each reservation.")
        var label: String = ""

        func run() throws {
            let addresses = macs
            let used = try usage.gather()
            let busy = addresses.filter { used.users[$0] != nil }
            if !busy.isEmpty {
                throw CommandFailure.refused(busy.map { "\($0) is in use by \(used.users[$0]!.joined(separator: "; "))" }.joined(separator: "; ") + "; nothing was reserved")
            }
            guard let opened = try ledger.open(forWriting: true) else { return }
            try opened.reserve(addresses, label: label, checkedAgainst: used.checkedAgainst.joined(separator: ", "))
            printLine("reserved \(Set(addresses).count) address\(Set(addresses).count == 1 ? "" : "es") in \(ledger.location.description)")
        }
    }
}
