import FoundationEssentials
import MacvtapLibvirt
import MacvtapSystem
package import MacvtapXML
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `lint --libvirt`: libvirt's own verdict on each whole domain (disk targets, controllers,
/// machine types, CPU topology, … as well as interfaces), from libvirt's embedded QEMU driver in
/// this process. A refusal becomes a `libvirt-define` finding placed on the element the message
/// names.
public struct LibvirtDefineRule: Rule {
    public init() {}
    public static let description = RuleDescription(
        id: "libvirt-define", name: "libvirt refuses the domain",
        summary: "With --libvirt: the domain defined in libvirt's own QEMU driver (embedded, nothing started), and refused.",
        rationale: "Our rules cover interfaces and what they share with other devices; libvirt refuses much else at "
            + "define. This is libvirt's own answer, in its words, from the libvirt installed where lint runs.",
        severity: .error, enforcement: .define, reference: "libvirt", needsLiveHost: true)
}

/// `lint --libvirt` on a domain the layer could not judge: a note in the report, so every output
/// format (not only standard error) says which files libvirt did not look at.
public struct LibvirtNotJudgedRule: Rule {
    public init() {}
    public static let description = RuleDescription(
        id: "libvirt-not-judged", name: "libvirt could not judge the domain",
        summary: "With --libvirt: a domain the embedded driver could not judge (no emulator for its architecture here, or the layer did not start).",
        rationale: "libvirt's QEMU driver refuses any domain whose emulator is missing (\"Cannot check QEMU binary\"), "
            + "which says nothing about the file; the layer then gives no verdict, and says so on the file rather than "
            + "staying silent. The define messages the layer reports are libvirt's own, with the file's domain name put "
            + "back; they differ from `virsh define`'s only where virsh's depend on the host's other domains (a name or "
            + "UUID already defined there): the layer defines each domain in a private root where nothing else is.",
        severity: .info, enforcement: .advice, reference: "libvirt", needsLiveHost: true)
}

/// What the layer says about one domain.
package enum LibvirtLayerVerdict {
    case defined
    case refused(Violation)
    case notJudged(Violation)
}

/// Why the libvirt layer cannot run here (it is then skipped, with one line saying why).
public struct LibvirtLayerUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// The embedded driver's private directories and the verdicts it gives.
///
/// The driver runs in a scratch root of this run's own on a tmpfs (every define writes and
/// fsyncs the domain's XML there: on disk that was a third of the layer's time), whose `cache`
/// is a link to the persistent cache directory, so the QEMU capability probe is paid once.
/// Concurrent runs never share a root. `finish()` removes the scratch root.
public final class LibvirtDefineLayer: Sendable {
    private let verdicts: DefineVerdicts
    /// This run's root for the embedded driver, removed by `finish()`.
    public let scratchRoot: String
    private let counter = Atomic<Int>(0)
    private let unjudged = Mutex<Set<String>>([])
    /// Held while a domain whose UUID comes from its file is defined (see `violation(for:)`).
    private let fixedUUIDs = Mutex<Void>(())

    /// What libvirt could not judge here, once each (an architecture whose emulator is not
    /// installed where lint runs): a host fact, not a fault of the file.
    public var notJudged: [String] { unjudged.withLock { $0.sorted() } }
    /// The libvirt version the verdicts come from.
    public var libvirtVersion: String { verdicts.version }

    /// Opens libvirt's embedded QEMU driver in a new scratch root under the first of
    /// `scratchParents` that takes one, with its capability cache in `cacheDirectory` (created),
    /// and checks it with a domain that must define; any failure says why the layer cannot run.
    public init(cacheDirectory: String, scratchParents: [String]) throws(LibvirtLayerUnavailable) {
        let root: String
        do throws(FileError) {
            try FileIO.createDirectories(atPath: cacheDirectory + "/cache")
            root = try FileIO.makeTemporaryDirectory(inOneOf: scratchParents, prefix: "virt-macvtap-libvirt-")
            try FileIO.createSymbolicLink(atPath: root + "/cache", to: cacheDirectory + "/cache")
            try FileIO.createDirectories(atPath: root + "/etc")
            let configuration = root + "/etc/qemu.conf"
            do {
                // Nothing is started, so nothing needs another user, cgroups or a security driver.
                let text = """
                    # written by virt-macvtap lint --libvirt: define-only use, nothing is started
                    user = "root"
                    group = "root"
                    dynamic_ownership = 0
                    security_driver = "none"
                    cgroup_controllers = [ ]
                    namespaces = [ ]
                    remember_owner = 0

                    """
                try FileIO.replaceAtomically(atPath: configuration, with: Array(text.utf8), creating: true)
            }
        } catch {
            throw LibvirtLayerUnavailable(reason: "cannot prepare libvirt's directories (\(error.description))")
        }
        scratchRoot = root
        do throws(LibvirtError) {
            verdicts = try DefineVerdicts(embeddedRoot: root)
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw LibvirtLayerUnavailable(
                reason: "libvirt's embedded QEMU driver did not open (\(error.message)); it needs libvirt ≥ 6.1 with the QEMU "
                    + "driver and an emulator (Debian: libvirt-daemon-driver-qemu qemu-system-x86)")
        }
        let probe = PreparedDocument(
            "<domain type='qemu'><name>probe</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>",
            name: "virt-macvtap-probe-\(getpid())")
        if let refusal = verdicts.refusal(defining: probe.text, forQEMU: true) {
            finish()
            throw LibvirtLayerUnavailable(reason: "libvirt's QEMU driver refuses even a minimal domain here: \(refusal.message)")
        }
    }

    /// Shuts the embedded driver down and removes the scratch root (the cache stays).
    public func finish() {
        verdicts.close()
        try? FileManager.default.removeItem(atPath: scratchRoot)
    }

    /// The default cache: `$XDG_CACHE_HOME/virt-macvtap/libvirt-qemu`, else under `~/.cache`.
    public static func defaultCacheDirectory(environment: [String: String]) -> String {
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((environment["HOME"] ?? "/tmp") + "/.cache")
        return cache + "/virt-macvtap/libvirt-qemu"
    }

    /// Where scratch roots go: the user's runtime directory, /dev/shm (both tmpfs), else /tmp.
    public static func defaultScratchParents(environment: [String: String]) -> [String] {
        (environment["XDG_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : [$0] } ?? []) + ["/dev/shm", "/tmp"]
    }

    /// libvirt's refusal of `domain`, placed on the element it names, or why it was not judged.
    package func verdict(for domain: DomainDocument) -> LibvirtLayerVerdict {
        guard let candidate = Candidate(domain, prefix: "virt-macvtap-lint", number: counter.wrappingAdd(1, ordering: .relaxed).oldValue)
        else { return .defined }
        let root = candidate.root
        let verdict = { [verdicts] in verdicts.refusal(defining: candidate.prepared.text, forQEMU: candidate.isQEMU) }
        guard let refusal = candidate.takesFileUUID ? fixedUUIDs.withLock({ _ in verdict() }) : verdict() else { return .defined }
        let message = candidate.inFileWords(refusal.message)
        if Self.lacksEmulator(refusal.message) {
            let arch = root.firstChild(named: "os")?.firstChild(named: "type")?.attribute("arch") ?? "its architecture"
            unjudged.withLock { _ = $0.insert("domains for \(arch): \(refusal.message)") }
            return .notJudged(
                Violation(
                    at: root.position, "--libvirt could not judge this domain: libvirt \(verdicts.version) has no emulator for \(arch) here (\(message))",
                    fix: "install the emulator (Debian: qemu-system-…) to have libvirt judge it; lint's own rules still ran"))
        }
        return .refused(
            Violation(
                at: Self.locate(message, in: root), message,
                fix: "libvirt \(verdicts.version) refuses this domain at define (virsh define would say the same)"))
    }

    /// libvirt's verdict on a whole document, asked three ways (define, define --validate, the
    /// inactive XML kept): what the real-world corpus test and `lint --libvirt` judge claims by.
    public struct Judgement: Sendable {
        /// The plain define's refusal, in libvirt's words; nil when it defined the domain.
        public var refusal: String?
        /// The validating define's refusal; nil when it defined the domain.
        public var validatingRefusal: String?
        /// The inactive XML libvirt kept; nil when the define was refused.
        public var inactiveXML: String?
        /// Why libvirt could not judge this document here (no emulator for its architecture).
        public var notJudged: String?
    }

    /// Defines `domain` (under a name of its own, at once undefined again) and reports what
    /// libvirt said and kept; libvirt's messages name the domain as the file does.
    public func judge(_ domain: DomainDocument) -> Judgement {
        guard let candidate = Candidate(domain, prefix: "virt-macvtap-judge", number: counter.wrappingAdd(1, ordering: .relaxed).oldValue)
        else { return Judgement(notJudged: "not a <domain>") }
        // Three defines in a row: one at a time, whatever the UUID (see `Candidate.takesFileUUID`).
        let asked = fixedUUIDs.withLock { _ in verdicts.judge(candidate.prepared.text, forQEMU: candidate.isQEMU) }
        var judgement = Judgement(
            refusal: asked.refusal.map { candidate.inFileWords($0.message) },
            validatingRefusal: asked.validatingRefusal.map { candidate.inFileWords($0.message) }, inactiveXML: asked.inactiveXML)
        if let refusal = judgement.refusal, Self.lacksEmulator(refusal) {
            judgement = Judgement(notJudged: refusal)
        }
        return judgement
    }

    /// A domain as the layer defines it: under a name of its own (`prefix-PID-N`), so that
    /// files naming the same domain, and runs at once, never meet in libvirt.
    private struct Candidate {
        let root: XMLElement
        let prepared: PreparedDocument
        let isQEMU: Bool
        /// Without <uuid>, libvirt takes the UUID from <sysinfo>'s system entry when there is
        /// one, and files share those (libvirt's tests do): two such domains defined at once
        /// made the second "already defined with uuid …" — a refusal of the run, not of the file
        /// (seen in one CI run). They are defined one at a time; every other domain gets a
        /// random UUID.
        let takesFileUUID: Bool
        private let definedName: String
        private let fileName: String?

        init?(_ domain: DomainDocument, prefix: String, number: Int) {
            guard let root = domain.xml.root, root.name == "domain" else { return nil }
            self.root = root
            definedName = "\(prefix)-\(getpid())-\(number)"
            fileName = domain.name?.value
            prepared = PreparedDocument(domain.xml.source, parsed: domain.xml, name: definedName)
            let type = root.attribute("type") ?? "qemu"
            isQEMU = type == "qemu" || type == "kvm"
            takesFileUUID = root.children(named: "sysinfo").contains { sysinfo in
                sysinfo.children(named: "system").contains { $0.children(named: "entry").contains { $0.attribute("name") == "uuid" } }
            }
        }

        /// libvirt's message about the defined copy, naming the domain as the file does.
        func inFileWords(_ message: String) -> String {
            fileName.map { message.replacing(definedName, with: $0) } ?? message
        }
    }

    /// Whether libvirt refused a domain only because this host has no emulator for it: a fact
    /// about the host, not about the file.
    public static func lacksEmulator(_ message: String) -> Bool {
        message.contains("Cannot check QEMU binary") || message.lowercased().contains("no emulator")
    }

    /// The element a libvirt message is about: the one it names with an attribute value it
    /// quotes, else the first one holding a quoted value, else the domain.
    package static func locate(_ message: String, in root: XMLElement) -> SourcePosition {
        let quoted = message.split(separator: "'", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
        var elements: [XMLElement] = []
        func collect(_ element: XMLElement) {
            elements.append(element)
            element.children.forEach(collect)
        }
        collect(root)
        if let range = message.firstRange(of: "in element '"), let end = message[range.upperBound...].firstIndex(of: "'") {
            let elementName = String(message[range.upperBound..<end])
            let candidates = elements.filter { $0.name == elementName }
            for element in candidates {
                if let attribute = element.attributes.first(where: { quoted.contains($0.value) }) { return attribute.position }
            }
            if let first = candidates.first { return first.position }
        }
        // "Attempted double use of PCI Address 0000:00:03.0": the later address element.
        if let match = message.firstMatch(of: /([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])/) {
            let wanted = [match.output.1, match.output.2, match.output.3, match.output.4].map { UInt64($0, radix: 16) }
            for element in elements.reversed() where element.name == "address" && element.attribute("type") == "pci" {
                let parts = ["domain", "bus", "slot", "function"].map { PCIAddressDuplicateRule.number(element.attribute($0)) }
                if parts == wanted { return element.position }
            }
        }
        // "non unique alias detected: ua-x", "boot order '1' used for more than one device", a
        // duplicate target or address: the last holder of the value is the one that conflicts.
        let values = quoted + [message.split(separator: " ").last.map(String.init) ?? ""].filter { !$0.isEmpty }
        for value in values where !value.isEmpty {
            for element in elements.reversed() {
                if let attribute = element.attributes.first(where: { $0.value == value }) { return attribute.position }
                if element.children.isEmpty, element.textContent == value { return element.position }
            }
        }
        return root.position
    }
}
