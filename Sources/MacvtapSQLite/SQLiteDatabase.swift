internal import CSQLite

/// SQLite's primary result codes callers branch on, by name, like GRDB's `ResultCode`: compare
/// with `==` or match an error in a `switch`/`catch` with `~=` (`case SQLiteResultCode.busy:`).
public struct SQLiteResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let busy = SQLiteResultCode(rawValue: SQLITE_BUSY)
    public static let locked = SQLiteResultCode(rawValue: SQLITE_LOCKED)
    public static let readOnly = SQLiteResultCode(rawValue: SQLITE_READONLY)
    public static let permission = SQLiteResultCode(rawValue: SQLITE_PERM)
    public static let corrupt = SQLiteResultCode(rawValue: SQLITE_CORRUPT)
    public static let notADatabase = SQLiteResultCode(rawValue: SQLITE_NOTADB)
    public static let cannotOpen = SQLiteResultCode(rawValue: SQLITE_CANTOPEN)

    public var description: String { "SQLite result \(rawValue)" }

    public static func ~= (pattern: SQLiteResultCode, error: any Error) -> Bool {
        (error as? SQLiteError)?.resultCode == pattern
    }
}

/// An error from SQLite, keeping its (extended) result code and message.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// SQLite's extended result code (e.g. 5 = SQLITE_BUSY, 8 = SQLITE_READONLY, 26 = SQLITE_NOTADB).
    public var code: Int32
    public var message: String
    /// What we were doing (e.g. "opening /var/lib/x.sqlite").
    public var operation: String

    public var description: String { "\(operation): \(message)" }

    /// The primary result code (the low byte of the extended one).
    public var primaryCode: Int32 { code & 0xFF }
    /// The primary result code by name.
    public var resultCode: SQLiteResultCode { SQLiteResultCode(rawValue: primaryCode) }
    public var isBusy: Bool { resultCode == .busy || resultCode == .locked }
    public var isReadOnly: Bool { resultCode == .readOnly || resultCode == .permission }
    public var isCorrupt: Bool { resultCode == .corrupt || resultCode == .notADatabase }
    public var isCannotOpen: Bool { resultCode == .cannotOpen }

    public init(code: Int32, message: String, operation: String) {
        self.code = code
        self.message = message
        self.operation = operation
    }
}

/// One SQLite database connection. Owns its `sqlite3*` (closed in `close()` or `deinit`); not
/// shared between threads.
public final class SQLiteDatabase {
    public enum OpenMode: Sendable {
        case readOnly
        case readWrite
        case readWriteCreate
    }

    public let path: String
    private var handle: OpaquePointer?

    /// Opens `path`. `busyTimeout`: how long a statement waits for another process's lock before
    /// failing with SQLITE_BUSY.
    public init(path: String, mode: OpenMode, busyTimeout: Duration) throws(SQLiteError) {
        self.path = path
        let flags: Int32 =
            switch mode {
            case .readOnly: SQLITE_OPEN_READONLY
            case .readWrite: SQLITE_OPEN_READWRITE
            case .readWriteCreate: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
            }
        var opened: OpaquePointer?
        let status = sqlite3_open_v2(path, &opened, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard status == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            let code = opened.map { sqlite3_extended_errcode($0) } ?? status
            sqlite3_close_v2(opened)
            throw SQLiteError(code: code, message: message, operation: "opening \(path)")
        }
        handle = opened
        sqlite3_extended_result_codes(opened, 1)
        let components = busyTimeout.components
        let milliseconds = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(opened, Int32(clamping: milliseconds))
    }

    deinit {
        close()
    }

    public func close() {
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        let database = try open("executing SQL")
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(database, sql, nil, nil, &errorMessage)
        guard status == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(database))
            sqlite3_free(errorMessage)
            throw SQLiteError(code: sqlite3_extended_errcode(database), message: message, operation: "on \(path)")
        }
    }

    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        let database = try open("preparing SQL")
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw lastError("preparing a statement on \(path)")
        }
        return SQLiteStatement(statement: statement, database: self)
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    /// `immediate` takes the write lock at once (BEGIN IMMEDIATE), so two writers never both
    /// read the old state and then write.
    public func transaction<Result>(
        immediate: Bool, _ body: () throws(SQLiteError) -> Result
    ) throws(SQLiteError) -> Result {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    public var changes: Int {
        handle.map { Int(sqlite3_changes($0)) } ?? 0
    }

    func lastError(_ operation: String) -> SQLiteError {
        guard let handle else { return SQLiteError(code: SQLITE_MISUSE, message: "the database is closed", operation: operation) }
        return SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), operation: operation)
    }

    private func open(_ operation: String) throws(SQLiteError) -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "the database is closed", operation: operation)
        }
        return handle
    }
}

/// A prepared statement. Owns its `sqlite3_stmt*` (finalized in `deinit`).
public final class SQLiteStatement {
    private let statement: OpaquePointer
    private let database: SQLiteDatabase

    init(statement: OpaquePointer, database: SQLiteDatabase) {
        self.statement = statement
        self.database = database
    }

    deinit {
        sqlite3_finalize(statement)
    }

    /// Binds parameters 1…n; clears earlier bindings first.
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32 =
                switch value {
                case .integer(let number): sqlite3_bind_int64(statement, index, number)
                case .text(let text): sqlite3_bind_text(statement, index, text, -1, virt_macvtap_sqlite_transient())
                case .null: sqlite3_bind_null(statement, index)
                }
            guard status == SQLITE_OK else { throw database.lastError("binding parameter \(index)") }
        }
    }

    /// Rebinds one integer parameter and keeps the others: for bulk inserts, where only one
    /// column changes from row to row.
    public func rebind(_ value: Int64, at index: Int) throws(SQLiteError) {
        sqlite3_reset(statement)
        guard sqlite3_bind_int64(statement, Int32(index), value) == SQLITE_OK else {
            throw database.lastError("binding parameter \(index)")
        }
    }

    /// Advances to the next row: true when there is one, false when done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.lastError("running a statement on \(database.path)")
        }
    }

    public func integer(at column: Int) -> Int64 {
        sqlite3_column_int64(statement, Int32(column))
    }

    public func text(at column: Int) -> String {
        sqlite3_column_text(statement, Int32(column)).map { String(cString: $0) } ?? ""
    }
}

public enum SQLiteValue: Sendable, Hashable {
    case integer(Int64)
    case text(String)
    case null
}
