import FoundationEssentials
import ArgumentParser
import MacvtapKit
import MacvtapSystem

struct Mac: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mac",
        abstract: "Hand out MAC addresses in batches that collide with nothing, and keep a ledger of them.",
        discussion: """
            Every address is unicast, never all-zero, never fe:…, locally administered inside a \
            --prefix (an explicit --range is taken as given), unique in the batch, and unused by \
            any domain (live and inactive XML) or host NIC on each -c connection, by any \
            interface in the --exclude files, and by the ledger. The ledger is an SQLite file \
            ($XDG_STATE_HOME/virt-macvtap/ledger.sqlite, else ~/.local/state/virt-macvtap/ \
            ledger.sqlite) or, for a fleet, a PostgreSQL database (--ledger \
            postgresql://user@host/db, or $VIRT_MACVTAP_LEDGER); each allocation is one \
            transaction, and the database's unique key on the address decides, so concurrent \
            runs never hand out the same address.

            Examples:
              virt-macvtap mac allocate --count 100 -c qemu:///system --exclude domains/
              virt-macvtap mac allocate --count 4 --deterministic web-tier --format json
              virt-macvtap mac check 52:54:00:12:34:56 -c qemu+ssh://root@host2/system
              virt-macvtap mac stats --guests 5000
              virt-macvtap mac allocate --count 10 --ledger postgresql://ipam@db.example/macs
              virt-macvtap mac reconcile -c qemu+ssh://root@hv1/system --exclude domains/ --apply
            """,
        subcommands: [Allocate.self, Reserve.self, Release.self, ListReservations.self, Check.self, Stats.self, Reconcile.self]
    )
}

/// Options every `mac` subcommand shares: the ledger and how long to wait for its lock.
struct LedgerOptions: ParsableArguments {
    @OptionGroup var choice: LedgerChoice

    @Option(name: .long, help: "Seconds to wait for another run's lock on the ledger.")
    var lockTimeout = Seconds(30)

    var location: LedgerLocation { choice.location }

    func open(forWriting: Bool) throws -> (any MACLedger)? {
        try location.open(forWriting: forWriting, lockTimeout: lockTimeout.duration)
    }
}

/// Where else to look for used addresses: hosts and domain files.
struct UsageOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("connect")], help: "A libvirt URI to check against (repeat for a fleet; scanned concurrently).")
    var connect: [String] = []

    @Option(name: .long, help: "A domain XML file or directory (*.xml, recursively) whose MACs are taken.")
    var exclude: [String] = []

    func gather() throws -> MACUsage {
        do {
            return try MACUsage.gather(uris: connect, excludePaths: exclude)
        } catch {
            throw CommandFailure.system(error.description)
        }
    }
}

struct SpaceOptions: ParsableArguments {
    @Option(name: .long, help: "One to five octets to allocate under (default 52:54:00).")
    var prefix: String?

    @Option(name: .long, help: "FIRST-LAST: allocate inside this range instead.")
    var range: String?

    func validate() throws {
        if prefix != nil, range != nil { throw ValidationError("give --prefix or --range, not both") }
    }

    func space() throws -> MACSpace {
        do {
            if let range { return try MACSpace(range: range) }
            if let prefix { return try MACSpace(prefix: prefix) }
            return .qemuDefault
        } catch {
            throw CommandFailure.usage(error.description)
        }
    }
}



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

    struct Reconcile: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reconcile",
            abstract: "Compare the ledger with what the hosts and files really use, and bring it in line.",
            discussion: """
                Reports addresses in use by a guest (on a -c host, a --hosts host, or in an \
                --exclude file) but not reserved; reservations used nowhere for --stale-days \
                days; and addresses used by two different domains (an error, exit 1). With \
                --apply, the unreserved ones are recorded (label reconciled:DOMAIN), and with \
                --apply --release-stale the stale ones are released. A host that cannot be \
                reached is named (exit 3); the others are still compared, and nothing stale is \
                released then. A second run after --apply reports nothing new.

                Examples:
                  virt-macvtap mac reconcile -c qemu+ssh://root@hv1/system -c qemu+ssh://root@hv2/system
                  virt-macvtap mac reconcile --hosts --exclude hosts/ --apply --ledger postgresql://ipam@db/macs
                  virt-macvtap mac reconcile -c qemu:///system --stale-days 90 --apply --release-stale --format json
                """
        )
        @OptionGroup var usage: UsageOptions
        @Flag(name: .long, help: "Also every host with a \"uri\" in .virt-macvtap.json.")
        var hosts = false
        @Option(name: .long, help: "Configuration file for --hosts (default: .virt-macvtap.json found from the current directory up).")
        var config: String?
        @Flag(name: .long, help: "Record the addresses in use and not reserved.")
        var apply = false
        @Flag(name: .long, help: "With --apply: also release the stale reservations.")
        var releaseStale = false
        @Option(name: .long, help: "Reservations unused for this many days are stale.")
        var staleDays = 30
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "Output format.")
        var format: LiveOutputFormat = .text

        func validate() throws {
            if releaseStale, !apply { throw ValidationError("--release-stale goes with --apply") }
            guard staleDays >= 0 else { throw ValidationError("--stale-days must be 0 or more") }
        }

        func run() throws {
            var uris = usage.connect
            if hosts { uris += try configuredHostURIs() }
            let used: MACUsage
            do {
                used = try MACUsage.gather(uris: uris, excludePaths: usage.exclude, toleratingUnreachable: true)
            } catch {
                throw CommandFailure.system(error.description)
            }
            let opened = try ledger.open(forWriting: apply)
            var report = LedgerReconciler.compare(
                usage: used, reservations: try opened?.reservations() ?? [], staleBefore: LedgerReconciler.cutoff(daysAgo: staleDays))
            if apply, let opened {
                report = try LedgerReconciler.apply(
                    report, to: opened, releasingStale: releaseStale, checkedAgainst: used.checkedAgainst.joined(separator: ", "))
            }
            printLine(MACReports.reconciliation(report, ledger: ledger.location.description, applied: apply, json: format == .json))
            for host in report.unreachable {
                StandardStream.error.write("virt-macvtap: error: host \(host) could not be checked; the others were compared\(releaseStale ? ", and nothing stale was released" : "")\n")
            }
            if !report.unreachable.isEmpty { throw CommandFailure.status(CommandFailure.systemStatus) }
            if !report.conflicts.isEmpty { throw CommandFailure.status(CommandFailure.refusedStatus) }
        }

        /// The "uri" of every host in .virt-macvtap.json.
        func configuredHostURIs() throws -> [String] {
            let currentDirectory = FileManager.default.currentDirectoryPath
            let path = config ?? LintConfiguration.discover(from: currentDirectory)
            let loaded: LintConfiguration?
            do {
                loaded = try path.flatMap { try LintConfiguration.load(path: $0) }
            } catch {
                throw CommandFailure.usage("\(error)")
            }
            let uris = (loaded?.hosts ?? [:]).keys.sorted().compactMap { loaded?.hosts[$0]?.uri }
            guard !uris.isEmpty else {
                throw CommandFailure.usage(CommandFailure.hostsNeedURI)
            }
            return uris
        }
    }
}
