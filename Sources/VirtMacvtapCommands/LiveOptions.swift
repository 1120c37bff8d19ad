import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

/// `-c/--connect`, resolved like virsh: the option, else LIBVIRT_DEFAULT_URI, else qemu:///system.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("connect")], help: "libvirt URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system).")
    var connect: String?

    var uri: String { LibvirtURI.resolve(connect) }

    /// A session whose host scans parse only the definitions that changed since the last one
    /// (`HostSummaryCache`, under `$XDG_CACHE_HOME/virt-macvtap/hosts`).
    func open(readOnly: Bool, receivesEvents: Bool = false) throws -> LiveSession {
        return try LiveSession(
            uri: uri, readOnly: readOnly, receivesEvents: receivesEvents,
            summaryCacheDirectory: cacheDirectory(named: "hosts", ProcessInfo.processInfo.environment))
    }
}

/// `--live / --config / --current` (and each command's `--persistent`), as in virsh: parsed
/// into the library's one type for it, `DomainCopies`.
struct ScopeFlags: ParsableArguments {
    @Flag(name: .long, help: "Change the running domain.")
    var live = false
    @Flag(name: .long, help: "Change the persistent definition (takes effect at next start).")
    var config = false
    @Flag(name: .long, help: "Live if the domain runs, else config (the default).")
    var current = false

    func validate() throws {
        if current && (live || config) {
            throw ValidationError("--current cannot be combined with --live or --config")
        }
    }

    /// The copies asked for; `persistent` is the command's own `--persistent`.
    func copies(persistent: Bool = false) throws -> DomainCopies {
        if current && persistent { throw ValidationError("--current cannot be combined with --persistent") }
        var copies: DomainCopies = persistent ? .persistent : .current
        if live { copies.insert(.live) }
        if config { copies.insert(.config) }
        return copies
    }
}

/// `--format` of every live command (`list`'s text is its table; `table`, its old name, is
/// still accepted).
enum LiveOutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json

    init?(argument: String) {
        self.init(rawValue: argument == "table" ? "text" : argument)
    }
}

/// `attach`'s ledger: `--ledger`, or none with `--no-ledger` (said on stderr, because then the
/// MACs it uses are recorded nowhere).
struct AttachLedgerOptions: ParsableArguments {
    @OptionGroup var choice: LedgerChoice

    @Flag(name: .long, help: "Neither read nor record the ledger (when it cannot be reached); the MACs used are recorded nowhere.")
    var noLedger = false

    func validate() throws {
        if noLedger, choice.ledger != nil { throw ValidationError("give --ledger or --no-ledger, not both") }
    }

    /// The ledger to record in (nil with --no-ledger). When it cannot be opened, the error says
    /// how to go on without it.
    func open(forWriting: Bool) throws -> (any MACLedger)? {
        guard !noLedger else { return nil }
        do {
            return try choice.location.open(forWriting: forWriting)
        } catch {
            if error.isRefusal { throw error }
            throw CommandFailure.system("\(error); to attach without recording the MAC, give --no-ledger")
        }
    }

    /// What the ledger holds, less an explicit MAC reserved for this very domain (the usual
    /// `mac allocate --label DOMAIN`, then `attach DOMAIN --mac …`): that one is no conflict.
    func reservedForOthers(in ledger: (any MACLedger)?, domain: String, explicit: MACAddress?) throws -> Set<MACAddress> {
        guard let ledger else { return [] }
        var reserved = try ledger.reservedMACs()
        if let explicit, try ledger.reservations(of: [explicit]).contains(where: { $0.label == domain }) { reserved.remove(explicit) }
        return reserved
    }

    func record(_ macs: [MACAddress], domain: String, uri: String, in ledger: (any MACLedger)?) throws -> [MACAddress] {
        guard let ledger else {
            StandardStream.error.write("virt-macvtap: note: --no-ledger: \(macs.map(\.description).joined(separator: ", ")) not recorded in any ledger\n")
            return []
        }
        do {
            return try LiveLedger.record(macs, domain: domain, uri: uri, in: ledger)
        } catch {
            if case .alreadyReserved = error {
                throw CommandFailure.refused("\(error.description) (another client recorded it after the checks); nothing was attached; run it again")
            }
            throw error
        }
    }

    /// Gives back what a failed attach recorded and did not use; a failure here is a warning,
    /// because the attach's own outcome is the error to report.
    func giveBack(_ macs: [MACAddress], to ledger: (any MACLedger)?) {
        guard let ledger, !macs.isEmpty else { return }
        do {
            _ = try ledger.release(macs)
        } catch {
            StandardStream.error.write("virt-macvtap: warning: \(macs.map(\.description).joined(separator: ", ")) could not be released from the ledger: \(error)\n")
        }
    }
}

/// The linter the live commands' preflights use (`lint -c`'s rules; see `Linter.attachConfiguration`).
func attachLinter() -> Linter {
    Linter(rulesOnly: Linter.attachConfiguration)
}

func printAdvice(_ notes: [PreflightNote]) {
    for note in notes where note.kind == .advice {
        StandardStream.error.write("virt-macvtap: warning: \(note)\n")
    }
}
