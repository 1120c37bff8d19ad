internal import CLibPQ
internal import MacvtapSystem

#if canImport(Glibc)
    internal import Glibc
#endif

/// libpq's functions, resolved from libpq.so.5 the first time a ledger URL is opened.
///
/// Only a PostgreSQL ledger pays for loading libpq and the ~25 libraries it needs, and the tool
/// runs where libpq5 is not installed (why, measured: ARCHITECTURE.md, under the layer diagram).
struct PostgresAPI: @unchecked Sendable {
    // @unchecked: the table is written once, in `load`, and only read afterwards; the pointers
    // are to functions in a library that stays loaded for the life of the process.
    typealias Connection = OpaquePointer
    typealias Result = OpaquePointer
    typealias Strings = UnsafePointer<UnsafePointer<CChar>?>?

    let connectdbParams: @convention(c) (Strings, Strings, Int32) -> Connection?
    let status: @convention(c) (Connection?) -> ConnStatusType
    let errorMessage: @convention(c) (Connection?) -> UnsafeMutablePointer<CChar>?
    let finish: @convention(c) (Connection?) -> Void
    let setNoticeProcessor: @convention(c) (Connection?, PQnoticeProcessor?, UnsafeMutableRawPointer?) -> PQnoticeProcessor?
    let execParams: @convention(c) (Connection?, UnsafePointer<CChar>?, Int32, UnsafePointer<Oid>?, Strings, UnsafePointer<Int32>?, UnsafePointer<Int32>?, Int32) -> Result?
    let exec: @convention(c) (Connection?, UnsafePointer<CChar>?) -> Result?
    let resultStatus: @convention(c) (Result?) -> ExecStatusType
    let clear: @convention(c) (Result?) -> Void
    let cmdTuples: @convention(c) (Result?) -> UnsafeMutablePointer<CChar>?
    let ntuples: @convention(c) (Result?) -> Int32
    let getisnull: @convention(c) (Result?, Int32, Int32) -> Int32
    let getvalue: @convention(c) (Result?, Int32, Int32) -> UnsafeMutablePointer<CChar>?
    let resultErrorField: @convention(c) (Result?, Int32) -> UnsafeMutablePointer<CChar>?
    let putCopyData: @convention(c) (Connection?, UnsafePointer<CChar>?, Int32) -> Int32
    let putCopyEnd: @convention(c) (Connection?, UnsafePointer<CChar>?) -> Int32
    let getResult: @convention(c) (Connection?) -> Result?

    /// The loaded table, or why libpq cannot be used on this machine.
    static let shared: Swift.Result<PostgresAPI, PostgresError> = load()

    static func get() throws(PostgresError) -> PostgresAPI {
        try shared.get()
    }

    private static func load() -> Swift.Result<PostgresAPI, PostgresError> {
        let libraries: DynamicLibraries
        do {
            libraries = try DynamicLibraries(loading: ["libpq.so.5"], placeholder: "PQlibVersion")
        } catch {
            return .failure(PostgresError(kind: .connect, sqlState: nil, message: "\(error.reason); install libpq5 (apt-get install libpq5)", operation: "loading libpq"))
        }
        // Each C signature is written once, in the table's declaration: the call takes its type from there.
        func symbol<Function>(_ name: String) -> Function { libraries.function(name, as: Function.self) }
        let api = PostgresAPI(
            connectdbParams: symbol("PQconnectdbParams"),
            status: symbol("PQstatus"),
            errorMessage: symbol("PQerrorMessage"),
            finish: symbol("PQfinish"),
            setNoticeProcessor: symbol(
                "PQsetNoticeProcessor"),
            execParams: symbol(
                "PQexecParams"),
            exec: symbol("PQexec"),
            resultStatus: symbol("PQresultStatus"),
            clear: symbol("PQclear"),
            cmdTuples: symbol("PQcmdTuples"),
            ntuples: symbol("PQntuples"),
            getisnull: symbol("PQgetisnull"),
            getvalue: symbol("PQgetvalue"),
            resultErrorField: symbol("PQresultErrorField"),
            putCopyData: symbol("PQputCopyData"),
            putCopyEnd: symbol("PQputCopyEnd"),
            getResult: symbol("PQgetResult"))
        guard libraries.missing.isEmpty else {
            return .failure(PostgresError(kind: .connect, sqlState: nil, message: "libpq.so.5 lacks \(libraries.missing.joined(separator: ", "))", operation: "loading libpq"))
        }
        return .success(api)
    }
}
