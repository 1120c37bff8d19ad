import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

extension Mac {
    struct Allocate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "allocate",
            abstract: "Reserve N free addresses and print them.",
            discussion: """
                The host and file checks run first; then, inside one ledger transaction, the \
                ledger's reservations are read, the addresses chosen and recorded. A space too \
                small for N is refused before anything is reserved.

                --deterministic KEY: address i (0-based) is SHA-256 of "KEY\\nI", its first 8 \
                bytes (big-endian) modulo the space's size, added to its first address. If that is \
                taken, probe p = 1, 2, … hashes "KEY\\nI\\nP" instead; moved entries are reported \
                (probes > 0 in json/csv, a note on stderr in text).

                Examples:
                  virt-macvtap mac allocate --count 100 -c qemu:///system -c qemu+ssh://root@host2/system
                  virt-macvtap mac allocate --count 16 --range 02:00:00:00:10:00-02:00:00:00:1f:ff --format csv
                  virt-macvtap mac allocate --count 3 --deterministic tenant-42 --label tenant-42 --exclude domains/
                """
        )

        @Option(name: .long, help: "How many addresses.")
        var count: Int

        @OptionGroup var spaceOptions: SpaceOptions
        @Option(name: .long, help: "Derive the addresses from KEY (same KEY and index, same address).")
        var deterministic: String?
        @OptionGroup var usage: UsageOptions
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "A label stored with each reservation.")
        var label: String = ""
        @Option(name: .long, help: "Output format.")
        var format: MACReports.Format = .text
        @OptionGroup var quietFlag: QuietFlag

        func validate() throws {
            guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        }

        func run() throws {
            let space = try spaceOptions.space()
            let used = try usage.gather()
            let allocator = MACAllocator(space: space)
            let mode: AllocationMode = deterministic.map { .deterministic(key: $0) } ?? .random
            guard let opened = try ledger.open(forWriting: true) else { return }
            // Large batches: the phases on one line (choosing is quick, recording takes a while).
            let progress = ProgressLine(quiet: quietFlag.quiet, applies: count > 100_000)
            progress.update("mac allocate: choosing \(count) addresses…")
            defer { progress.finish() }
            let allocated = try opened.allocate(label: label, checkedAgainst: used.checkedAgainst.joined(separator: ", ")) { reserved throws(AllocationError) in
                let chosen = try allocator.allocate(count: count, taken: used.taken.union(reserved), mode: mode)
                progress.update("mac allocate: recording \(chosen.count) addresses in the ledger…")
                return chosen
            }
            if format == .text {
                for entry in allocated where entry.probes > 0 {
                    StandardStream.error.write("virt-macvtap: note: index \(entry.index) moved: its first choice was taken, probe \(entry.probes) gave \(entry.mac)\n")
                }
            }
            printLine(MACReports.allocation(allocated, space: space, ledger: ledger.location.description, label: label, checkedAgainst: used.checkedAgainst, format: format))
        }
    }
}
