import ArgumentParser
import MacvtapKit
import MacvtapSystem

struct HostVLAN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host-vlan",
        abstract: "Create the VLAN device DEV.N that puts macvtap guests in VLAN N (and persist it).",
        discussion: """
            A macvtap guest is in VLAN N when its source device is the 802.1Q device DEV.N: the \\
            kernel tags what the guest sends and hands it what arrives tagged N (libvirt's \\
            <vlan> works only in passthrough mode on an SR-IOV VF). This creates DEV.N through \\
            rtnetlink in the network namespace the command runs in, up and without an address; \\
            give guests --vlan N (attach, generate, edit --add-direct, change-mode) or --source \\
            DEV.N. When DEV.N would pass the kernel's 15 bytes, name it with --name (vlanN).

            --persist also writes the configuration that recreates it at boot \\
            (systemd-networkd, NetworkManager or ifupdown; auto detects which). Files are written \\
            atomically and never over a file the tool did not write. --remove deletes exactly \\
            the VLAN device (and files) it recorded making. A kernel without 802.1Q support is \\
            refused in one line, with nothing changed.

            Exit codes: 0 done; 1 refused (device missing, name taken or too long, no 802.1Q in \\
            the kernel, no record to remove); 2 usage; 3 netlink or file error (permission: run \\
            as root).

            Examples:
              virt-macvtap host-vlan eth0 15
              virt-macvtap host-vlan eth0 15 --persist auto --dry-run
              virt-macvtap host-vlan enp3s0f0np0 200 --name vlan200 --persist networkd
              virt-macvtap host-vlan eth0 15 --remove
            """
    )

    @Argument(help: "The device that carries the VLAN (the guests' physical device).")
    var device: String

    @Argument(help: ArgumentHelp("The VLAN id, 1–4094.", valueName: "N"))
    var vlan: VLANID

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The VLAN device's name (default: DEV.N).")
    var name: String?

    @OptionGroup var link: HostLinkOptions

    func run() throws {
        try HostLinkCommand.refuseRemote(connection, command: "host-vlan")
        do {
            let session = try HostShimSession(environment: HostLinkCommand.environment(root: link.root))
            if link.remove {
                let record = try session.findRecord(device: device, name: name, vlanID: vlan.value)
                try HostLinkCommand.remove(record, session: session, dryRun: link.dryRun, what: "VLAN \(vlan.value) on \(record.device)")
                return
            }
            let plan = try session.plan(HostVLANRequest(device: device, id: vlan.value, name: name, persist: link.persist.map(\.stack)))
            HostLinkCommand.show(plan, dryRun: link.dryRun, creating: "VLAN \(vlan.value) on \(plan.device), up, no address")
            if link.dryRun { return }
            let created = try session.create(plan)
            printLine("created \(created.name): VLAN \(vlan.value) on \(plan.device), \(created.mac ?? "?"), \(created.isUp ? "up" : "DOWN")")
            for file in plan.files { printLine("wrote \(file.path)") }
            printLine("guests with source device \(created.name) (--vlan \(vlan.value) on \(plan.device)) are now in VLAN \(vlan.value)")
        } catch {
            throw HostLinkCommand.failure(error)
        }
    }
}
