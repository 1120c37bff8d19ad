import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

extension Mac {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "How big the space is, how full, and the odds that random MACs collide.",
            discussion: """
                Taken = addresses in the space used on the -c hosts, in the --exclude files or \
                reserved in the ledger. The odds are the birthday bound for N guests with random \
                addresses: 1 − exp(−N(N−1)/2S − N·T/S), S usable addresses, T taken.

                Examples:
                  virt-macvtap mac stats --guests 5000
                  virt-macvtap mac stats --prefix 52:54:00:ab --guests 200 -c qemu:///system
                """
        )
        @OptionGroup var spaceOptions: SpaceOptions
        @Option(name: .long, help: "Number of guests for the collision odds.")
        var guests: UInt64 = 1000
        @OptionGroup var usage: UsageOptions
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "Output format.")
        var format: MACReports.Format = .text

        func run() throws {
            let space = try spaceOptions.space()
            var taken = try usage.gather().taken
            let opened = try ledger.open(forWriting: false)
            taken.formUnion(try opened?.reservedMACs() ?? [])
            let inSpace = UInt64(taken.filter { space.contains($0) && space.allows($0.value) }.count)
            printLine(MACReports.statistics(MACReports.Statistics(space: space, taken: inSpace, guests: guests), format: format))
        }
    }
}
