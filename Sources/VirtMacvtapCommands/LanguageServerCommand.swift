import ArgumentParser
import MacvtapKit
import MacvtapLanguageServer
import MacvtapSystem

/// `virt-macvtap lsp`: the language server on standard input and output.
struct LanguageServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lsp",
        abstract: "Run the language server for domain and network XML (LSP 3.17 on standard input and output).",
        discussion: """
            Editors start it and talk to it; it is not for typing at. Diagnostics are lint's own \
            (same rules, positions, severities and libvirt claims), published when a file opens and \
            150 ms after the last change; cross-file rules see the workspace's other XML files and \
            the hosts of its .virt-macvtap.json (those with a "uri" are scanned in the background; \
            the command virt-macvtap.refreshHosts scans again). Code actions: every fix (safe ones \
            also together as source.fixAll.virt-macvtap); a fix that needs a new MAC draws it from \
            the ledger when it is applied, not before. Hover on a finding shows the rule; completion \
            offers <source mode=…> values and, with a configured host, dev=… names. See the README's \
            "In your editor" for Neovim, VS Code and Emacs.

            Examples:
              virt-macvtap lsp
              virt-macvtap lsp --libvirt-version 9.0 --ledger postgresql://ipam@db/ledger
            """)

    @OptionGroup var ledgerChoice: LedgerChoice

    @Option(name: .long, help: ArgumentHelp("Validate against this libvirt release's bundled schemas (as lint --libvirt-version).", valueName: "RELEASE"))
    var libvirtVersion: LibvirtRelease?

    @Flag(name: .long, help: "Accepted for clients that pass it; standard input and output is the only transport.")
    var stdio = false

    func run() throws {
        let server = LanguageServer(ledger: ledgerChoice.ledger, libvirtRelease: libvirtVersion)
        defer { Linter.waitForBackgroundWork() }
        reading: while server.exitStatus == nil {
            // Short waits only while a debounced lint is due.
            switch try StandardInputStream.next(waitingAtMost: server.hasPendingWork ? 50 : 1_000) {
            case .bytes(let bytes):
                writeStandardOutput(server.receive(bytes))
                writeStandardOutput(server.idle())
            case .quiet:
                writeStandardOutput(server.idle())
            case .end:
                break reading
            }
        }
        // The client went away without `exit`, or exited without `shutdown`: LSP says 1.
        let status = server.exitStatus ?? 1
        if status != 0 { throw CommandFailure.status(status) }
    }
}
