import ArgumentParser
import MacvtapKit
import MacvtapSystem

struct HostShim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host-shim",
        abstract: "Let this host reach its own macvtap guests: a macvlan in bridge mode on their device, with an address.",
        discussion: """
            A macvtap's lower device never hands the guest's frames to the host itself, so the \
            host cannot reach guests on its own NIC. A macvlan in bridge mode on the same device \
            (the shim), with an address in the guests' subnet, can: it reaches every guest whose \
            macvtap on that device is in bridge mode. VEPA guests answer only through a switch \
            port with hairpin (reflective relay); private ones never do.

            The shim is created through rtnetlink in the network namespace the command runs in, \
            on this host only. --persist also writes the configuration that recreates it at \
            boot (systemd-networkd, NetworkManager or ifupdown; auto detects which; netplan has \
            no macvlan type, so networkd files are written). Files are written atomically and \
            never over a file the tool did not write. --remove deletes exactly the shim (and \
            files) it recorded making.

            Exit codes: 0 done; 1 refused (device missing, wireless, itself a macvlan/macvtap, \
            name taken, address already on the host, no record to remove); 2 usage; 3 netlink \
            or file error (permission: run as root).

            Examples:
              virt-macvtap host-shim eth0 --address 192.0.2.2/24
              virt-macvtap host-shim eth0 --address 192.0.2.2/24 --persist auto --dry-run
              virt-macvtap host-shim enp3s0 --address 10.0.0.5/24 --name mvhost0 --persist networkd
              virt-macvtap host-shim eth0 --remove
            """
    )

    @Argument(help: "The device the guests' macvtaps sit on.")
    var device: String

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: ArgumentHelp("The host's address on the shim, with prefix length.", valueName: "CIDR"))
    var address: String?

    @Option(name: .long, help: "The shim's name (default: mv-DEV).")
    var name: String?

    @OptionGroup var link: HostLinkOptions

    func validate() throws {
        if link.remove {
            if address != nil {
                throw ValidationError("--remove takes the device (and --name); the address and files come from the record")
            }
        } else if address == nil {
            throw ValidationError("--address is required: the host's address in the guests' subnet, e.g. --address 192.0.2.2/24")
        }
    }

    func run() throws {
        try HostLinkCommand.refuseRemote(connection, command: "host-shim")
        do {
            let session = try HostShimSession(environment: HostLinkCommand.environment(root: link.root))
            if link.remove {
                let record = try session.findRecord(device: device, name: name)
                try HostLinkCommand.remove(record, session: session, dryRun: link.dryRun, what: "macvlan on \(record.device), \(record.address)")
                return
            }
            let plan = try session.plan(HostShimRequest(device: device, address: address ?? "", name: name, persist: link.persist.map(\.stack)))
            HostLinkCommand.show(plan, dryRun: link.dryRun, creating: "macvlan in bridge mode on \(plan.device), address \(plan.address), up")
            if link.dryRun { return }
            let created = try session.create(plan)
            printLine("created \(created.name): macvlan in bridge mode on \(plan.device), \(created.mac ?? "?"), address \(plan.address), \(created.isUp ? "up" : "DOWN")")
            for file in plan.files { printLine("wrote \(file.path)") }
            printLine("guests in bridge mode on \(plan.device) are now reachable from this host; vepa guests only through a switch port with hairpin (reflective relay), private guests never")
        } catch {
            throw HostLinkCommand.failure(error)
        }
    }
}

/// The options `host-shim` and `host-vlan` share: boot-time files, where they go, a dry run,
/// and removal by record.
struct HostLinkOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Also write boot-time configuration.", valueName: "auto|networkd|networkmanager|ifupdown"))
    var persist: PersistChoice?

    @Option(name: .long, help: ArgumentHelp("With --persist: write the boot-time files under DIR instead of / (a host image being prepared, a chroot).", valueName: "DIR"))
    var root: String?

    @Flag(name: .long, help: "Print what would change; change nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Delete the link this tool made on DEV (and its files), as its record says.")
    var remove = false

    func validate() throws {
        if remove, persist != nil || root != nil {
            throw ValidationError("--remove takes the device (and --name); the files come from the record")
        }
        if root != nil, persist == nil { throw ValidationError("--root says where --persist writes its files; give --persist too") }
    }
}

/// What `host-shim` and `host-vlan` share: they change this host only, write their files under
/// `--root`, remove by record, print a plan's files on a dry run, and map the library's errors.
enum HostLinkCommand {
    static func refuseRemote(_ connection: ConnectionOptions, command: String) throws {
        if let uri = connection.connect, let host = LibvirtURI.remoteHost(uri) {
            throw CommandFailure.refused("\(command) changes the host it runs on, not \(host); run it there (ssh \(host) virt-macvtap \(command) …)")
        }
    }

    static func environment(root: String?) -> HostShimEnvironment {
        var environment = HostShimEnvironment.standard()
        if let root { environment.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root }
        return environment
    }

    /// Deletes what `record` says was made (or says what it would, on a dry run).
    static func remove(_ record: HostShimRecord, session: HostShimSession, dryRun: Bool, what: String) throws(HostShimError) {
        if dryRun {
            printLine("dry run: would delete link \(record.name) (\(what))")
            for file in record.files { printLine("dry run: would remove \(file)") }
            return
        }
        for line in try session.remove(record) { printLine(line) }
    }

    /// The plan's notes on stderr and, on a dry run, what would be made and written.
    static func show(_ plan: HostShimPlan, dryRun: Bool, creating what: String) {
        for note in plan.notes { StandardStream.error.write("virt-macvtap: note: \(note)\n") }
        guard dryRun else { return }
        printLine("dry run: would create \(plan.name): \(what)")
        for file in plan.files {
            printLine("dry run: would write \(file.path) (mode \(String(file.mode, radix: 8))):")
            printLine(file.content.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
        }
    }

    static func failure(_ error: HostShimError) -> CommandFailure {
        switch error {
        case .refused(let message): .refused(message)
        default: .system(error.description)
        }
    }
}
