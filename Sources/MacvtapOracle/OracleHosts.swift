import MacvtapLibvirt
import MacvtapSystem

/// A libvirt host the oracle asks, and how its sandbox gives a device back its own MAC.
public struct OracleHost: Sendable {
    /// The sandbox's name for the host (`scripts/sandbox reset-uplinks NAME`).
    public var name: String
    public var uri: String

    /// One of the sandbox's hosts (`scripts/sandbox` can give its uplinks their MACs back).
    public var isSandbox: Bool { Self.sandbox.contains { $0.uri == uri } }

    /// Why a case is not put to this host: a sandbox limitation that would hang it.
    public var skip: @Sendable (OracleCase) -> String? = { _ in nil }

    public init(name: String, uri: String, skip: @escaping @Sendable (OracleCase) -> String? = { _ in nil }) {
        self.name = name
        self.uri = uri
        self.skip = skip
    }

    /// libvirt 11.3 waits for lldpad's answer to an 802.1Qbg/Qbh port profile request without a
    /// time limit, and the sandbox has no lldpad: such a start never returns, and its domain stays
    /// locked (libvirt 9.0 gives up at once, and those verdicts are sandbox limitations there).
    static let withoutLLDPad: @Sendable (OracleCase) -> String? = { testCase in
        testCase.documents.contains { $0.contains("802.1Qbg") || $0.contains("802.1Qbh") }
            ? "sandbox limitation: 802.1Qbg/802.1Qbh need lldpad, and libvirt 11.3 waits for it forever; not run" : nil
    }

    /// The sandbox's two hosts: libvirt 9.0 (Debian 12) and `hv2`, libvirt 11.3 (Debian 13).
    public static let sandbox = [
        OracleHost(name: "first", uri: "qemu:///system"),
        OracleHost(name: "hv2", uri: "qemu+tcp://198.51.100.2/system", skip: withoutLLDPad),
    ]

    /// Runs `scripts/sandbox reset-uplinks NAME` from `checkout` (the sandbox knows each uplink's
    /// own MAC); what went wrong, if anything, becomes a harness problem of the case.
    public func sandboxRestorer(checkout: String) -> @Sendable ([String]) -> String? {
        let name = self.name
        return { _ in
            do throws(ChildProcess.Failure) {
                let status = try ChildProcess.run([checkout + "/scripts/sandbox", "reset-uplinks", name])
                return status == 0 ? nil : "scripts/sandbox reset-uplinks \(name) exited with \(status)"
            } catch {
                return error.description
            }
        }
    }
}

/// One host's whole oracle run: its libvirt version, its verdicts and the judged report.
public enum OracleRun {
    /// Asks `host` about every case (verdicts in `saved` are reused, new ones added) and judges
    /// lint's findings for the host's own libvirt release, with the host scanned as `lint -c` would.
    public static func run(
        _ cases: [OracleCase], on host: OracleHost, checkout: String?, jobs: Int, setName: String,
        saved: inout [String: LibvirtVerdict], progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) throws -> ParityReport {
        let connection = try LibvirtConnection(uri: host.uri, readOnly: true)
        let number = try connection.libraryVersion()
        connection.close()
        let version = "\(number / 1_000_000).\(number / 1_000 % 1_000).\(number % 1_000)"
        // The linter first, its schemas (this release's bundled copy) compiled before libvirt is
        // asked: a schema that does not compile fails at once, by name.
        let linter = try Linter(configuration: ParityJudge.lintConfiguration, libvirtRelease: LibvirtRelease(libraryVersion: number))
        Linter.waitForBackgroundWork()
        let oracle = LibvirtOracle(uri: host.uri, restoreDevices: checkout.map { host.sandboxRestorer(checkout: $0) }, skip: host.skip)
        // An interrupted run's domains would otherwise be part of the host lint -c sees.
        try oracle.removeLeftovers()
        let inventory = try HostInventory.scan(uri: host.uri)
        let toAsk = cases.filter { saved[$0.id] == nil }
        for (testCase, verdict) in zip(toAsk, try oracle.run(toAsk, jobs: jobs, progress: progress)) {
            saved[testCase.id] = verdict
        }
        let verdicts = cases.map { saved[$0.id] ?? LibvirtVerdict(documents: [], harnessProblems: ["not run"]) }
        return try ParityReport.build(
            cases: cases, verdicts: verdicts, linter: linter, hosts: [inventory], libvirtVersion: version, setName: setName)
    }
}
