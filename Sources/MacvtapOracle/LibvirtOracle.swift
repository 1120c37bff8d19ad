import Dispatch
public import MacvtapLibvirt
import MacvtapXML
import Synchronization

/// What libvirt did with one document of a case, phase by phase.
public struct DocumentVerdict: Sendable, Hashable, Codable {
    /// virDomainDefineXMLFlags with no flags refused it: libvirt's message.
    public var defineError: String?
    /// Defined without flags, refused with VIR_DOMAIN_DEFINE_VALIDATE (libvirt's RelaxNG check).
    public var validateError: String?
    /// Defined, then refused to start (QEMU under TCG, macvtaps really created).
    public var startError: String?
    /// Each `<interface>` hot-plugged (AFFECT_LIVE) into the same domain started without its
    /// interfaces: nil where the attach worked, else libvirt's message.
    public var hotplugErrors: [String?] = []
    /// What the persistent XML read back lost or changed in the interfaces (and the DOCTYPE).
    public var rewrites: [String] = []

    public var isDefined: Bool { defineError == nil }
    public var failedAtStartOrHotplug: Bool { startError != nil || hotplugErrors.contains { $0 != nil } }
    /// Every refusal message, for the catalogue of messages seen.
    public var messages: [String] {
        [defineError, validateError, startError].compactMap { $0 } + hotplugErrors.compactMap { $0 }
    }
}

/// libvirt's answer to a whole case.
public struct LibvirtVerdict: Sendable, Hashable, Codable {
    public var documents: [DocumentVerdict]
    /// Problems of the harness itself (cleanup failed, daemon gone): the case is not judged.
    public var harnessProblems: [String] = []
    /// Why the case was not put to this host at all (a sandbox limitation that would hang it).
    public var notRun: String?
}

/// Asks a real libvirtd (the sandbox's, `qemu:///system`) what it does with each case: define,
/// define with validation, start, hot-plug, and the XML read back. Everything it defines is
/// named `oracle-…`, destroyed and undefined again; leftovers of an interrupted run are removed
/// first. Cases run side by side, but never two at once that use the same MAC, host-side name or
/// passthrough device: the kernel would refuse the second for reasons of the harness, not of the case.
public final class LibvirtOracle: Sendable {
    public let uri: String
    public static let domainPrefix = "oracle-"
    /// Gives the host's devices back the MAC they had, after a case that used them in
    /// passthrough: when the kernel refuses a passthrough macvtap beside another one, libvirt
    /// has already given the device the guest's MAC and does not restore it, and every later
    /// case with that MAC on the device would fail for the harness's reasons, not its own.
    /// Returns what went wrong, if anything (a harness problem of the case).
    private let restoreDevices: (@Sendable (_ devices: [String]) -> String?)?
    /// Why a case must not be put to this host (nil: ask it).
    private let skip: @Sendable (OracleCase) -> String?

    public init(
        uri: String, restoreDevices: (@Sendable (_ devices: [String]) -> String?)? = nil,
        skip: @escaping @Sendable (OracleCase) -> String? = { _ in nil }
    ) {
        self.uri = uri
        self.restoreDevices = restoreDevices
        self.skip = skip
    }

    /// Runs every case with `jobs` workers; `progress(done, total)` after each.
    public func run(
        _ cases: [OracleCase], jobs: Int = 4, progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) throws(LibvirtError) -> [LibvirtVerdict] {
        try removeLeftovers()
        let scheduler = CaseScheduler(cases.map(ResourceClaims.init))
        let verdicts = Mutex<[LibvirtVerdict?]>(Array(repeating: nil, count: cases.count))
        let failure = Mutex<LibvirtError?>(nil)
        let workers = DispatchGroup()
        for worker in 0..<max(1, jobs) {
            DispatchQueue(label: "oracle-worker-\(worker)").async(group: workers) {
                let connection: LibvirtConnection
                do throws(LibvirtError) {
                    connection = try LibvirtConnection(uri: self.uri, readOnly: false)
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                    scheduler.abandon()
                    return
                }
                defer { connection.close() }
                while let index = scheduler.next() {
                    if let reason = self.skip(cases[index]) {
                        verdicts.withLock { $0[index] = LibvirtVerdict(documents: [], notRun: reason) }
                        scheduler.finish(index)
                        progress(verdicts.withLock { $0.count { $0 != nil } }, cases.count)
                        continue
                    }
                    var verdict = self.judge(cases[index], number: index, on: connection)
                    // Still holding the devices: no other case uses them meanwhile.
                    let passthrough = scheduler.claims(of: index).passthroughDevices
                    if !passthrough.isEmpty, let problem = self.restoreDevices?(passthrough) {
                        verdict.harnessProblems.append("giving \(passthrough.joined(separator: ", ")) its MAC back: \(problem)")
                    }
                    let done = verdicts.withLock { (all) -> Int in
                        all[index] = verdict
                        return all.count { $0 != nil }
                    }
                    scheduler.finish(index)
                    progress(done, cases.count)
                }
            }
        }
        workers.wait()
        if let error = failure.withLock({ $0 }) { throw error }
        return verdicts.withLock { $0 }.map { $0 ?? LibvirtVerdict(documents: [], harnessProblems: ["not run"]) }
    }

    /// The daemon's define verdict on one whole domain, prepared as the cases are (own name, no
    /// UUID, kvm run as qemu): nil when it defines it (undefined again at once), else libvirt's
    /// message. The reference `lint --libvirt` is held against.
    public func defineRefusal(of document: String, number: Int, on connection: LibvirtConnection) -> String? {
        let prepared = PreparedDocument(document, name: "\(Self.domainPrefix)define-\(number)")
        do throws(LibvirtError) {
            let domain = try connection.defineDomain(xml: prepared.text)
            try? domain.undefine()
            return nil
        } catch {
            return error.message
        }
    }

    /// Destroys and undefines every `oracle-…` domain and network an interrupted run left
    /// behind; `run` does it first, and a host inventory read for judging must come after it.
    public func removeLeftovers() throws(LibvirtError) {
        let connection = try LibvirtConnection(uri: uri, readOnly: false)
        defer { connection.close() }
        var ignored: [String] = []
        for domain in try connection.allDomains() where domain.name.hasPrefix(Self.domainPrefix) {
            Self.discard(domain, problems: &ignored)
        }
        for network in (try? connection.allNetworks()) ?? [] where network.name.hasPrefix(Self.domainPrefix) {
            Self.discard(network, problems: &ignored)
        }
    }

    private static func discard(_ network: LibvirtNetwork, problems: inout [String]) {
        if network.isActive {
            do { try network.destroy() } catch { problems.append(error.description) }
        }
        do { try network.undefine() } catch { problems.append(error.description) }
    }

    /// A `<network>` document: define, define with validation, start, and — for a macvtap
    /// forward mode — start a guest that uses it (what "fails at start" means for a network:
    /// libvirt checks much of a macvtap network only when a guest's interface is allocated).
    private func judgeNetwork(_ document: String, name: String, on connection: LibvirtConnection, verdict: inout DocumentVerdict, problems: inout [String]) {
        let prepared = PreparedDocument(document, name: name)
        var network: LibvirtNetwork?
        defer { if let network { Self.discard(network, problems: &problems) } }
        do {
            try connection.defineNetwork(xml: prepared.text).undefine()
        } catch {
            verdict.defineError = error.message
            return
        }
        do {
            network = try Self.retryingSchemaLoad { () throws(LibvirtError) in try connection.defineNetwork(xml: prepared.text, validate: true) }
        } catch {
            verdict.validateError = error.message
            do {
                network = try connection.defineNetwork(xml: prepared.text)
            } catch {
                problems.append("defined once, refused the second time: \(error.message)")
                return
            }
        }
        guard let network else { return }
        do {
            try network.start()
        } catch {
            verdict.startError = error.message
            return
        }
        let parsed = try? XMLDocument(bytes: Array(prepared.text.utf8), fileName: name)
        let mode = parsed?.root?.firstChild(named: "forward")?.attribute("mode") ?? "nat"
        guard MacvtapMode(libvirtName: mode) != nil,
            let interface = try? XMLFragmentWriter.serialize(
                XMLElementSpec(
                    "interface", attributes: [("type", "network")],
                    children: [
                        XMLElementSpec("source", attributes: [("network", name)]),
                        XMLElementSpec("model", attributes: [("type", "virtio")]),
                    ]))
        else { return }
        let guest = PreparedDocument(OracleCases.minimalDomain(devices: String(decoding: interface, as: UTF8.self)), name: name + "-guest")
        do {
            let domain = try connection.defineDomain(xml: guest.text)
            defer { Self.discard(domain, problems: &problems) }
            let watchdog = Self.watchdog(for: domain)
            do {
                try domain.start(paused: true)
            } catch {
                verdict.startError = error.message
            }
            _ = watchdog.cancel()
        } catch {
            problems.append("the guest that uses the network was refused: \(error.message)")
        }
    }

    /// Destroys `domain` if it runs and undefines it if it is persistent; what fails is noted.
    private static func discard(_ domain: LibvirtDomain, problems: inout [String]) {
        if domain.isActive {
            do { try domain.destroy() } catch { problems.append(error.description) }
        }
        guard domain.isPersistent else { return }
        do { try domain.undefine() } catch { problems.append(error.description) }
    }

    /// One case, start to finish; whatever it defined is gone afterwards.
    func judge(_ testCase: OracleCase, number: Int, on connection: LibvirtConnection) -> LibvirtVerdict {
        var verdict = LibvirtVerdict(documents: Array(repeating: DocumentVerdict(), count: testCase.documents.count))
        var defined: [LibvirtDomain] = []
        var networks: [LibvirtNetwork] = []
        var prepared: [(index: Int, document: PreparedDocument)] = []
        defer {
            for domain in defined { Self.discard(domain, problems: &verdict.harnessProblems) }
            for network in networks { Self.discard(network, problems: &verdict.harnessProblems) }
        }
        let isSet = testCase.documents.count > 1
        for (index, document) in testCase.documents.enumerated() {
            let name = "\(Self.domainPrefix)\(number)-\(index)"
            if OracleCases.isNetwork(document) {
                if isSet {
                    // Beside domains that name it, a network keeps its own (oracle-…) name.
                    networks += defineAndStartNetwork(document, verdict: &verdict.documents[index], on: connection, problems: &verdict.harnessProblems)
                } else {
                    judgeNetwork(document, name: name, on: connection, verdict: &verdict.documents[index], problems: &verdict.harnessProblems)
                }
                continue
            }
            let document = PreparedDocument(document, name: name)
            prepared.append((index, document))
            do {
                let domain = try connection.defineDomain(xml: document.text)
                verdict.documents[index].rewrites = document.rewrites(readBack: try domain.xml(inactive: true))
                // The validating define starts afresh: without a UUID in the text, a second
                // define of the same name would be a different domain to libvirt.
                try domain.undefine()
            } catch {
                verdict.documents[index].defineError = error.message
                continue
            }
            do {
                defined.append(try Self.retryingSchemaLoad { () throws(LibvirtError) in try connection.defineDomain(xml: document.text, validate: true) })
            } catch {
                verdict.documents[index].validateError = error.message
                do {
                    defined.append(try connection.defineDomain(xml: document.text))
                } catch {
                    verdict.harnessProblems.append("defined once, refused the second time: \(error.message)")
                }
            }
        }
        // Start in order, earlier domains still running: a set's conflicts show on the later one.
        for (index, document) in prepared where verdict.documents[index].isDefined {
            guard let domain = defined.first(where: { $0.name == document.name }) else { continue }
            let watchdog = Self.watchdog(for: domain)
            do {
                try domain.start(paused: true)
            } catch {
                verdict.documents[index].startError = error.message
            }
            if watchdog.cancel() == false {
                verdict.harnessProblems.append("the start did not finish within \(Self.startTimeout) s (QEMU waiting for something, such as a vhost-user client); destroyed")
            }
        }
        for domain in defined where domain.isActive {
            do { try domain.destroy() } catch { verdict.harnessProblems.append(error.description) }
        }
        if testCase.documents.count == 1, let only = prepared.first, verdict.documents[0].isDefined, !only.document.interfaces.isEmpty {
            verdict.documents[0].hotplugErrors = hotplug(only.document, on: connection, problems: &verdict.harnessProblems)
        }
        return verdict
    }

    /// A network of a set, under its own name (which must start with `oracle-`): defined,
    /// validated and started, so that the set's domains find it.
    private func defineAndStartNetwork(
        _ document: String, verdict: inout DocumentVerdict, on connection: LibvirtConnection, problems: inout [String]
    ) -> [LibvirtNetwork] {
        let name = (try? XMLDocument(bytes: Array(document.utf8), fileName: "network"))?.root?.firstChild(named: "name")?.textContent ?? ""
        guard name.hasPrefix(Self.domainPrefix) else {
            problems.append("a network in a set must be named \(Self.domainPrefix)…, not '\(name)'")
            return []
        }
        let network: LibvirtNetwork
        do {
            network = try Self.retryingSchemaLoad { () throws(LibvirtError) in try connection.defineNetwork(xml: document, validate: true) }
        } catch {
            verdict.validateError = error.message
            do {
                network = try connection.defineNetwork(xml: document)
            } catch {
                verdict.defineError = error.message
                return []
            }
        }
        do {
            try network.start()
        } catch {
            verdict.startError = error.message
        }
        return [network]
    }

    /// Starts the domain without its interfaces, then attaches each one live, as `attach` does.
    private func hotplug(_ document: PreparedDocument, on connection: LibvirtConnection, problems: inout [String]) -> [String?] {
        let domain: LibvirtDomain
        do {
            domain = try connection.defineDomain(xml: document.withoutInterfaces(name: document.name + "-hp"))
        } catch {
            problems.append("the domain without its interfaces was refused: \(error.message)")
            return []
        }
        defer { Self.discard(domain, problems: &problems) }
        do {
            try domain.start(paused: true)
        } catch {
            problems.append("the domain without its interfaces did not start: \(error.message)")
            return []
        }
        let watchdog = Self.watchdog(for: domain)
        let errors = document.interfaces.map { (interface) -> String? in
            do throws(LibvirtError) {
                try domain.attachDevice(interface, scope: .live)
                return nil
            } catch {
                return error.message
            }
        }
        if watchdog.cancel() == false {
            problems.append("the hot-plug did not finish within \(Self.startTimeout) s; destroyed")
        }
        return errors
    }

    static let startTimeout = 30

    /// Destroys `domain` if it is still starting (or hot-plugging) after `startTimeout`
    /// seconds: QEMU can wait forever, for a vhost-user client in server mode for one.
    private static func watchdog(for domain: LibvirtDomain) -> Watchdog {
        let watchdog = Watchdog()
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(startTimeout)) {
            if watchdog.fire() { try? domain.destroy() }
        }
        return watchdog
    }
}

/// What a case holds while it runs: its macvtaps' MACs (per lower device) and host-side names
/// alone, its passthrough devices alone, and its other source devices shared.
struct ResourceClaims: Sendable {
    var exclusive: Set<String> = []
    var shared: Set<String> = []

    init(_ testCase: OracleCase) {
        for text in testCase.documents {
            guard let document = try? XMLDocument(bytes: Array(text.utf8), fileName: "case"), let root = document.root else { continue }
            // A macvtap network's guest takes its pool devices: alone in passthrough, shared else.
            if root.name == "network", let name = root.firstChild(named: "name")?.textContent, testCase.documents.count > 1 {
                exclusive.insert("network:" + name)
            }
            if root.name == "network", let forward = root.firstChild(named: "forward") {
                let devices = [forward.attribute("dev")].compactMap { $0 } + forward.children(named: "interface").compactMap { $0.attribute("dev") }
                for dev in devices {
                    if forward.attribute("mode") == "passthrough" { exclusive.insert("dev:" + dev) } else { shared.insert("dev:" + dev) }
                }
                continue
            }
            for interface in PreparedDocument.interfaceElements(of: root) {
                if let target = interface.firstChild(named: "target")?.attribute("dev") { exclusive.insert("target:" + target) }
                // Only macvtaps on one lower device collide by MAC; other interface types make
                // no macvtap (libvirt's test interfaces share a few MACs and still run side by side).
                guard interface.attribute("type") == "direct" else { continue }
                // An alias label (eth0:1) or blanks around a name still reach the device itself.
                let devices = interface.children(named: "source").compactMap { $0.attribute("dev") }.map(Self.deviceKey)
                for mac in interface.children(named: "mac") {
                    guard let address = mac.attribute("address") else { continue }
                    for dev in devices { exclusive.insert("mac:\(dev):" + (MACAddress(address)?.description ?? address)) }
                }
                for source in interface.children(named: "source") {
                    guard let dev = source.attribute("dev").map(Self.deviceKey) else { continue }
                    if source.attribute("mode") == "passthrough" { exclusive.insert("dev:" + dev) } else { shared.insert("dev:" + dev) }
                }
            }
        }
    }

    /// The host devices the case uses in passthrough (held alone while it runs).
    var passthroughDevices: [String] {
        exclusive.filter { $0.hasPrefix("dev:") }.map { String($0.dropFirst(4)) }.sorted()
    }

    static func deviceKey(_ name: String) -> String {
        LinuxInterfaceName.device(of: name.trimmingWhitespace())
    }

    func conflicts(with other: ResourceClaims) -> Bool {
        !exclusive.isDisjoint(with: other.exclusive) || !exclusive.isDisjoint(with: other.shared)
            || !shared.isDisjoint(with: other.exclusive)
    }
}

/// Hands out cases in order, holding back one that conflicts with a case still running.
final class CaseScheduler: Sendable {
    private struct State {
        var pending: [Int]
        var running: Set<Int> = []
        var abandoned = false
    }
    private let claims: [ResourceClaims]
    private let state: Mutex<State>
    private let changed = DispatchSemaphore(value: 0)

    init(_ claims: [ResourceClaims]) {
        self.claims = claims
        self.state = Mutex(State(pending: Array(claims.indices)))
    }

    /// The next case that can run now; waits while every pending case conflicts; nil when done.
    func next() -> Int? {
        while true {
            let choice: Int?? = state.withLock { state in
                if state.abandoned || state.pending.isEmpty { return .some(nil) }
                for (position, index) in state.pending.enumerated()
                where !state.running.contains(where: { claims[$0].conflicts(with: claims[index]) }) {
                    state.pending.remove(at: position)
                    state.running.insert(index)
                    return .some(index)
                }
                return .none
            }
            if let choice { return choice }
            _ = changed.wait(timeout: .now() + .milliseconds(50))
        }
    }

    func claims(of index: Int) -> ResourceClaims { claims[index] }

    func finish(_ index: Int) {
        _ = state.withLock { $0.running.remove(index) }
        changed.signal()
    }

    func abandon() {
        state.withLock { $0.abandoned = true }
        changed.signal()
    }
}

/// A one-shot race between "done in time" (`cancel`) and "time is up" (`fire`): whichever
/// comes first wins, and each side learns whether it did.
final class Watchdog: Sendable {
    private let state = Mutex<Bool?>(nil)

    /// True when the work finished first.
    func cancel() -> Bool {
        state.withLock { value in
            if value == nil { value = false }
            return value == false
        }
    }

    /// True when the time ran out first.
    func fire() -> Bool {
        state.withLock { value in
            if value == nil { value = true }
            return value == true
        }
    }
}

extension LibvirtOracle {
    /// A validating define once more when libvirtd could not load its own RelaxNG schema
    /// ("internal error: Unable to parse RelaxNG schema …: Error type … is not exported by type
    /// library …", seen once from libvirt 11.3 under parallel first use of libxml2's datatype
    /// library): that is the daemon failing, not a verdict on the document.
    static func retryingSchemaLoad<Result>(_ define: () throws(LibvirtError) -> Result) throws(LibvirtError) -> Result {
        do {
            return try define()
        } catch  where error.message.hasPrefix("internal error: Unable to parse RelaxNG schema") {
            return try define()
        }
    }
}
