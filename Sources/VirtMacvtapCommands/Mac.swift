import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

struct Mac: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mac",
        abstract: "Hand out MAC addresses in batches that collide with nothing, and keep a ledger of them.",
        discussion: """
            Every address is unicast, never all-zero, never fe:…, locally administered inside a \
            --prefix (an explicit --range is taken as given), unique in the batch, and unused by \
            any domain (live and inactive XML) or host NIC on each -c connection, by any \
            interface in the --exclude files, and by the ledger. The ledger is an SQLite file \
            ($XDG_STATE_HOME/virt-macvtap/ledger.sqlite, else ~/.local/state/virt-macvtap/ \
            ledger.sqlite) or, for a fleet, a PostgreSQL database (--ledger \
            postgresql://user@host/db, or $VIRT_MACVTAP_LEDGER); each allocation is one \
            transaction, and the database's unique key on the address decides, so concurrent \
            runs never hand out the same address.

            Examples:
              virt-macvtap mac allocate --count 100 -c qemu:///system --exclude domains/
              virt-macvtap mac allocate --count 4 --deterministic web-tier --format json
              virt-macvtap mac check 52:54:00:12:34:56 -c qemu+ssh://root@host2/system
              virt-macvtap mac stats --guests 5000
              virt-macvtap mac allocate --count 10 --ledger postgresql://ipam@db.example/macs
              virt-macvtap mac reconcile -c qemu+ssh://root@hv1/system --exclude domains/ --apply
            """,
        subcommands: [Allocate.self, Reserve.self, Release.self, ListReservations.self, Check.self, Stats.self, Reconcile.self]
    )
}
