// Built only where Swift Testing is (the test build): a release build of the package compiles
// this module empty.
#if canImport(Testing)
    import Foundation
    package import Testing

    /// The one place that decides which tests need something outside the package. Each gate is an
    /// environment variable the README's test command sets. Unset, the tests that need it are left
    /// out (a developer's `swift test`); set, what it names must be there: the gate's own test fails
    /// when it is not (`unsatisfied()`), and so do the tests that use it — never a silent skip.
    package enum TestGate: String, CaseIterable, Sendable {
        /// libvirt 9.0.0's test XML (scripts/fetch-libvirt-corpus): the path.
        case corpus = "VIRT_MACVTAP_CORPUS"
        /// Other projects' domain XML (scripts/fetch-world-corpus): the path.
        case worldCorpus = "VIRT_MACVTAP_WORLD_CORPUS"
        /// The sandbox (scripts/sandbox up): libvirtd + QEMU guests, and the second host `hv2`.
        case sandbox = "VIRT_MACVTAP_SANDBOX"
        /// The private PostgreSQL server (scripts/postgres up): its superuser URL.
        case postgres = "VIRT_MACVTAP_POSTGRES"

        package var value: String? {
            ProcessInfo.processInfo.environment[rawValue].flatMap { $0.isEmpty ? nil : $0 }
        }

        package var isSet: Bool { value != nil }

        /// The trait for a test or suite that needs this gate.
        package var trait: ConditionTrait {
            .enabled(if: isSet, "set \(rawValue) (the README's test command does)")
        }

        /// Why the gate is set but what it names is not there; nil when it is (or the gate is unset).
        package func unsatisfied() -> String? {
            guard let value else { return nil }
            switch self {
            case .corpus:
                let count = (FileManager.default.enumerator(atPath: value)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".xml") }.count
                return count > 2000 ? nil : "\(rawValue)=\(value) holds \(count) XML files, not libvirt's test corpus (scripts/fetch-libvirt-corpus)"
            case .worldCorpus:
                let projects = ["libvirt-11.3", "virt-manager-5.0", "nova-31", "libguestfs-1.54"]
                let missing = projects.filter { !FileManager.default.fileExists(atPath: value + "/" + $0) }
                return missing.isEmpty ? nil : "\(rawValue)=\(value) lacks \(missing.joined(separator: ", ")) (scripts/fetch-world-corpus)"
            case .sandbox:
                for uri in ["qemu:///system", "qemu+tcp://198.51.100.2/system"] {
                    let answer = try? Sandbox.shell("virsh -q -c \(uri) version >/dev/null 2>&1")
                    if answer?.status != 0 { return "\(rawValue) is set but libvirt at \(uri) does not answer (scripts/sandbox up)" }
                }
                return nil
            case .postgres:
                let answer = try? Sandbox.shell("psql '\(value)' -qAtc 'SELECT 1'")
                return answer?.status == 0 ? nil : "\(rawValue) is set but the server does not answer (scripts/postgres up): \(answer?.standardOutput ?? "")"
            }
        }
    }
#endif
