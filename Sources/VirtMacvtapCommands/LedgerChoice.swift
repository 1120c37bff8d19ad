import ArgumentParser
import MacvtapKit

/// `--ledger`: which ledger to read and record in (the same for `mac`, `generate`, `edit`,
/// `attach` and `lint --fix`).
struct LedgerChoice: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The ledger: an SQLite file, or postgresql://[user[:password]@]host[:port]/dbname[?sslmode=…] for one a fleet shares.",
            discussion: "Default: $VIRT_MACVTAP_LEDGER, else $XDG_STATE_HOME/virt-macvtap/ledger.sqlite.",
            valueName: "path-or-url"))
    var ledger: LedgerLocation?

    var location: LedgerLocation { .resolve(ledger) }
}
