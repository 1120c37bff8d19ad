import ArgumentParser
import MacvtapKit
import MacvtapSystem

/// `-c/--connect`, resolved like virsh: the option, else LIBVIRT_DEFAULT_URI, else qemu:///system.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("connect")], help: "libvirt URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system).")
    var connect: String?

    var uri: String { LibvirtURI.resolve(connect) }

    func open(readOnly: Bool, receivesEvents: Bool = false) throws -> LiveSession {
        return try LiveSession(uri: uri, readOnly: readOnly, receivesEvents: receivesEvents)
    }
}

/// `--live / --config / --current / --persistent`, as in virsh.
struct ScopeFlags: ParsableArguments {
    @Flag(name: .long, help: "Change the running domain.")
    var live = false
    @Flag(name: .long, help: "Change the persistent definition (takes effect at next start).")
    var config = false
    @Flag(name: .long, help: "Live if the domain runs, else config (the default).")
    var current = false

    func options(persistent: Bool = false) -> ScopeOptions {
        ScopeOptions(live: live, config: config, current: current, persistent: persistent)
    }
}

enum LiveOutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// The MACs the ledger holds reserved (none when there is no ledger yet).
func ledgerReservations(_ location: LedgerLocation) throws -> Set<MACAddress> {
    try location.open(forWriting: false)?.reservedMACs() ?? []
}

/// `attach`'s ledger: `--ledger`, or none with `--no-ledger` (said on stderr, because then the
/// MACs it uses are recorded nowhere).
struct AttachLedgerOptions: ParsableArguments {
    @OptionGroup var choice: LedgerChoice

    @Flag(name: .long, help: "Neither read nor record the ledger (when it cannot be reached); the MACs used are recorded nowhere.")
    var noLedger = false

    func validate() throws {
        if noLedger, choice.ledger != nil { throw ValidationError("give --ledger or --no-ledger, not both") }
    }

    /// The ledger to record in (nil with --no-ledger). When it cannot be opened, the error says
    /// how to go on without it.
    func open(forWriting: Bool) throws -> (any MACLedger)? {
        guard !noLedger else { return nil }
        do {
            return try choice.location.open(forWriting: forWriting)
        } catch {
            if error.isRefusal { throw error }
            throw CommandFailure.system("\(error); to attach without recording the MAC, give --no-ledger")
        }
    }

    /// What the ledger holds, less an explicit MAC reserved for this very domain (the usual
    /// `mac allocate --label DOMAIN`, then `attach DOMAIN --mac …`): that one is no conflict.
    func reservedForOthers(in ledger: (any MACLedger)?, domain: String, explicit: MACAddress?) throws -> Set<MACAddress> {
        guard let ledger else { return [] }
        var reserved = try ledger.reservedMACs()
        if let explicit, try ledger.reservations(of: [explicit]).contains(where: { $0.label == domain }) { reserved.remove(explicit) }
        return reserved
    }

    func record(_ macs: [MACAddress], domain: String, uri: String, in ledger: (any MACLedger)?) throws -> [MACAddress] {
        guard let ledger else {
            StandardStream.error.write("virt-macvtap: note: --no-ledger: \(macs.map(\.description).joined(separator: ", ")) not recorded in any ledger\n")
            return []
        }
        do {
            return try LiveLedger.record(macs, domain: domain, uri: uri, in: ledger)
        } catch {
            if case .alreadyReserved = error {
                throw CommandFailure.refused("\(error.description) (another client recorded it after the checks); nothing was attached; run it again")
            }
            throw error
        }
    }

    /// Gives back what a failed attach recorded and did not use; a failure here is a warning,
    /// because the attach's own outcome is the error to report.
    func giveBack(_ macs: [MACAddress], to ledger: (any MACLedger)?) {
        guard let ledger, !macs.isEmpty else { return }
        do {
            _ = try ledger.release(macs)
        } catch {
            StandardStream.error.write("virt-macvtap: warning: \(macs.map(\.description).joined(separator: ", ")) could not be released from the ledger: \(error)\n")
        }
    }
}

/// The linter the live commands' preflights use (`lint -c`'s rules; see `Linter.attachConfiguration`).
func attachLinter() throws -> Linter {
    do {
        return try Linter(configuration: Linter.attachConfiguration)
    } catch {
        throw CommandFailure.usage(error.description)
    }
}

func printAdvice(_ notes: [PreflightNote]) {
    for note in notes where note.kind == .advice {
        StandardStream.error.write("virt-macvtap: warning: \(note)\n")
    }
}


struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Hot-plug macvtap NICs into a domain through libvirt, and confirm them in its XML.",
        discussion: """
            Before anything changes, the domain, the source device (asked of libvirt, so remote \
            URIs work), the MACs of every domain and host NIC on the connection, passthrough and \
            mode conflicts, and the lint rules are checked. Each NIC is then attached with \
            virDomainAttachDeviceFlags and looked up in the domain XML; the report shows what \
            the XML shows (macvtapN, alias, PCI address). With several NICs (--count, or --source \
            given more than once) it is all or nothing: after a failure the NICs this call \
            attached are detached again and the state of each is listed.

            The MACs are recorded in the ledger (--ledger, else $VIRT_MACVTAP_LEDGER, else the \
            SQLite file; label: the domain) before the first change; what a failed attach \
            recorded and did not use is released again. --no-ledger attaches without reading or \
            recording any ledger.

            Exit codes: 0 attached; 1 refused by the checks; 2 usage; 3 libvirt error (daemon \
            down, permission, libvirt rejected it); 4 not confirmed in the domain XML.

            Examples:
              virt-macvtap attach vm1 --source eth0 --mode vepa
              virt-macvtap attach vm1 --source eth0 --mode bridge --mac auto --live --config
              virt-macvtap attach web01 --source eth0 --source eth1 --mode bridge --persistent
              virt-macvtap attach vm2 --source eth0 --count 4 --dry-run --format json
              virt-macvtap attach vm1 --source eth0 --ledger postgresql://ipam@db.example/macs
              virt-macvtap -c qemu+ssh://root@host2/system attach vm3 --source enp3s0f0v1 \\
                  --mode passthrough
              virt-macvtap attach vm1 --network lan --live --config
            """
    )

    @Argument(help: "Domain name, UUID or id.")
    var domain: String

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "Host network device under the macvtap (repeat for one NIC on each).")
    var source: [String] = []

    @Option(name: .long, help: "A libvirt network instead of --source: <interface type='network'>; the network chooses the device and mode (a macvtap network's forward mode).")
    var network: String?

    @Option(name: .long, help: "With --network: the network's portgroup.")
    var portgroup: String?

    @Option(name: .long, help: "MAC address, or auto (default): a free one under 52:54:00 from the MAC allocator, checked against every domain and NIC on the host and the ledger's reservations.")
    var mac: MACChoice = .auto

    @OptionGroup var shape: InterfaceShapeOptions

    @OptionGroup var scope: ScopeFlags

    @Flag(name: .long, help: "Change the persistent definition, and the running domain if it runs.")
    var persistent = false

    @Option(name: .long, help: "How many NICs to attach on the source device (each with its own MAC).")
    var count: Int = 1

    @Flag(name: .long, help: "Run the checks and print the XML; change nothing.")
    var dryRun = false

    @Option(name: .long, help: "Output format.")
    var format: LiveOutputFormat = .text

    @Option(name: .long, help: "Seconds to wait for each rollback detach.")
    var timeout = Seconds(10)

    @OptionGroup var ledgerOptions: AttachLedgerOptions

    @OptionGroup var quietFlag: QuietFlag

    func validate() throws {
        if network != nil {
            guard source.isEmpty, count == 1, shape.target == nil else {
                throw ValidationError("--network attaches one NIC whose device the network chooses: leave out --source, --count and --target")
            }
        } else if portgroup != nil {
            throw ValidationError("--portgroup goes with --network")
        }
        guard !source.isEmpty || network != nil else {
            throw ValidationError("--source is required: name the host device, e.g. --source eth0 (or give --network NAME)")
        }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        if count > 1, source.count > 1 {
            throw ValidationError("give either --count N or several --source, not both")
        }
        if mac != .auto, count > 1 || source.count > 1 {
            throw ValidationError("--mac names one address; use --mac auto (the default) for several NICs")
        }
        if count > 1 || source.count > 1, shape.target != nil || shape.alias != nil {
            throw ValidationError("--target and --alias name one NIC; leave them out when attaching several")
        }
    }

    func run() throws {
        let explicitMAC = mac.address
        if let network {
            try attachThroughNetwork(network, mac: explicitMAC)
            return
        }
        let devices = source.count > 1 ? source : Array(repeating: source[0], count: count)
        let request = AttachRequest(
            domain: domain, interfaces: devices.map { shape.spec(source: $0, mac: explicitMAC) },
            scope: scope.options(persistent: persistent))
        let renderer: InterfaceRenderer
        do {
            renderer = InterfaceRenderer(schema: try SchemaLocator.loadInterfaceSchema())
        } catch {
            throw CommandFailure.system("\(error)")
        }
        // libvirt first: its refusal (permission, daemon down) is the one to report.
        let session = try connection.open(readOnly: dryRun)
        let ledger = try ledgerOptions.open(forWriting: !dryRun)
        let reserved = try ledgerOptions.reservedForOthers(in: ledger, domain: domain, explicit: explicitMAC)
        let linter = try attachLinter()
        let plan = try session.planAttach(request, renderer: renderer, reserved: reserved, linter: linter)
        printAdvice(plan.notes)
        guard plan.refusals.isEmpty else { throw LiveError.refused(plan.notes) }
        if dryRun {
            if format == .json {
                printLine(LiveReports.json(plan))
            } else {
                for xml in plan.deviceXML { printLine(xml.hasSuffix("\n") ? String(xml.dropLast()) : xml) }
                printLine("dry run: checks passed; nothing was attached to \(plan.domain) (\(plan.copies)) on \(plan.uri)")
            }
            return
        }
        let recorded = try ledgerOptions.record(plan.interfaces.map(\.mac), domain: plan.domain, uri: plan.uri, in: ledger)
        let report: AttachReport
        do {
            let progress = ProgressLine(quiet: quietFlag.quiet, applies: plan.interfaces.count > 4)
            defer { progress.finish() }
            report = try session.attach(plan, detachTimeout: timeout.duration) { index in
                progress.update("attached \(index + 1)/\(plan.interfaces.count) NICs")
            }
        } catch {
            // Nothing is known to be attached (the session failed before any NIC's outcome).
            ledgerOptions.giveBack(recorded, to: ledger)
            throw error
        }
        ledgerOptions.giveBack(LiveLedger.unused(recorded, after: report), to: ledger)
        printLine(format == .json ? LiveReports.json(report) : LiveReports.text(report))
        if let failure = report.failure {
            let unconfirmed = report.entries.contains {
                if case .unknown = $0.state { return true }
                if case .stillAttached = $0.state { return true }
                return false
            }
            let message = "attach failed: \(failure); \(report.entries.count == 1 ? "the NIC's state is" : "each NIC's state is") listed above"
            throw unconfirmed ? CommandFailure.unconfirmed(message) : CommandFailure.system(message)
        }
    }
}

extension Attach {
    /// `--network NAME`: one `<interface type='network'>`, checked, attached and confirmed.
    func attachThroughNetwork(_ network: String, mac: MACAddress?) throws {
        let request = NetworkAttachRequest(
            domain: domain,
            interface: NetworkInterfaceSpec(network: network, portgroup: portgroup, mac: mac, model: shape.model, alias: shape.alias),
            scope: scope.options(persistent: persistent))
        // libvirt first: its refusal (permission, daemon down) is the one to report.
        let session = try connection.open(readOnly: dryRun)
        let ledger = try ledgerOptions.open(forWriting: !dryRun)
        let reserved = try ledgerOptions.reservedForOthers(in: ledger, domain: domain, explicit: mac)
        let linter = try attachLinter()
        let plan = try session.planNetworkAttach(request, reserved: reserved, linter: linter)
        printAdvice(plan.notes)
        guard plan.refusals.isEmpty else { throw LiveError.refused(plan.notes) }
        if dryRun {
            if format == .json {
                printLine(LiveReports.json(plan))
            } else {
                printLine(plan.deviceXML.hasSuffix("\n") ? String(plan.deviceXML.dropLast()) : plan.deviceXML)
                printLine("dry run: checks passed; nothing was attached to \(plan.domain) (\(plan.copies)) on \(plan.uri)")
            }
            return
        }
        let recorded = try ledgerOptions.record([plan.mac], domain: plan.domain, uri: plan.uri, in: ledger)
        let report: NetworkAttachReport
        do {
            report = try session.attachNetwork(plan)
        } catch {
            ledgerOptions.giveBack(recorded, to: ledger)
            throw error
        }
        if case .notAttached = report.state { ledgerOptions.giveBack(recorded, to: ledger) }
        printLine(format == .json ? LiveReports.json(report) : LiveReports.text(report))
        if !report.succeeded {
            throw CommandFailure.unconfirmed("attach of \(report.mac) through network \(network) not confirmed: \(report.state)")
        }
    }
}

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
            domain: domain, selector: selector, all: all, scope: scope.options(persistent: persistent),
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

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the direct (macvtap) NICs of domains, from their live and persistent XML.",
        discussion: """
            One row per NIC: domain, state, MAC, source device, mode, model, host-side target, \
            alias, and which copies hold it (live+config; live = hot-plugged only, gone at the \
            next restart; config = takes effect at the next start). Uses a read-only connection.

            Examples:
              virt-macvtap list
              virt-macvtap list --all --format json
              virt-macvtap -c qemu+ssh://root@host2/system list vm1 vm2
            """
    )

    @Argument(help: "Domains (name, UUID or id); default: every running domain.")
    var domains: [String] = []

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Include domains that are not running.")
    var all = false

    @Option(name: .long, help: "Output format: table or json.")
    var format: ListFormat = .table

    enum ListFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    func run() throws {
        let session = try connection.open(readOnly: true)
        let rows = try session.listDirectNICs(domains: domains, all: all)
        printLine(format == .json ? LiveReports.json(rows) : LiveReports.table(rows))
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
