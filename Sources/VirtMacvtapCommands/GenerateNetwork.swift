import ArgumentParser
import MacvtapKit

struct GenerateNetwork: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-network",
        abstract: "Print a libvirt <network> whose guests get macvtaps (forward mode bridge, vepa, private or passthrough).",
        discussion: """
            A macvtap network is a pool of host devices with one mode: guests name the network \
            (<interface type='network'>, see `generate --network`) and libvirt picks a device \
            from the pool (in passthrough mode, each guest takes a device of its own). Built \
            with libxml2, checked against libvirt's installed network.rng and by the network \
            lint rules before it is printed.

            Examples:
              virt-macvtap generate-network lan --mode bridge --dev eth0 > lan.xml
              virsh net-define lan.xml && virsh net-start lan && virsh net-autostart lan
              virt-macvtap generate-network sriov --mode passthrough --dev enp3s0f0v1 --dev enp3s0f0v2
              virt-macvtap generate-network sriov --mode passthrough --pf enp3s0f0
            """
    )

    @Argument(help: "The network's name.")
    var name: String

    @Option(name: .long, help: ArgumentHelp("The guests' macvtap mode.", valueName: "bridge|vepa|private|passthrough"))
    var mode: MacvtapMode

    @Option(name: .long, help: "A host device of the pool (repeatable).")
    var dev: [String] = []

    @Option(name: .long, help: "Passthrough only: an SR-IOV physical function whose VFs are the pool.")
    var pf: String?

    func run() throws {
        let spec: MacvtapNetworkSpec
        do {
            spec = try MacvtapNetworkSpec(name: name, mode: mode, devices: dev, physicalFunction: pf).validated()
        } catch {
            throw CommandFailure.usage(error.field == .poolDevice && error.value.isEmpty ? "give the pool: --dev DEV (repeatable) or, in passthrough mode, --pf DEV" : error.commandLineDescription)
        }
        do {
            writeStandardOutput(try spec.rendered())
        } catch {
            throw CommandFailure.refused(error.description)
        }
    }
}
