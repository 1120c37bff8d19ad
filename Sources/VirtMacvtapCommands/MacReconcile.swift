import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

extension Mac {
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
        var format: MACReports.Format = .text

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
            printLine(MACReports.reconciliation(report, ledger: ledger.location.description, applied: apply, format: format))
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
