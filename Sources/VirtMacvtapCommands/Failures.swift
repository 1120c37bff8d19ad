import ArgumentParser
import MacvtapKit
import MacvtapSystem

/// How a command ends when it cannot do what was asked. Commands throw these (or the library's
/// own typed errors, `LiveError` among them); `CommandFailure.classify(_:)` is the one place that
/// turns any of them into stderr lines and an exit status (`VirtMacvtapCLI.execute` prints them):
/// 1 refused (input or checks), 2 usage or an invalid value, 3 I/O, libvirt or netlink,
/// 4 a live change the domain XML does not confirm.
enum CommandFailure: Error {
    case refused(String)
    case usage(String)
    case system(String)
    case unconfirmed(String)
    /// The command printed its report already; only the status is left to give.
    case status(Int32)

    static let refusedStatus: Int32 = 1
    static let usageStatus: Int32 = 2
    static let systemStatus: Int32 = 3
    static let unconfirmedStatus: Int32 = 4

    /// `--hosts` (lint, mac reconcile) with no host that has a "uri".
    static let hostsNeedURI =
        "--hosts needs hosts with a \"uri\" in .virt-macvtap.json (\"hosts\": {\"hv-a\": {\"files\": [...], \"uri\": \"qemu+ssh://root@hv-a/system\"}})"

    /// The lines to print (without the `virt-macvtap: error: ` prefix) and the exit status for
    /// `error`; nil for argument-parser's own errors, which it reports itself.
    static func classify(_ error: any Error) -> (lines: [String], status: Int32)? {
        switch error {
        case let failure as CommandFailure:
            switch failure {
            case .refused(let message): return ([message], refusedStatus)
            case .usage(let message): return ([message], usageStatus)
            case .system(let message): return ([message], systemStatus)
            case .unconfirmed(let message): return ([message], unconfirmedStatus)
            case .status(let status): return ([], status)
            }
        case let live as LiveError:
            switch live {
            case .usage(let message): return ([message], usageStatus)
            case .libvirt, .netlink: return ([live.description], systemStatus)
            case .refused(let notes): return (notes.filter { $0.kind == .refusal }.map(\.description), refusedStatus)
            }
        case let invalid as InterfaceSpecError:
            return ([invalid.commandLineDescription], usageStatus)
        case let edit as DomainEditError:
            if case .invalidRequest(let invalid) = edit { return ([invalid.commandLineDescription], usageStatus) }
            return ([edit.description], edit.isSystemFailure ? systemStatus : edit.isInvalidValue ? usageStatus : refusedStatus)
        case let ledger as LedgerError:
            return ([ledger.description], ledger.isRefusal ? refusedStatus : systemStatus)
        case let input as LintInputError:
            return ([input.description], input.isInputOutput ? systemStatus : usageStatus)
        default:
            return nil
        }
    }
}
