import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

/// `reach`'s output formats.
enum ReachFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, dot, svg
}

struct Reach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reach",
        abstract: "Who reaches whom over macvtap: every pair of guests, the host and the LAN, per host and device.",
        discussion: """
            For each host and lower device (and its VLANs), every ordered pair among the guests' \
            NICs, the host itself and the LAN, with the verdict — reaches, only through a hairpin \
            switch port, never — and the reason in one line (the modes, the device, a shim, a link \
            that is down, another VLAN). From domain and network files (the hosts of \
            .virt-macvtap.json place them), from live hosts (-c: the running domains' live XML; on \
            this machine also its links: bridge-mode macvlan shims and devices that are down), or \
            both. What no file says comes from .virt-macvtap.json: "hairpin": ["eth0"] for switch \
            ports that reflect frames, "shims": ["eth0"] for a remote host's shims (top level, or \
            per host under "hosts"). lint's advice (vepa-needs-hairpin, host-guest-unreachable) \
            follows the same model.

            --format svg draws the graph with Graphviz's dot program (apt install graphviz).

            Examples:
              virt-macvtap reach hosts/hv-a/*.xml
              virt-macvtap reach -c qemu:///system
              virt-macvtap reach --hosts --format json
              virt-macvtap reach domains/ --format svg --output reach.svg
              virt-macvtap reach domains/ --format dot | dot -Tpng > reach.png
            """
    )

    @Argument(help: "Domain and network files, directories (recursive, *.xml) or - for standard input.")
    var inputs: [String] = []

    @Option(name: [.customShort("c"), .long], help: "A libvirt host whose running domains are read (repeatable).")
    var connect: [String] = []

    @Flag(name: .long, help: "Every host of .virt-macvtap.json that has a \"uri\".")
    var hosts = false

    @Option(name: .long, help: "The configuration file (default: .virt-macvtap.json found from here up).")
    var config: String?

    @Option(name: .long, help: "Output format: text (a matrix per device), json, dot (Graphviz) or svg (drawn by Graphviz).")
    var format: ReachFormat = .text

    @Option(name: .long, help: "Write the output to this file (atomically) instead of standard output.")
    var output: String?

    func validate() throws {
        guard !inputs.isEmpty || !connect.isEmpty || hosts else {
            throw ValidationError("give files, -c URI or --hosts: reach needs domains to look at")
        }
    }

    func run() throws {
        var request = ReachRequest(inputs: inputs, currentDirectory: FileManager.default.currentDirectoryPath)
        request.connect = connect
        request.fleetHosts = hosts
        request.configurationPath = config
        let outcome: ReachOutcome
        do {
            outcome = try ReachRun.perform(request)
        } catch {
            if case .input = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.refused(error.description)
        }
        let rendered: String
        switch format {
        case .text: rendered = ReachReports.text(outcome)
        case .json: rendered = ReachReports.json(outcome)
        case .dot: rendered = ReachReports.dot(outcome)
        case .svg:
            do {
                let drawn = try Graphviz.svg(ReachReports.dot(outcome))
                rendered = drawn.svg
                if output != nil { StandardStream.error.write("virt-macvtap: drawn by \(drawn.renderer)\n") }
            } catch {
                throw CommandFailure.system(error.description)
            }
        }
        if let output {
            do {
                try FileIO.replaceAtomically(atPath: output, with: Array((rendered.hasSuffix("\n") ? rendered : rendered + "\n").utf8), creating: true)
            } catch {
                throw CommandFailure.system("\(output): \(error)")
            }
        } else {
            printLine(rendered)
        }
        for line in outcome.unreachableHosts { StandardStream.error.write("virt-macvtap: error: \(line)\n") }
        if !outcome.unreachableHosts.isEmpty { throw CommandFailure.status(CommandFailure.systemStatus) }
    }
}
