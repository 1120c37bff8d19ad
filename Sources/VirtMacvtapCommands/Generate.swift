import ArgumentParser
import MacvtapKit

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Print <interface type='direct'> (or, with --network, type='network') XML ready for virsh attach-device.",
        discussion: """
            Each element is built with libxml2 and checked against Schemas/interface-direct.rng \
            before it is printed. Without --mac, each interface gets a random locally administered \
            unicast MAC under 52:54:00 from the MAC allocator (never one reserved in the ledger, \
            see `virt-macvtap mac`); --count N prints N interfaces with distinct MACs (one \
            element each: virsh attach-device takes one element per file).

            Examples:
              virt-macvtap generate --source eth0 --mode bridge > nic.xml
              virsh attach-device vm1 nic.xml --live --config
              virt-macvtap generate --source eth1 --mode passthrough \\
                  --mac 52:54:00:12:34:56
              virt-macvtap generate --source eth0 --count 3
              virt-macvtap generate --source eth0 --vlan 15 --mode bridge
              virt-macvtap generate --network lan --portgroup web
            """
    )

    @OptionGroup var interface: InterfaceOptions
    @OptionGroup var ledgerChoice: LedgerChoice

    @Option(name: .long, help: "A libvirt network instead of --source: <interface type='network'>; the network chooses the device and mode.")
    var network: String?

    @Option(name: .long, help: "With --network: the network's portgroup.")
    var portgroup: String?

    @Option(name: .long, help: "How many interfaces to print, each with its own MAC.")
    var count: Int = 1

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        if count > 1, interface.mac != nil {
            throw ValidationError("--mac names one address; leave it out to get --count distinct ones")
        }
        if count > 1, interface.target != nil || interface.alias != nil {
            throw ValidationError("--target and --alias name one interface; leave them out with --count")
        }
        if network != nil, interface.source != nil || interface.target != nil {
            throw ValidationError("--network replaces --source (the network picks the device); --target is the network's too")
        }
        if portgroup != nil, network == nil {
            throw ValidationError("--portgroup goes with --network")
        }
    }

    func run() throws {
        if let network {
            try printNetworkInterfaces(network)
            return
        }
        let request = try interface.spec()
        let spec: DirectInterfaceSpec
        do {
            spec = try request.validated()
        } catch {
            throw CommandFailure.usage(error.commandLineDescription)
        }
        let renderer: InterfaceRenderer
        do {
            renderer = InterfaceRenderer(schema: try SchemaLocator.loadInterfaceSchema())
        } catch {
            throw CommandFailure.system(error.description)
        }
        let macs = try macs(given: spec.mac)
        var output: [UInt8] = []
        for mac in macs {
            do {
                output += try renderer.render(spec.with(mac: mac))
            } catch {
                throw CommandFailure.refused(error.description)
            }
        }
        writeStandardOutput(output)
    }

    /// The MAC given, else `count` free random ones (never one the ledger holds).
    func macs(given mac: MACAddress?) throws -> [MACAddress] {
        if let mac { return [mac] }
        return try MACAllocator.freeQEMUAddresses(count: count, excluding: [], ledger: ledgerChoice.location)
    }

    /// `--network NAME`: `<interface type='network'>`, built with libxml2 from checked values.
    func printNetworkInterfaces(_ network: String) throws {
        let spec: NetworkInterfaceSpec
        do {
            spec = try NetworkInterfaceSpec(
                network: network, portgroup: portgroup, mac: interface.mac, model: interface.shape.model, alias: interface.alias
            ).validated()
        } catch {
            throw CommandFailure.usage(error.commandLineDescription)
        }
        let macs = try macs(given: spec.mac)
        var output: [UInt8] = []
        for mac in macs {
            do {
                output += try spec.with(mac: mac).rendered()
            } catch {
                throw CommandFailure.usage(error.description)
            }
        }
        writeStandardOutput(output)
    }
}
