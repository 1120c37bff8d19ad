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

            --addresses adds each NIC's IPv4/IPv6 addresses from this machine's neighbour table \
            (libvirt's domifaddr has none for macvtap guests): the host sees them through a shim \
            on the NIC's device (virt-macvtap host-shim), after it has talked to the guest; \
            --probe first asks every address of the shims' subnets (ARP), which needs root.

            --stale lists the macvtap links no domain owns (left by an interrupted start, or by \
            libvirt 10.0 and older after a device update); --remove-stale deletes those this \
            machine's kernel shows, and nothing else.

            Examples:
              virt-macvtap list
              virt-macvtap list --all --format json
              virt-macvtap -c qemu+ssh://root@host2/system list vm1 vm2
              sudo virt-macvtap list --addresses --probe
              sudo virt-macvtap list --stale --remove-stale
            """
    )

    @Argument(help: "Domains (name, UUID or id); default: every running domain.")
    var domains: [String] = []

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Include domains that are not running.")
    var all = false

    @Option(name: .long, help: "Output format (text is the table).")
    var format: LiveOutputFormat = .text

    @Flag(name: .long, help: "Add each NIC's addresses, from this machine's neighbour table.")
    var addresses = false

    @Flag(name: .long, help: "With --addresses: sweep the subnets of the shims on the NICs' devices first (root).")
    var probe = false

    @Flag(name: .long, help: "List the macvtap links no domain owns instead of NICs.")
    var stale = false

    @Flag(name: .customLong("remove-stale"), help: "With --stale: delete those links (only on this machine).")
    var removeStale = false

    func validate() throws {
        if probe && !addresses { throw ValidationError("--probe goes with --addresses") }
        if removeStale && !stale { throw ValidationError("--remove-stale goes with --stale") }
        if stale && (addresses || all || !domains.isEmpty) {
            throw ValidationError("--stale lists host links, not domains' NICs: give it without domains, --all or --addresses")
        }
    }

    func run() throws {
        let session = try connection.open(readOnly: true)
        if stale {
            let links = try removeStale ? session.removeStaleMacvtaps() : session.staleMacvtaps()
            printLine(format == .json ? LiveReports.json(links) : LiveReports.table(links))
            if links.contains(where: { $0.removal?.hasPrefix("kept") == true }) { throw CommandFailure.status(CommandFailure.refusedStatus) }
            return
        }
        var rows = try session.listDirectNICs(domains: domains, all: all)
        if addresses {
            let neighbours = try GuestAddresses.read(probing: probe ? Set(rows.compactMap(\.nic.source)) : nil)
            rows = rows.map { $0.withAddresses(from: neighbours) }
        }
        printLine(format == .json ? LiveReports.json(rows) : LiveReports.table(rows))
    }
}
