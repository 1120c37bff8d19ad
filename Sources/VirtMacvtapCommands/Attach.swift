import ArgumentParser
import MacvtapKit
import MacvtapSystem

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
              virt-macvtap attach vm1 --source eth0 --vlan 15 --mode bridge
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
        if shape.vlan != nil, network != nil { throw ValidationError("--vlan goes with --source: a network's guests get the network's devices") }
        for device in source { _ = try shape.sourceDevice(for: device, vlan: shape.vlan) }
        // The values typed are judged here, by the lint rules, so that a bad one is a usage error.
        var judged: Set<RequestedNIC> = []
        for nic in requestedNICs where judged.insert(nic).inserted {
            do {
                _ = try nic.validated()
            } catch {
                throw ValidationError(error.commandLineDescription)
            }
        }
    }

    /// One NIC per --source (or --count on one), or the one on --network.
    var requestedNICs: [RequestedNIC] {
        let explicitMAC = mac.address
        if let network {
            return [
                .network(NetworkInterfaceSpec(network: network, portgroup: portgroup, mac: explicitMAC, model: shape.model, alias: shape.alias))
            ]
        }
        let devices = source.count > 1 ? source : Array(repeating: source.first ?? "", count: count)
        return devices.map { .direct(shape.spec(source: $0, mac: explicitMAC)) }
    }

    func run() throws {
        let explicitMAC = mac.address
        let request = AttachRequest(domain: domain, interfaces: requestedNICs, copies: try scope.copies(persistent: persistent))
        var renderer: InterfaceRenderer?
        if network == nil {
            do {
                renderer = InterfaceRenderer(schema: try SchemaLocator.loadInterfaceSchema())
            } catch {
                throw CommandFailure.system("\(error)")
            }
        }
        // The ledger and the rules are ready while libvirt is still loading (StartupWork); the
        // connection's refusal (permission, daemon down) is still the one reported first.
        let ledgerRead = Result { () throws in
            let ledger = try ledgerOptions.open(forWriting: !dryRun)
            return (ledger, try ledgerOptions.reservedForOthers(in: ledger, domain: domain, explicit: explicitMAC))
        }
        let linter = attachLinter()
        let session = try connection.open(readOnly: dryRun)
        let (ledger, reserved) = try ledgerRead.get()
        let plan = try session.planAttach(request, renderer: renderer, reserved: reserved, linter: linter)
        printAdvice(plan.notes)
        guard plan.refusals.isEmpty else { throw LiveError.refused(plan.notes) }
        if dryRun {
            printDryRun(plan)
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
    /// `--dry-run`: the plan as JSON, or the device XML and one line saying nothing changed.
    func printDryRun(_ plan: AttachPlan) {
        guard format == .text else {
            printLine(LiveReports.json(plan))
            return
        }
        for xml in plan.deviceXML { printLine(xml.hasSuffix("\n") ? String(xml.dropLast()) : xml) }
        printLine("dry run: checks passed; nothing was attached to \(plan.domain) (\(plan.copies)) on \(plan.uri)")
    }
}
