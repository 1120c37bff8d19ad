import FoundationEssentials
import MacvtapSQLite
import MacvtapSystem

/// The embedded ledger: an SQLite file, the default for one machine. Each reservation is one row of the `reservations`
/// view (MAC as a 48-bit integer, label, UTC time, the hosts and files it was checked against);
/// underneath, `addresses` holds one small row per MAC pointing at its `batches` row, so a
/// million addresses take ~15 MB instead of ~50. Every change is one transaction that takes the
/// write lock first (BEGIN IMMEDIATE), so concurrent runs on one ledger serialize and never
/// hand out the same address twice.
public final class SQLiteLedger: MACLedger {
    public let path: String
    public var location: LedgerLocation { .sqlite(path: path) }
    private let lockTimeout: Duration
    private let database: SQLiteDatabase
    /// 'VMTV': marks the file as ours, so --ledger pointing at another application's database
    /// is refused instead of changed.
    package static let applicationID: Int64 = 0x564D_5456

    /// `$XDG_STATE_HOME/virt-macvtap/ledger.sqlite`, else `~/.local/state/virt-macvtap/ledger.sqlite`.
    public static func defaultPath(environment: [String: String]? = nil) -> String {
        let environment = environment ?? ProcessInfo.processInfo.environment
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return state + "/virt-macvtap/ledger.sqlite"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/root"
        return home + "/.local/state/virt-macvtap/ledger.sqlite"
    }

    /// Opens (and for writing, creates) the ledger. A missing ledger opened for reading is nil:
    /// nothing is reserved.
    public static func open(path: String, forWriting: Bool, lockTimeout: Duration = .seconds(30)) throws(LedgerError) -> SQLiteLedger? {
        if !forWriting, !FileIO.exists(atPath: path) { return nil }
        if forWriting {
            let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            if !directory.isEmpty, !FileIO.exists(atPath: directory) {
                do {
                    try FileIO.createDirectories(atPath: directory)
                } catch {
                    throw .cannotOpen(ledger: path, detail: error.description)
                }
            }
        }
        return try SQLiteLedger(path: path, forWriting: forWriting, lockTimeout: lockTimeout)
    }

    private init(path: String, forWriting: Bool, lockTimeout: Duration) throws(LedgerError) {
        self.path = path
        self.lockTimeout = lockTimeout
        do {
            database = try SQLiteDatabase(path: path, mode: forWriting ? .readWriteCreate : .readOnly, busyTimeout: lockTimeout)
        } catch {
            throw Self.map(error, path: path, lockTimeout: lockTimeout)
        }
        try prepareSchema(forWriting: forWriting)
    }

    private enum Identity { case ledger, empty, foreign }

    /// What the file is. The statements end with this call: one left open keeps a read lock,
    /// and two processes creating the ledger at once then deadlock (SQLite answers SQLITE_BUSY
    /// at once, without waiting; seen with 8 concurrent first runs under ASan's slower timing).
    private func identity() throws(SQLiteError) -> Identity {
        let identity = try database.prepare("PRAGMA application_id")
        try identity.step()
        if identity.integer(at: 0) == Self.applicationID { return .ledger }
        let objects = try database.prepare("SELECT count(*) FROM sqlite_master")
        try objects.step()
        // Only an empty database may become a ledger; anything else belongs to someone else.
        return identity.integer(at: 0) == 0 && objects.integer(at: 0) == 0 ? .empty : .foreign
    }

    private func prepareSchema(forWriting: Bool) throws(LedgerError) {
        let isLedger = try run { () throws(SQLiteError) -> Bool in
            switch try identity() {
            case .ledger: return true
            case .foreign: return false
            case .empty: break
            }
            guard forWriting else { return true }
            return try database.transaction(immediate: true) { () throws(SQLiteError) -> Bool in
                // Asked again under the write lock: another process may have created it meanwhile.
                switch try identity() {
                case .ledger: return true
                case .foreign: return false
                case .empty: break
                }
                try database.execute(
                    """
                    PRAGMA application_id = \(Self.applicationID);
                    PRAGMA user_version = 1;
                    CREATE TABLE batches (
                        id INTEGER PRIMARY KEY,
                        label TEXT NOT NULL DEFAULT '',
                        reserved_at TEXT NOT NULL,
                        checked_against TEXT NOT NULL DEFAULT ''
                    );
                    CREATE TABLE addresses (
                        mac INTEGER PRIMARY KEY,
                        batch INTEGER NOT NULL REFERENCES batches(id)
                    );
                    CREATE VIEW reservations AS
                        SELECT mac, label, reserved_at, checked_against FROM addresses JOIN batches ON batches.id = addresses.batch;
                    """)
                return true
            }
        }
        if !isLedger { throw .notALedger(ledger: path) }
    }

    /// Every reservation, in address order.
    public func reservations() throws(LedgerError) -> [Reservation] {
        try run { () throws(SQLiteError) in
            guard try hasTable() else { return [] }
            let statement = try database.prepare("SELECT mac, label, reserved_at, checked_against FROM reservations ORDER BY mac")
            var result: [Reservation] = []
            while try statement.step() {
                result.append(
                    Reservation(
                        mac: MACAddress(value: UInt64(statement.integer(at: 0))), label: statement.text(at: 1),
                        reservedAt: statement.text(at: 2), checkedAgainst: statement.text(at: 3)))
            }
            return result
        }
    }

    public func reservedMACs() throws(LedgerError) -> Set<MACAddress> {
        try run { () throws(SQLiteError) in try readMACs() }
    }

    /// Reads the reserved addresses and records what `choose` picks, in one write transaction:
    /// no other run can reserve in between. Nothing is written if `choose` throws.
    public func allocate(
        label: String, checkedAgainst: String, _ choose: (Set<MACAddress>) throws(AllocationError) -> [AllocatedMAC]
    ) throws(LedgerError) -> [AllocatedMAC] {
        var refusal: AllocationError?
        let chosen = try run { () throws(SQLiteError) -> [AllocatedMAC] in
            try database.transaction(immediate: true) { () throws(SQLiteError) -> [AllocatedMAC] in
                let reserved = try readMACs()
                let chosen: [AllocatedMAC]
                do throws(AllocationError) {
                    chosen = try choose(reserved)
                } catch {
                    refusal = error
                    return []  // an empty transaction: nothing is written
                }
                try insert(chosen.map(\.mac), label: label, checkedAgainst: checkedAgainst)
                return chosen
            }
        }
        if let refusal { throw .allocation(refusal) }
        return chosen
    }

    /// Reserves exactly these addresses; all or nothing, refused if any is already reserved.
    public func reserve(_ macs: [MACAddress], label: String, checkedAgainst: String) throws(LedgerError) {
        let conflicts = try run { () throws(SQLiteError) -> [Reservation] in
            try database.transaction(immediate: true) { () throws(SQLiteError) -> [Reservation] in
                let conflicts = try lookup(macs)
                if conflicts.isEmpty { try insert(Array(Set(macs)), label: label, checkedAgainst: checkedAgainst) }
                return conflicts
            }
        }
        if !conflicts.isEmpty { throw .alreadyReserved(conflicts, ledger: path) }
    }

    /// Removes these reservations; returns the ones that were there.
    public func release(_ macs: [MACAddress]) throws(LedgerError) -> [MACAddress] {
        try run { () throws(SQLiteError) in
            try database.transaction(immediate: true) { () throws(SQLiteError) in
                let statement = try database.prepare("DELETE FROM addresses WHERE mac = ?")
                var released: [MACAddress] = []
                for mac in macs {
                    try statement.bind([.integer(Int64(mac.value))])
                    try statement.step()
                    if database.changes > 0 { released.append(mac) }
                }
                return released
            }
        }
    }

    /// The reservations of these addresses, where there are any.
    public func reservations(of macs: [MACAddress]) throws(LedgerError) -> [Reservation] {
        try run { () throws(SQLiteError) in try hasTable() ? try lookup(macs) : [] }
    }

    private func lookup(_ macs: [MACAddress]) throws(SQLiteError) -> [Reservation] {
        let statement = try database.prepare("SELECT label, reserved_at, checked_against FROM reservations WHERE mac = ?")
        var found: [Reservation] = []
        for mac in macs {
            try statement.bind([.integer(Int64(mac.value))])
            if try statement.step() {
                found.append(
                    Reservation(mac: mac, label: statement.text(at: 0), reservedAt: statement.text(at: 1), checkedAgainst: statement.text(at: 2)))
            }
        }
        return found
    }

    private func readMACs() throws(SQLiteError) -> Set<MACAddress> {
        guard try hasTable() else { return [] }
        let statement = try database.prepare("SELECT mac FROM addresses")
        var result = Set<MACAddress>()
        while try statement.step() { result.insert(MACAddress(value: UInt64(statement.integer(at: 0)))) }
        return result
    }

    /// One batch row for the transaction; one address row per MAC, in address order (appending
    /// to SQLite's B-tree is cheaper than inserting at random places).
    private func insert(_ unsorted: [MACAddress], label: String, checkedAgainst: String) throws(SQLiteError) {
        var values = unsorted.map(\.value)
        values.sort()
        let macs = values.map(MACAddress.init(value:))
        let batch = try database.prepare(
            "INSERT INTO batches (label, checked_against, reserved_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) RETURNING id")
        try batch.bind([.text(label), .text(checkedAgainst)])
        try batch.step()
        let batchID = batch.integer(at: 0)
        let statement = try database.prepare("INSERT INTO addresses (mac, batch) VALUES (?, ?)")
        try statement.bind([.integer(0), .integer(batchID)])
        for mac in macs {
            try statement.rebind(Int64(mac.value), at: 1)
            try statement.step()
        }
    }

    private func hasTable() throws(SQLiteError) -> Bool {
        let statement = try database.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'addresses'")
        try statement.step()
        return statement.integer(at: 0) > 0
    }

    private func run<Result>(_ body: () throws(SQLiteError) -> Result) throws(LedgerError) -> Result {
        do {
            return try body()
        } catch {
            throw Self.map(error, path: path, lockTimeout: lockTimeout)
        }
    }

    private static func map(_ error: SQLiteError, path: String, lockTimeout: Duration) -> LedgerError {
        if error.isBusy { return .locked(ledger: path, seconds: Double(lockTimeout.components.seconds)) }
        if error.isReadOnly { return .readOnly(ledger: path, detail: error.message) }
        if error.isCorrupt { return .corrupt(ledger: path, detail: error.message) }
        if error.isCannotOpen { return .cannotOpen(ledger: path, detail: error.message) }
        return .other(ledger: path, detail: error.message)
    }
}
