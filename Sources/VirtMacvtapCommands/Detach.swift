import ArgumentParser
import MacvtapKit
import MacvtapSystem

struct Detach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Hot-unplug macvtap NICs from a domain, and wait until the guest has released them.",
        discussion: """
            A live detach is only a request: the guest has to acknowledge the PCI unplug. This \
            command listens for libvirt's device-removed (and removal-failed) events, waits up \
            to --timeout seconds, then reads the live XML again; it reports success only when the \
            NIC is gone from it. A guest without a running OS that handles ACPI hot-unplug never \
            releases the NIC: that ends with exit code 4, not with "Device detached successfully". \
            --release gives each detached NIC's MAC back to the ledger once no copy of the domain \
            holds it.

            Exit codes: 0 detached; 1 refused (no match, ambiguous match, not a direct NIC); \
            2 usage; 3 libvirt error; 4 not confirmed (timed out, refused by the guest).

            Examples:
              virt-macvtap detach vm1 --mac 52:54:00:12:34:56
              virt-macvtap detach vm1 --target macvtap0 --timeout 30
              virt-macvtap detach vm1 --source eth0 --all --live --config
              virt-macvtap detach vm1 --alias ua-uplink --config
              virt-macvtap detach vm1 --mac 52:54:00:12:34:56 --persistent --release
            """
    )

    @Argument(help: "Domain name, UUID or id.")
    var domain: String

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The NIC with this MAC.")
    var mac: MACAddress?

    @Option(name: .long, help: "The NIC with this host-side name (macvtapN).")
    var target: String?

    @Option(name: .long, help: "The NIC with this alias (net1, ua-…).")
    var alias: String?

    @Option(name: .long, help: "The NIC on this source device.")
    var source: String?

    @Flag(name: .long, help: "With --source: every NIC on that device.")
    var all = false

    @OptionGroup var scope: ScopeFlags

    @Flag(name: .long, help: "Both the running domain and the persistent definition.")
    var persistent = false

    @Option(name: .long, help: "Seconds to wait for the guest to release each NIC.")
    var timeout = Seconds(10)

    @Option(name: .long, help: "Output format.")
    var format: LiveOutputFormat = .text

    @Flag(name: .long, help: "Release each detached NIC's MAC from the ledger, once no copy of the domain holds it.")
    var release = false

    @OptionGroup var ledgerChoice: LedgerChoice

    func validate() throws {
        if ledgerChoice.ledger != nil, !release { throw ValidationError("--ledger goes with --release") }
        let given = [mac != nil, target != nil, alias != nil, source != nil].filter { $0 }.count
        guard given == 1 else {
            throw ValidationError("name the NIC with exactly one of --mac, --target, --alias or --source")
        }
        if all, source == nil { throw ValidationError("--all goes with --source") }
    }

    func run() throws {
        let selector: NICSelector =
            if let mac { .mac(mac) } else if let target { .target(target) } else if let alias { .alias(alias) } else { .source(source!) }
        let request = DetachRequest(
            domain: domain, selector: selector, all: all, copies: try scope.copies(persistent: persistent),
            timeout: timeout.duration)
        let session = try connection.open(readOnly: false, receivesEvents: true)
        let report = try session.detach(request)
        printLine(format == .json ? LiveReports.json(report) : LiveReports.text(report))
        if release { try releaseFromLedger(report, session: session) }
        if !report.succeeded {
            // Timed out, refused by the guest, or the connection lost while waiting: the request
            // may still take effect, so this is "not confirmed" (4), like an attach left unknown.
            throw CommandFailure.unconfirmed(
                "detach of \(report.entries.filter { !$0.result.isRemoved }.map(\.nic.mac).joined(separator: ", ")) from \(report.domain) not confirmed")
        }
    }
}

extension Detach {
    /// `--release`: the MACs the detach confirmed gone, and that neither copy of the domain
    /// still holds (a `--live` detach leaves the persistent one), leave the ledger.
    func releaseFromLedger(_ report: DetachReport, session: LiveSession) throws {
        let remaining = try session.listDirectNICs(domains: [report.domain], all: true)
        let gone = LiveLedger.released(by: report, remaining: remaining)
        let kept = report.entries.compactMap { MACAddress($0.nic.mac) }.filter { !gone.contains($0) }
        if !kept.isEmpty {
            StandardStream.error.write("virt-macvtap: note: \(kept.map(\.description).joined(separator: ", ")) kept in the ledger: the domain still holds it, or its removal is not confirmed\n")
        }
        guard !gone.isEmpty, let ledger = try ledgerChoice.location.open(forWriting: true) else { return }
        let released = try ledger.release(gone)
        StandardStream.error.write("virt-macvtap: released \(released.map(\.description).joined(separator: ", ")) from ledger \(ledger.location)\n")
    }
}
