import FoundationEssentials
package import MacvtapPostgres
import MacvtapSystem

/// The shared ledger: a PostgreSQL database that a fleet's admins, CI runners and provisioning
/// hosts all allocate from. Its tables live in the schema `virt_macvtap` (so a database that
/// holds other things is never touched outside it). The primary key on the address decides
/// who gets it: an allocation reads what is reserved, chooses, and inserts; if another client
/// committed one of the same addresses meanwhile, the insert fails on the constraint and this
/// client chooses again (a bounded number of times), all in one transaction.
public final class PostgresLedger: MACLedger {
    public let location: LedgerLocation
    private let connection: PostgresConnection
    private var ledgerName: String { location.description }

    /// The schema's versions, applied in order on first use. Never edit one that shipped: add one.
    package static let migrations: [(version: Int, description: String, sql: String)] = [
        (
            1, "batches, addresses and the reservations view",
            """
            CREATE TABLE virt_macvtap.batches (
                id bigserial PRIMARY KEY,
                label text NOT NULL DEFAULT '',
                reserved_at timestamptz NOT NULL DEFAULT now(),
                checked_against text NOT NULL DEFAULT ''
            );
            -- No foreign key to batches: a million-row COPY would fire a million RI triggers, and
            -- the ledger writes a batch and its addresses in one transaction anyway.
            CREATE TABLE virt_macvtap.addresses (
                mac bigint PRIMARY KEY CHECK (mac >= 0 AND mac < 281474976710656),
                batch bigint NOT NULL
            );
            CREATE VIEW virt_macvtap.reservations AS
                SELECT mac, label, reserved_at, checked_against
                FROM virt_macvtap.addresses JOIN virt_macvtap.batches ON batches.id = addresses.batch;
            """
        ),
        // Not an index on addresses.batch: a second B-tree insert per address made a
        // million-address COPY 0.5 s slower (measured), and nothing looks addresses up by batch.
        (
            2, "an index on the batches' times (stale reservations)",
            "CREATE INDEX batches_reserved_at ON virt_macvtap.batches (reserved_at);"
        ),
    ]
    package static var latestVersion: Int { migrations.last!.version }
    /// Marks the schema as ours: a `virt_macvtap` schema without it belongs to someone else.
    package static let schemaComment = "virt-macvtap MAC ledger"
    /// pg_advisory_xact_lock key ('VMTV'): concurrent first users wait for the one migrating.
    package static let migrationLockKey = 0x564D_5456
    /// Batches up to this size are inserted with one parameterised INSERT; larger ones with COPY.
    package static let copyThreshold = 1000
    /// How many times a transaction is tried when other clients take the chosen addresses
    /// first or the server reports a serialization failure or deadlock.
    package static let maximumAttempts = 16

    private static let timestamp = "to_char(reserved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    private static let reservationsOf =
        "SELECT mac, label, \(timestamp), checked_against FROM virt_macvtap.reservations WHERE mac = ANY($1::bigint[]) ORDER BY mac"

    /// Connects, and for writing brings the schema to the latest version. A database with no
    /// ledger yet, opened for reading, is nil: nothing is reserved.
    public static func open(url: String, forWriting: Bool, lockTimeout: Duration = .seconds(30)) throws(LedgerError) -> PostgresLedger? {
        let location = LedgerLocation.postgresql(url: url)
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection(url: url, applicationName: "virt-macvtap")
            let milliseconds = lockTimeout.components.seconds * 1000 + lockTimeout.components.attoseconds / 1_000_000_000_000_000
            try connection.execute("SELECT set_config('lock_timeout', $1, false)", [String(milliseconds)], operation: "setting the lock timeout")
        } catch {
            throw map(error, ledger: location.description, lockTimeout: lockTimeout)
        }
        let ledger = PostgresLedger(location: location, connection: connection, lockTimeout: lockTimeout)
        guard try ledger.prepareSchema(forWriting: forWriting) else { return nil }
        return ledger
    }

    private let lockTimeout: Duration

    private init(location: LedgerLocation, connection: PostgresConnection, lockTimeout: Duration) {
        self.location = location
        self.connection = connection
        self.lockTimeout = lockTimeout
    }

    private enum Identity: Equatable {
        case missing, foreign
        case ledger(version: Int)
    }

    private func identity() throws(PostgresError) -> Identity {
        var comment: String?
        var exists = false
        try connection.query(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = 'virt_macvtap'", operation: "looking for the ledger"
        ) { row in
            exists = true
            comment = row.isNull(at: 0) ? nil : row.text(at: 0)
        }
        guard exists else { return .missing }
        guard comment == Self.schemaComment else { return .foreign }
        var version = 0
        try connection.query("SELECT coalesce(max(version), 0) FROM virt_macvtap.schema_migrations", operation: "reading the schema version") { row in
            version = Int(row.integer(at: 0))
        }
        return .ledger(version: version)
    }

    /// False when there is no ledger and none is to be made (reading).
    private func prepareSchema(forWriting: Bool) throws(LedgerError) -> Bool {
        let found = try run { () throws(PostgresError) -> Identity in
            let found = try identity()
            switch found {
            case .foreign: return found
            case .ledger(let version) where version >= Self.latestVersion || !forWriting: return found
            case .missing where !forWriting: return found
            default: break
            }
            return try connection.transaction { () throws(PostgresError) -> Identity in
                try connection.execute("SELECT pg_advisory_xact_lock($1)", [String(Self.migrationLockKey)], operation: "waiting for another client's migration")
                // Asked again under the lock: another client may have migrated meanwhile.
                let current = try identity()
                var version: Int
                switch current {
                case .foreign: return current
                case .ledger(let found): version = found
                case .missing:
                    try connection.executeScript(
                        """
                        CREATE SCHEMA virt_macvtap;
                        COMMENT ON SCHEMA virt_macvtap IS '\(Self.schemaComment)';
                        CREATE TABLE virt_macvtap.schema_migrations (
                            version integer PRIMARY KEY,
                            description text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now()
                        );
                        """, operation: "creating the ledger schema")
                    version = 0
                }
                for migration in Self.migrations where migration.version > version {
                    try connection.executeScript(migration.sql, operation: "applying schema migration \(migration.version)")
                    try connection.execute(
                        "INSERT INTO virt_macvtap.schema_migrations (version, description) VALUES ($1, $2)",
                        [String(migration.version), migration.description], operation: "recording schema migration \(migration.version)")
                    version = migration.version
                }
                return .ledger(version: version)
            }
        }
        switch found {
        case .foreign: throw .notALedger(ledger: ledgerName)
        case .missing: return false
        case .ledger(let version) where version > Self.latestVersion:
            if forWriting { throw .newerSchema(ledger: ledgerName, version: version, known: Self.latestVersion) }
            return true
        case .ledger: return true
        }
    }

    public func reservations() throws(LedgerError) -> [Reservation] {
        try run { () throws(PostgresError) in
            try readReservations(
                "SELECT mac, label, \(Self.timestamp), checked_against FROM virt_macvtap.reservations ORDER BY mac", [])
        }
    }

    public func reservedMACs() throws(LedgerError) -> Set<MACAddress> {
        try run { () throws(PostgresError) in try readMACs() }
    }

    public func reservations(of macs: [MACAddress]) throws(LedgerError) -> [Reservation] {
        try run { () throws(PostgresError) in
            try readReservations(Self.reservationsOf, [Self.array(macs)])
        }
    }

    public func allocate(
        label: String, checkedAgainst: String, _ choose: (Set<MACAddress>) throws(AllocationError) -> [AllocatedMAC]
    ) throws(LedgerError) -> [AllocatedMAC] {
        let outcome = try retrying { () throws(PostgresError) -> Attempt<[AllocatedMAC]> in
            try connection.transaction(commitIf: \.isDone) { () throws(PostgresError) -> Attempt<[AllocatedMAC]> in
                var batch: Int64?
                for _ in 1...Self.maximumAttempts {
                    // Read committed: each read sees what other clients committed since the last try.
                    let reserved = try readMACs()
                    let chosen: [AllocatedMAC]
                    do throws(AllocationError) {
                        chosen = try choose(reserved)
                    } catch {
                        return .refused(error)
                    }
                    let id: Int64
                    if let batch { id = batch } else { id = try insertBatch(label: label, checkedAgainst: checkedAgainst) }
                    batch = id
                    if try insertAddresses(chosen.map(\.mac), batch: id) { return .done(chosen) }
                }
                return .again
            }
        }
        switch outcome {
        case .done(let chosen): return chosen
        case .refused(let error): throw .allocation(error)
        case .taken, .again: throw .contention(ledger: ledgerName, attempts: Self.maximumAttempts)
        }
    }

    public func reserve(_ macs: [MACAddress], label: String, checkedAgainst: String) throws(LedgerError) {
        let unique = Array(Set(macs))
        let outcome = try retrying { () throws(PostgresError) -> Attempt<Void> in
            try connection.transaction(commitIf: \.isDone) { () throws(PostgresError) -> Attempt<Void> in
                // Checked first only to name the holders; the primary key still decides below.
                let holders = try readReservations(Self.reservationsOf, [Self.array(unique)])
                if !holders.isEmpty { return .taken(holders) }
                let batch = try insertBatch(label: label, checkedAgainst: checkedAgainst)
                return try insertAddresses(unique, batch: batch) ? .done(()) : .again
            }
        }
        switch outcome {
        case .done: return
        case .taken(let holders): throw .alreadyReserved(holders, ledger: ledgerName)
        case .refused(let error): throw .allocation(error)
        case .again: throw .contention(ledger: ledgerName, attempts: Self.maximumAttempts)
        }
    }

    public func release(_ macs: [MACAddress]) throws(LedgerError) -> [MACAddress] {
        try run { () throws(PostgresError) in
            var released: [MACAddress] = []
            try connection.query(
                "DELETE FROM virt_macvtap.addresses WHERE mac = ANY($1::bigint[]) RETURNING mac", [Self.array(macs)], operation: "releasing"
            ) { row in
                released.append(MACAddress(value: UInt64(row.integer(at: 0))))
            }
            let order = Dictionary(macs.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
            return released.sorted { order[$0, default: 0] < order[$1, default: 0] }
        }
    }

    // MARK: - Statements

    private func insertBatch(label: String, checkedAgainst: String) throws(PostgresError) -> Int64 {
        var batch: Int64 = 0
        try connection.query(
            "INSERT INTO virt_macvtap.batches (label, checked_against) VALUES ($1, $2) RETURNING id", [label, checkedAgainst],
            operation: "recording the batch"
        ) { row in
            batch = row.integer(at: 0)
        }
        return batch
    }

    /// Inserts the addresses under a savepoint; false (and nothing inserted) when the primary
    /// key refused one because another client holds it.
    private func insertAddresses(_ macs: [MACAddress], batch: Int64) throws(PostgresError) -> Bool {
        // In address order: two clients inserting overlapping sets then wait for each other in
        // one order and cannot deadlock.
        let values = macs.map(\.value).sorted()
        try connection.execute("SAVEPOINT addresses", operation: "recording the addresses")
        do {
            if values.count <= Self.copyThreshold {
                try connection.execute(
                    "INSERT INTO virt_macvtap.addresses (mac, batch) SELECT unnest($1::bigint[]), $2", [Self.array(values), String(batch)],
                    operation: "recording the addresses")
            } else {
                var data: [UInt8] = []
                data.reserveCapacity(values.count * 24)
                let suffix = Array("\t\(batch)\n".utf8)
                for value in values {
                    data.append(contentsOf: String(value).utf8)
                    data.append(contentsOf: suffix)
                }
                try connection.copyIn("COPY virt_macvtap.addresses (mac, batch) FROM STDIN", data: data, operation: "recording the addresses")
            }
        } catch  where error.isUniqueViolation {
            try connection.execute("ROLLBACK TO SAVEPOINT addresses", operation: "recording the addresses")
            return false
        }
        try connection.execute("RELEASE SAVEPOINT addresses", operation: "recording the addresses")
        return true
    }

    private func readMACs() throws(PostgresError) -> Set<MACAddress> {
        var result = Set<MACAddress>()
        try connection.query("SELECT mac FROM virt_macvtap.addresses", operation: "reading the reservations") { row in
            result.insert(MACAddress(value: UInt64(row.integer(at: 0))))
        }
        return result
    }

    private func readReservations(_ sql: String, _ parameters: [PostgresParameter]) throws(PostgresError) -> [Reservation] {
        var result: [Reservation] = []
        try connection.query(sql, parameters, operation: "reading the reservations") { row in
            result.append(
                Reservation(
                    mac: MACAddress(value: UInt64(row.integer(at: 0))), label: row.text(at: 1), reservedAt: row.text(at: 2),
                    checkedAgainst: row.text(at: 3)))
        }
        return result
    }

    /// A PostgreSQL array literal of integers (`{1,2,3}`), passed as one parameter.
    private static func array(_ macs: [MACAddress]) -> String { array(macs.map(\.value)) }
    private static func array(_ values: [UInt64]) -> String { "{" + values.map(String.init).joined(separator: ",") + "}" }

    // MARK: - Errors and retries

    /// How one transaction ended: committed with a value, refused (nothing written), or to be
    /// tried again because other clients kept taking the addresses.
    private enum Attempt<Value> {
        case done(Value)
        case refused(AllocationError)
        case taken([Reservation])
        case again

        package var isDone: Bool {
            if case .done = self { return true }
            return false
        }
    }

    /// Runs `attempt` (one transaction) again after `.again` or a serialization failure or
    /// deadlock, up to `maximumAttempts` times with a short, growing pause.
    private func retrying<Value>(_ attempt: () throws(PostgresError) -> Attempt<Value>) throws(LedgerError) -> Attempt<Value> {
        for round in 1...Self.maximumAttempts {
            do {
                let outcome = try attempt()
                if case .again = outcome {} else { return outcome }
            } catch  where error.isTransient {
                // The server rolled the transaction back; run it again.
            } catch {
                throw Self.map(error, ledger: ledgerName, lockTimeout: lockTimeout)
            }
            sleepThread(milliseconds: round * 5)
        }
        return .again
    }

    private func run<Result>(_ body: () throws(PostgresError) -> Result) throws(LedgerError) -> Result {
        do {
            return try body()
        } catch {
            throw Self.map(error, ledger: ledgerName, lockTimeout: lockTimeout)
        }
    }

    package static func map(_ error: PostgresError, ledger: String, lockTimeout: Duration) -> LedgerError {
        switch error.kind {
        case .connect:
            return error.isAuthenticationFailure
                ? .authentication(ledger: ledger, detail: error.message) : .unreachable(ledger: ledger, detail: error.message)
        case .connectionLost:
            return .connectionLost(ledger: ledger, detail: error.message, whileCommitting: error.operation == "committing")
        case .statement:
            if error.isPermissionDenied { return .permissionDenied(ledger: ledger, detail: error.message) }
            // 55P03 lock_not_available: lock_timeout expired.
            if error.sqlState == "55P03" { return .locked(ledger: ledger, seconds: Double(lockTimeout.components.seconds)) }
            return .other(ledger: ledger, detail: error.description)
        }
    }
}
