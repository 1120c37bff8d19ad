internal import CLibPQ
import Glibc

/// The server's SQLSTATEs callers branch on, by name, like GRDB's `ResultCode`: compare with
/// `==` or match an error in a `switch`/`catch` with `~=` (`case PostgresResultCode.uniqueViolation:`).
public struct PostgresResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let uniqueViolation = PostgresResultCode(rawValue: "23505")
    public static let serializationFailure = PostgresResultCode(rawValue: "40001")
    public static let deadlockDetected = PostgresResultCode(rawValue: "40P01")
    public static let insufficientPrivilege = PostgresResultCode(rawValue: "42501")
    public static let invalidPassword = PostgresResultCode(rawValue: "28P01")
    public static let invalidAuthorization = PostgresResultCode(rawValue: "28000")

    public var description: String { "SQLSTATE \(rawValue)" }

    public static func ~= (pattern: PostgresResultCode, error: any Error) -> Bool {
        (error as? PostgresError)?.resultCode == pattern
    }
}

/// An error from libpq or the server, keeping the server's SQLSTATE (when there is one) and
/// libpq's message on one line. Never carries the connection URL: callers name the ledger
/// themselves, with the password redacted.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The connection could not be made (unreachable, refused, authentication, no such database).
        case connect
        /// A statement failed on a working connection (the server's SQLSTATE says why).
        case statement
        /// The connection broke during a statement: the server rolls the transaction back.
        case connectionLost
    }

    public var kind: Kind
    /// The server's five-character SQLSTATE (e.g. "23505" unique violation), when it sent one.
    public var sqlState: String?
    public var message: String
    /// What we were doing (e.g. "connecting", "reading the reservations").
    public var operation: String

    public var description: String {
        sqlState.map { "\(operation): \(message) (SQLSTATE \($0))" } ?? "\(operation): \(message)"
    }

    /// The SQLSTATE by name, when the server sent one.
    public var resultCode: PostgresResultCode? { sqlState.map(PostgresResultCode.init(rawValue:)) }

    /// Another transaction holds the value a unique constraint protects.
    public var isUniqueViolation: Bool { resultCode == .uniqueViolation }
    /// A serialization failure or deadlock: the transaction may simply be run again.
    public var isTransient: Bool { resultCode == .serializationFailure || resultCode == .deadlockDetected }
    /// Insufficient privilege.
    public var isPermissionDenied: Bool { resultCode == .insufficientPrivilege }
    /// A password or authentication refusal (libpq reports these only as text while connecting).
    public var isAuthenticationFailure: Bool {
        resultCode == .invalidPassword || resultCode == .invalidAuthorization || message.contains("authentication failed")
            || message.contains("no password supplied")
    }

    public init(kind: Kind, sqlState: String?, message: String, operation: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.operation = operation
    }
}

/// A parameter value: text, or SQL NULL.
public typealias PostgresParameter = String?

/// One connection to a PostgreSQL server through libpq. Owns its `PGconn*` (finished in
/// `close()` or `deinit`) and every `PGresult*` (cleared before a call returns); rows are lent to
/// a closure, never kept. Values always travel as parameters, never inside the SQL text. Not
/// shared between threads.
public final class PostgresConnection {
    private var connection: OpaquePointer?
    private let api: PostgresAPI

    /// Connects with `url` (`postgresql://…` or `postgres://…`, or any conninfo string libpq
    /// accepts; libpq's environment — PGPASSFILE, PGSSLMODE, service files — applies as usual).
    /// `applicationName` shows in `pg_stat_activity` unless the URL sets its own.
    public init(url: String, applicationName: String, connectTimeoutSeconds: Int = 10) throws(PostgresError) {
        let api = try PostgresAPI.get()
        self.api = api
        // Keywords before `dbname` are defaults the URL (expanded from `dbname`) may override.
        let keywords = ["connect_timeout", "fallback_application_name", "dbname"]
        let values = [String(connectTimeoutSeconds), applicationName, url]
        let opened = withCStringArrays(keywords, values) { keywordPointers, valuePointers in
            api.connectdbParams(keywordPointers, valuePointers, 1)
        }
        guard let opened, api.status(opened) == CONNECTION_OK else {
            let message = opened.map { Self.oneLine(api.text(api.errorMessage($0))) } ?? "out of memory"
            api.finish(opened)
            throw PostgresError(kind: .connect, sqlState: nil, message: message, operation: "connecting")
        }
        connection = opened
        // Notices (e.g. "relation already exists, skipping") are not for the user's terminal.
        _ = api.setNoticeProcessor(opened, { _, _ in }, nil)
    }

    deinit {
        close()
    }

    public func close() {
        if let connection { api.finish(connection) }
        connection = nil
    }

    /// Runs one statement with `parameters` ($1, $2, … in `sql`) and returns how many rows it
    /// changed (the count in the command tag; 0 when it has none).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresParameter] = [], operation: String) throws(PostgresError) -> Int {
        try withResult(sql, parameters, operation: operation) { result in
            Int(api.text(api.cmdTuples(result))) ?? 0
        }
    }

    /// Runs a script of statements without parameters (a schema migration); PostgreSQL runs a
    /// multi-statement string in one implicit transaction unless it has its own BEGIN/COMMIT.
    public func executeScript(_ sql: String, operation: String) throws(PostgresError) {
        let database = try open(operation)
        let result = api.exec(database, sql)
        defer { api.clear(result) }
        try check(result, database, operation: operation)
    }

    /// Runs a query and lends each row to `body`, in order.
    public func query(
        _ sql: String, _ parameters: [PostgresParameter] = [], operation: String, _ body: (borrowing PostgresRow) -> Void
    ) throws(PostgresError) {
        try withResult(sql, parameters, operation: operation) { result in
            let rows = api.ntuples(result)
            var row = PostgresRow(api: api, result: result, index: 0)
            for index in 0..<rows {
                row.index = index
                body(row)
            }
        }
    }

    /// `COPY … FROM STDIN` with `data` in COPY's text format (tab-separated columns, one line
    /// per row), sent in chunks; returns the number of rows the server copied.
    @discardableResult
    public func copyIn(_ sql: String, data: [UInt8], operation: String) throws(PostgresError) -> Int {
        let database = try open(operation)
        let started = api.exec(database, sql)
        let startedStatus = api.resultStatus(started)
        if startedStatus != PGRES_COPY_IN {
            defer { api.clear(started) }
            try check(started, database, operation: operation)
            throw PostgresError(kind: .statement, sqlState: nil, message: "the server did not enter COPY", operation: operation)
        }
        api.clear(started)
        let chunk = 1 << 20
        var offset = 0
        var sendFailed = false
        data.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { characters in
                while offset < buffer.count {
                    let length = min(chunk, buffer.count - offset)
                    if api.putCopyData(database, characters + offset, Int32(length)) != 1 {
                        sendFailed = true
                        return
                    }
                    offset += length
                }
            }
        }
        if sendFailed || api.putCopyEnd(database, nil) != 1 {
            // The final result below carries the reason; a lost connection shows there too.
            _ = api.putCopyEnd(database, "client failed to send the data")
        }
        var copied = 0
        var failure: PostgresError?
        while let result = api.getResult(database) {
            if failure == nil {
                do throws(PostgresError) {
                    try check(result, database, operation: operation)
                    copied = Int(api.text(api.cmdTuples(result))) ?? 0
                } catch {
                    failure = error
                }
            }
            api.clear(result)
        }
        if let failure { throw failure }
        if api.status(database) != CONNECTION_OK { throw lost(database, operation: operation) }
        return copied
    }

    /// Runs `body` in one (read committed) transaction: COMMIT when it returns a result that
    /// `commitIf` accepts, ROLLBACK when it returns another or throws (when the connection still
    /// works; a lost connection's transaction is rolled back by the server).
    public func transaction<Result>(
        commitIf shouldCommit: (Result) -> Bool = { _ in true }, _ body: () throws(PostgresError) -> Result
    ) throws(PostgresError) -> Result {
        try execute("BEGIN", operation: "beginning a transaction")
        let result: Result
        do {
            result = try body()
        } catch {
            if error.kind != .connectionLost { _ = try? execute("ROLLBACK", operation: "rolling back") }
            throw error
        }
        try execute(shouldCommit(result) ? "COMMIT" : "ROLLBACK", operation: "committing")
        return result
    }

    private func withResult<Value>(
        _ sql: String, _ parameters: [PostgresParameter], operation: String, _ body: (OpaquePointer) -> Value
    ) throws(PostgresError) -> Value {
        let database = try open(operation)
        let result = withCStrings(parameters) { pointers in
            api.execParams(database, sql, Int32(parameters.count), nil, pointers, nil, nil, 0)
        }
        defer { api.clear(result) }
        try check(result, database, operation: operation)
        guard let result else { throw lost(database, operation: operation) }
        return body(result)
    }

    private func check(_ result: OpaquePointer?, _ database: OpaquePointer, operation: String) throws(PostgresError) {
        let status = result.map { api.resultStatus($0) } ?? PGRES_FATAL_ERROR
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_COPY_IN, PGRES_EMPTY_QUERY:
            return
        default:
            if api.status(database) != CONNECTION_OK { throw lost(database, operation: operation) }
            let sqlState = result.flatMap { api.resultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
            let primary = result.flatMap { api.resultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) }
            let message = primary ?? Self.oneLine(api.text(api.errorMessage(database)))
            throw PostgresError(kind: .statement, sqlState: sqlState, message: message, operation: operation)
        }
    }

    private func lost(_ database: OpaquePointer, operation: String) -> PostgresError {
        let message = Self.oneLine(api.text(api.errorMessage(database)))
        return PostgresError(kind: .connectionLost, sqlState: nil, message: message.isEmpty ? "the connection was lost" : message, operation: operation)
    }

    private func open(_ operation: String) throws(PostgresError) -> OpaquePointer {
        guard let connection else {
            throw PostgresError(kind: .connectionLost, sqlState: nil, message: "the connection is closed", operation: operation)
        }
        return connection
    }

    /// libpq's messages span lines ("…failed: Connection refused\n\tIs the server running…").
    static func oneLine(_ message: String) -> String {
        message.split(whereSeparator: \.isNewline).map { String($0.drop { $0 == " " || $0 == "\t" }) }.filter { !$0.isEmpty }
            .joined(separator: "; ")
    }
}

/// One row of a result, lent (borrowed, not copyable, so it cannot outlive the result) to a
/// `query` closure.
public struct PostgresRow: ~Copyable {
    fileprivate let api: PostgresAPI
    fileprivate let result: OpaquePointer
    fileprivate var index: Int32

    fileprivate init(api: PostgresAPI, result: OpaquePointer, index: Int32) {
        self.api = api
        self.result = result
        self.index = index
    }

    public func isNull(at column: Int) -> Bool { api.getisnull(result, index, Int32(column)) == 1 }

    /// The column's text ("" for NULL).
    public func text(at column: Int) -> String { api.text(api.getvalue(result, index, Int32(column))) }

    /// The column as a 64-bit integer, parsed in place (0 for NULL or non-numbers).
    public func integer(at column: Int) -> Int64 { api.getvalue(result, index, Int32(column)).map { strtoll($0, nil, 10) } ?? 0 }
}

/// Lends `strings` to C as a `const char * const *` (NULL entries for nil) for the call's duration.
private func withCStrings<Result>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> Result) -> Result {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Two NULL-terminated C string arrays (libpq's keyword/value form).
private func withCStringArrays<Result>(
    _ keywords: [String], _ values: [String],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> Result
) -> Result {
    withCStrings(keywords + [nil]) { keywordPointers in
        withCStrings(values + [nil]) { valuePointers in body(keywordPointers, valuePointers) }
    }
}

extension PostgresAPI {
    /// A C string libpq returned, or "" for none.
    func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }
}
