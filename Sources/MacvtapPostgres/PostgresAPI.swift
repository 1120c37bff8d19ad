internal import CLibPQ
internal import MacvtapSystem

#if canImport(Glibc)
    internal import Glibc
#endif

/// libpq's functions, resolved from libpq.so.5 the first time a ledger URL is opened.
///
/// Linking libpq would load it and about 25 libraries it depends on (Kerberos, LDAP, GnuTLS,
/// OpenSSL, SASL) in every process: measured here, a one-file `lint` went from 16 to 28 ms
/// and `generate` paid the same. Loaded here, only a PostgreSQL ledger pays, and the tool runs
/// where libpq5 is not installed.
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
        func symbol<Function>(_ name: String, as type: Function.Type) -> Function { libraries.function(name, as: type) }
        let api = PostgresAPI(
            connectdbParams: symbol("PQconnectdbParams", as: (@convention(c) (Strings, Strings, Int32) -> Connection?).self),
            status: symbol("PQstatus", as: (@convention(c) (Connection?) -> ConnStatusType).self),
            errorMessage: symbol("PQerrorMessage", as: (@convention(c) (Connection?) -> UnsafeMutablePointer<CChar>?).self),
            finish: symbol("PQfinish", as: (@convention(c) (Connection?) -> Void).self),
            setNoticeProcessor: symbol(
                "PQsetNoticeProcessor", as: (@convention(c) (Connection?, PQnoticeProcessor?, UnsafeMutableRawPointer?) -> PQnoticeProcessor?).self),
            execParams: symbol(
                "PQexecParams",
                as: (@convention(c) (Connection?, UnsafePointer<CChar>?, Int32, UnsafePointer<Oid>?, Strings, UnsafePointer<Int32>?, UnsafePointer<Int32>?, Int32) -> Result?).self),
            exec: symbol("PQexec", as: (@convention(c) (Connection?, UnsafePointer<CChar>?) -> Result?).self),
            resultStatus: symbol("PQresultStatus", as: (@convention(c) (Result?) -> ExecStatusType).self),
            clear: symbol("PQclear", as: (@convention(c) (Result?) -> Void).self),
            cmdTuples: symbol("PQcmdTuples", as: (@convention(c) (Result?) -> UnsafeMutablePointer<CChar>?).self),
            ntuples: symbol("PQntuples", as: (@convention(c) (Result?) -> Int32).self),
            getisnull: symbol("PQgetisnull", as: (@convention(c) (Result?, Int32, Int32) -> Int32).self),
            getvalue: symbol("PQgetvalue", as: (@convention(c) (Result?, Int32, Int32) -> UnsafeMutablePointer<CChar>?).self),
            resultErrorField: symbol("PQresultErrorField", as: (@convention(c) (Result?, Int32) -> UnsafeMutablePointer<CChar>?).self),
            putCopyData: symbol("PQputCopyData", as: (@convention(c) (Connection?, UnsafePointer<CChar>?, Int32) -> Int32).self),
            putCopyEnd: symbol("PQputCopyEnd", as: (@convention(c) (Connection?, UnsafePointer<CChar>?) -> Int32).self),
            getResult: symbol("PQgetResult", as: (@convention(c) (Connection?) -> Result?).self))
        guard libraries.missing.isEmpty else {
            return .failure(PostgresError(kind: .connect, sqlState: nil, message: "libpq.so.5 lacks \(libraries.missing.joined(separator: ", "))", operation: "loading libpq"))
        }
        return .success(api)
    }
}
