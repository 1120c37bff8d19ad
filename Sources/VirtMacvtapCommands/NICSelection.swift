import ArgumentParser
import MacvtapKit

/// `--mac | --target | --alias`: which one NIC of a domain a day-two command changes.
struct NICSelectionOptions: ParsableArguments {
    @Option(name: .long, help: "The NIC with this MAC.")
    var mac: MACAddress?

    @Option(name: .long, help: "The NIC with this host-side name (macvtapN, live XML only).")
    var target: String?

    @Option(name: .long, help: "The NIC with this alias (net1, ua-…).")
    var alias: String?

    func validate() throws {
        guard [mac != nil, target != nil, alias != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("name the NIC with exactly one of --mac, --target or --alias")
        }
    }

    var selector: NICSelector {
        if let mac { return .mac(mac) }
        if let target { return .target(target) }
        return .alias(alias ?? "")
    }
}

/// Prints a set-link / change-mode report and ends with the exit code its steps call for:
/// 0 every step confirmed, 3 libvirt refused a step (nothing is left half-done), 4 a step's
/// effect is not confirmed by the domain XML.
func finish(_ report: NICChangeReport, format: LiveOutputFormat, what: String) throws {
    printAdvice(report.notes)
    printLine(format == .json ? LiveReports.json(report) : LiveReports.text(report))
    guard report.succeeded else {
        let message = "\(what) of \(report.before.mac) on \(report.domain) did not complete; each step is listed above"
        throw report.isUnconfirmed ? CommandFailure.unconfirmed(message) : CommandFailure.system(message)
    }
}
