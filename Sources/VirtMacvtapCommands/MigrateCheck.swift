import ArgumentParser
import MacvtapKit

struct MigrateCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-check",
        abstract: "Before virsh migrate: check a domain's macvtap NICs against the destination host.",
        discussion: """
            Reads the domain's migratable XML here, rewrites its source devices by --map, and \
            asks the destination's libvirt for its inventory: every source device must exist \
            there, not be wireless and not be held by a passthrough NIC of another domain; no \
            MAC of the domain may be in use there; every network the domain uses must exist \
            there; mixed modes on a device are reported. The lint rules decide, with their ids. \
            Nothing changes on either host.

            Exit codes: 0 ready to migrate; 1 refusals (each on its own line); 2 usage; 3 a host \
            could not be asked.

            Examples:
              virt-macvtap migrate-check vm1 --to qemu+ssh://root@hv-b/system
              virt-macvtap migrate-check vm1 --to qemu+ssh://root@hv-b/system --map eth0=ens1f0 --xml > vm1-hv-b.xml
              virsh migrate --live --persistent vm1 qemu+ssh://root@hv-b/system --xml vm1-hv-b.xml
            """
    )

    @Argument(help: "Domain name, UUID or id (on the source host, -c).")
    var domain: String

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("to"), help: "The destination host's libvirt URI.")
    var destination: String

    @Option(name: .long, help: ArgumentHelp("Rename a source device on the destination (repeatable).", valueName: "SRC=DST"))
    var map: [DeviceMapping] = []

    @Flag(name: .long, help: "Print the migratable XML with the mapping applied (for virsh migrate --xml); checks still decide the exit code.")
    var xml = false

    @Option(name: .long, help: "Output format.")
    var format: LiveOutputFormat = .text

    func validate() throws {
        let sources = map.map(\.source)
        if Set(sources).count != sources.count {
            throw ValidationError("--map names a source device twice; give each SRC once")
        }
        if xml, format == .json {
            throw ValidationError("--xml prints the domain XML; it does not combine with --format json")
        }
    }

    func run() throws {
        // libvirt gives the migratable XML (VIR_DOMAIN_XML_MIGRATABLE) only on a read-write connection.
        let session = try connection.open(readOnly: false)
        let linter = attachLinter()
        let report = try session.checkMigration(
            MigrationCheckRequest(
                domain: domain, destination: destination,
                deviceMap: Dictionary(map.map { ($0.source, $0.destination) }, uniquingKeysWith: { first, _ in first })),
            linter: linter)
        printAdvice(report.notes)
        if xml {
            writeStandardOutput(Array(report.migratableXML.utf8))
        } else if format == .json {
            printLine(LiveReports.json(report))
        } else {
            printLine(LiveReports.text(report))
        }
        guard report.refusals.isEmpty else { throw LiveError.refused(report.notes) }
    }
}
