import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

/// Options every `mac` subcommand shares: the ledger and how long to wait for its lock.
struct LedgerOptions: ParsableArguments {
    @OptionGroup var choice: LedgerChoice

    @Option(name: .long, help: "Seconds to wait for another run's lock on the ledger.")
    var lockTimeout = Seconds(30)

    var location: LedgerLocation { choice.location }

    func open(forWriting: Bool) throws -> (any MACLedger)? {
        try location.open(forWriting: forWriting, lockTimeout: lockTimeout.duration)
    }
}

/// Where else to look for used addresses: hosts and domain files.
struct UsageOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("connect")], help: "A libvirt URI to check against (repeat for a fleet; scanned concurrently).")
    var connect: [String] = []

    @Option(name: .long, help: "A domain XML file or directory (*.xml, recursively) whose MACs are taken.")
    var exclude: [String] = []

    func gather() throws -> MACUsage {
        do {
            return try MACUsage.gather(uris: connect, excludePaths: exclude)
        } catch {
            throw CommandFailure.system(error.description)
        }
    }
}

struct SpaceOptions: ParsableArguments {
    @Option(name: .long, help: "One to five octets to allocate under (default 52:54:00).")
    var prefix: String?

    @Option(name: .long, help: "FIRST-LAST: allocate inside this range instead.")
    var range: String?

    func validate() throws {
        if prefix != nil, range != nil { throw ValidationError("give --prefix or --range, not both") }
    }

    func space() throws -> MACSpace {
        do {
            if let range { return try MACSpace(range: range) }
            if let prefix { return try MACSpace(prefix: prefix) }
            return .qemuDefault
        } catch {
            throw CommandFailure.usage(error.description)
        }
    }
}
