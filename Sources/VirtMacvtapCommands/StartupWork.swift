import MacvtapKit

/// The start-up head start, in one place: work a command will need starts on background threads
/// before its arguments are parsed, and the process waits for it before it ends.
///
/// Measured gains (README, ARCHITECTURE): compiling libvirt's domain.rng is most of a one-file
/// lint, so it starts as soon as `lint`'s arguments are parsed (`Lint.prefetchSchemas`, on a
/// thread pinned away from the busy main CPU, with its heap reserved up front — see
/// `SchemaCompilation`); libvirt's ~50 libraries load while arguments are parsed and files read
/// (`LiveSession.loadLibvirtInBackground`).
/// A process must not end while libxml2 compiles, libvirt loads or a host scan's summaries are
/// written on another thread: `finish()`.
enum StartupWork {
    /// The commands that talk to libvirt whatever their options say.
    static let libvirtCommands: Set<String> = [
        "attach", "detach", "list", "set-link", "change-mode", "migrate-check",
    ]

    /// Starts what the command in `arguments` (subcommand first) will need.
    static func begin(_ arguments: [String]) {
        // A lint compiles libvirt's domain.rng: the default one starts now, before argument-parser
        // runs (nothing but the subcommand's name is read here); `Lint.prefetchSchemas` asks for
        // the one its options name right after parsing, the same compilation when they agree.
        if arguments.first == "lint" { Linter.prefetchSchemas(configuration: LintConfiguration()) }
        let asksLibvirtHost = arguments.contains { connectOptionWidth($0) != nil }
        if let command = arguments.first, libvirtCommands.contains(command) || asksLibvirtHost {
            LiveSession.loadLibvirtInBackground()
        }
    }

    /// Waits for everything `begin` started.
    static func finish() {
        Linter.waitForBackgroundWork()
        LiveSession.waitForLibvirtLoad()
        HostSummaryCache.waitForSaves()
    }
}
