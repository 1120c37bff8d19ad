// Built only where Swift Testing is (the test build): a release build of the package compiles
// this module empty.
#if canImport(Testing)
    import Foundation
    import MacvtapKit
    import Testing

    /// The private PostgreSQL cluster `make test` starts (scripts/postgres up). Its superuser URL is
    /// in VIRT_MACVTAP_POSTGRES; when that is set, a server that cannot be reached fails the tests.
    package enum PostgresTestServer {
        package static let adminURL = TestGate.postgres.value
        package static var isConfigured: Bool { adminURL != nil }

        /// `postgresql://postgres:…@127.0.0.1:PORT` (no database).
        package static var serverURL: String {
            let url = adminURL ?? ""
            return String(url[..<(url.lastIndex(of: "/") ?? url.endIndex)])
        }

        /// The password in the admin URL (to check it is never printed).
        package static var password: String {
            let url = adminURL ?? ""
            guard let colon = url.dropFirst("postgresql://".count).firstIndex(of: ":"), let at = url.firstIndex(of: "@") else { return "" }
            return String(url[url.index(after: colon)..<at])
        }

        /// Runs SQL through psql as the superuser (in `database`); fails the test when psql fails.
        @discardableResult
        package static func psql(_ sql: String, database: String = "postgres") throws -> String {
            let result = try Sandbox.shell("psql '\(serverURL)/\(database)' -v ON_ERROR_STOP=1 -qAt -c \"\(sql.replacingOccurrences(of: "\"", with: "\\\""))\"")
            try #require(result.status == 0, "psql: \(result.standardError)")
            return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// A new, empty database for one test; its URL.
        package static func freshDatabase() throws -> String {
            let name = "ledger_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
            try psql("CREATE DATABASE \(name)")
            return "\(serverURL)/\(name)"
        }
    }

    /// The two ledger backends; the behaviour suite runs once on each.
    package enum LedgerBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sqlite, postgresql

        package var testDescription: String { rawValue }

        /// SQLite always; PostgreSQL when the README's test command started the private server.
        package static var available: [LedgerBackend] { PostgresTestServer.isConfigured ? allCases : [.sqlite] }

        /// A new, empty ledger: the `--ledger` argument.
        package func freshLedger() throws -> String {
            switch self {
            case .sqlite:
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                return directory.appendingPathComponent("ledger.sqlite").path
            case .postgresql:
                return try PostgresTestServer.freshDatabase()
            }
        }
    }
#endif
