import FoundationEssentials

/// One reserved address in the ledger.
public struct Reservation: Sendable, Hashable, Codable {
    public var mac: MACAddress
    public var label: String
    /// UTC, ISO 8601 with milliseconds (`2026-12-01T19:02:50.123Z`), set by the database when
    /// the row was written; strings of this form sort in time order.
    public var reservedAt: String
    /// The hosts (URIs) and files the address was checked against when it was handed out.
    public var checkedAgainst: String

    public init(mac: MACAddress, label: String, reservedAt: String, checkedAgainst: String) {
        self.mac = mac
        self.label = label
        self.reservedAt = reservedAt
        self.checkedAgainst = checkedAgainst
    }
}

/// The authority for "this MAC is taken": an SQLite file on one machine (``SQLiteLedger``) or a
/// PostgreSQL database a fleet shares (``PostgresLedger``). Both give the same answers; every
/// change is one transaction, and two runs never hand out the same address.
public protocol MACLedger: AnyObject {
    /// Where the ledger is (its description never shows a password).
    var location: LedgerLocation { get }
    /// Every reservation, in address order.
    func reservations() throws(LedgerError) -> [Reservation]
    /// The reserved addresses.
    func reservedMACs() throws(LedgerError) -> Set<MACAddress>
    /// Reads the reserved addresses and records what `choose` picks, in one transaction. Nothing
    /// is written if `choose` throws (its error comes back as ``LedgerError/allocation(_:)``).
    /// `choose` may be called more than once when another client took an address meanwhile.
    func allocate(
        label: String, checkedAgainst: String, _ choose: (Set<MACAddress>) throws(AllocationError) -> [AllocatedMAC]
    ) throws(LedgerError) -> [AllocatedMAC]
    /// Reserves exactly these addresses; all or nothing, refused (``LedgerError/alreadyReserved(_:ledger:)``)
    /// if any is already reserved.
    func reserve(_ macs: [MACAddress], label: String, checkedAgainst: String) throws(LedgerError)
    /// Removes these reservations; returns the ones that were there.
    func release(_ macs: [MACAddress]) throws(LedgerError) -> [MACAddress]
    /// The reservations of these addresses, where there are any.
    func reservations(of macs: [MACAddress]) throws(LedgerError) -> [Reservation]
}

/// Where the ledger lives: parsed once from `--ledger` or `VIRT_MACVTAP_LEDGER`.
public enum LedgerLocation: Sendable, Hashable, CustomStringConvertible {
    /// An SQLite file.
    case sqlite(path: String)
    /// A PostgreSQL database: `postgresql://[user[:password]@]host[:port]/dbname[?…]` (or
    /// `postgres://`), handed to libpq as given.
    case postgresql(url: String)

    /// The environment variable that sets the default ledger.
    public static let environmentVariable = "VIRT_MACVTAP_LEDGER"

    /// A `postgresql://` or `postgres://` URL is a PostgreSQL ledger; anything else a file path.
    public init(_ text: String) {
        self = text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") ? .postgresql(url: text) : .sqlite(path: text)
    }

    /// The given ledger, else `VIRT_MACVTAP_LEDGER`, else the SQLite file at ``SQLiteLedger/defaultPath(environment:)``.
    public static func resolve(_ given: LedgerLocation?, environment: [String: String]? = nil) -> LedgerLocation {
        if let given { return given }
        let environment = environment ?? ProcessInfo.processInfo.environment
        if let value = environment[environmentVariable], !value.isEmpty { return LedgerLocation(value) }
        return .sqlite(path: SQLiteLedger.defaultPath(environment: environment))
    }

    /// The path or URL, with any password replaced by `***`.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgresql(let url): Self.redacted(url)
        }
    }

    /// True for a database server (shared by a fleet), false for a file.
    public var isShared: Bool {
        if case .postgresql = self { return true }
        return false
    }

    /// Opens the ledger (creating or migrating its schema when writing). A ledger that does not
    /// exist yet, opened for reading, is nil: nothing is reserved.
    public func open(forWriting: Bool, lockTimeout: Duration = .seconds(30)) throws(LedgerError) -> (any MACLedger)? {
        switch self {
        case .sqlite(let path): try SQLiteLedger.open(path: path, forWriting: forWriting, lockTimeout: lockTimeout)
        case .postgresql(let url): try PostgresLedger.open(url: url, forWriting: forWriting, lockTimeout: lockTimeout)
        }
    }

    /// `user:secret@` → `user:***@`, and a `password=` query parameter → `password=***`.
    package static func redacted(_ url: String) -> String {
        url.replacing(/(:\/\/[^\/\s:@]*:)[^@\s\/]*@/) { match in "\(match.output.1)***@" }
            .replacing(/([?&]password=)[^&\s]*/) { match in "\(match.output.1)***" }
    }
}

/// Why the ledger could not do what was asked. Every case means nothing was written, except
/// ``connectionLost(ledger:detail:whileCommitting:)`` while committing, which says so.
public enum LedgerError: Error, Sendable, CustomStringConvertible {
    case locked(ledger: String, seconds: Double)
    case readOnly(ledger: String, detail: String)
    case corrupt(ledger: String, detail: String)
    case notALedger(ledger: String)
    case cannotOpen(ledger: String, detail: String)
    case alreadyReserved([Reservation], ledger: String)
    case allocation(AllocationError)
    /// The server cannot be reached (down, wrong address or port, refused by pg_hba.conf, no such database).
    case unreachable(ledger: String, detail: String)
    /// The server refused the user name or password.
    case authentication(ledger: String, detail: String)
    /// The role lacks a privilege the ledger needs (SQLSTATE 42501).
    case permissionDenied(ledger: String, detail: String)
    /// The connection broke during a change.
    case connectionLost(ledger: String, detail: String, whileCommitting: Bool)
    /// Other clients kept taking the chosen addresses (or the server kept reporting
    /// serialization failures) for `attempts` tries in a row.
    case contention(ledger: String, attempts: Int)
    /// The database holds a newer ledger schema than this version knows.
    case newerSchema(ledger: String, version: Int, known: Int)
    case other(ledger: String, detail: String)

    public var description: String {
        switch self {
        case .locked(let ledger, let seconds):
            "ledger \(ledger) is locked by another process (waited \(seconds) s); nothing was written; try again, or wait longer for the lock"
        case .readOnly(let ledger, let detail):
            "ledger \(ledger) is read-only (\(detail)); nothing was written; use a ledger at a writable path"
        case .corrupt(let ledger, let detail):
            "ledger \(ledger) is not a readable SQLite database (\(detail)); nothing was written; restore it from a backup or use another ledger"
        case .notALedger(let ledger):
            "\(ledger) is a database but not a virt-macvtap ledger; nothing was written; use a ledger or a new, empty database"
        case .cannotOpen(let ledger, let detail):
            "cannot open ledger \(ledger) (\(detail)); check the path and its directory's permissions"
        case .alreadyReserved(let reservations, let ledger):
            "already reserved in \(ledger): "
                + reservations.map { "\($0.mac) (label '\($0.label)', \($0.reservedAt))" }.joined(separator: ", ")
                + "; nothing was written"
        case .allocation(let error): error.description
        case .unreachable(let ledger, let detail):
            "cannot reach ledger \(ledger) (\(detail)); nothing was written; check the address, that the server runs and that its pg_hba.conf admits this client"
        case .authentication(let ledger, let detail):
            "ledger \(ledger) refused the credentials (\(detail)); nothing was written; check the user and password (or ~/.pgpass)"
        case .permissionDenied(let ledger, let detail):
            "ledger \(ledger): permission denied (\(detail)); nothing was written; grant the role the privileges the ledger needs"
        case .connectionLost(let ledger, let detail, let whileCommitting):
            whileCommitting
                ? "the connection to ledger \(ledger) was lost while committing (\(detail)); the server may or may not have recorded the addresses: list the ledger's reservations before trying again"
                : "the connection to ledger \(ledger) was lost during the change (\(detail)); the server rolled the transaction back and nothing was recorded; try again"
        case .contention(let ledger, let attempts):
            "ledger \(ledger): other clients kept taking the chosen addresses (\(attempts) attempts); nothing was written; try again"
        case .newerSchema(let ledger, let version, let known):
            "ledger \(ledger) has schema version \(version), newer than this virt-macvtap knows (\(known)); nothing was written; upgrade virt-macvtap"
        case .other(let ledger, let detail): "ledger \(ledger): \(detail); nothing was written"
        }
    }

    /// True when the request itself was refused (the addresses are taken, or the space is too
    /// small), false when the ledger could not be used.
    public var isRefusal: Bool {
        switch self {
        case .alreadyReserved, .allocation: true
        default: false
        }
    }
}

extension MACAllocator {
    /// `count` free addresses under 52:54:00, none in `taken` nor reserved in `ledger` (when it
    /// exists): what `generate` and `edit --add-direct` use.
    public static func freeQEMUAddresses(
        count: Int, excluding taken: Set<MACAddress>, ledger: LedgerLocation = .resolve(nil)
    ) throws(LedgerError) -> [MACAddress] {
        let reserved = try ledger.open(forWriting: false)?.reservedMACs() ?? []
        do {
            return try MACAllocator(space: .qemuDefault).allocate(count: count, taken: taken.union(reserved)).map(\.mac)
        } catch {
            throw .allocation(error)
        }
    }
}
