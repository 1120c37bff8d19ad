// swift-tools-version:6.2
import PackageDescription

// Layers, bottom to top; each may import only the ones below it:
//   CLibXML2, CLibvirt, CSQLite, CLibPQ, CSystem, CNetlink
//                              system C libraries (pkg-config, apt providers) and glibc shims
//   MacvtapXML, MacvtapLibvirt, MacvtapSQLite, MacvtapPostgres, MacvtapSystem, MacvtapNetlink
//                              the only code that touches C pointers (libxml2, libvirt, SQLite,
//                              libpq, POSIX files and threads, libnl's rtnetlink); libvirt, libpq
//                              and libnl are dlopen'ed through MacvtapSystem's DynamicLibraries
//   MacvtapModel               plain Swift: documents, interfaces, MACs, splices, document
//                              summaries and the host inventory as data
//   MacvtapLint                the rules, the engine, reporters, the cache, schema location
//   MacvtapAllocation          the MAC ledgers (SQLite, PostgreSQL)
//   MacvtapKit                 live operations (libvirt sessions, attach/detach/day-two, host
//                              scans, host networking), file editing, the lint front end; it
//                              re-exports the three above (the MacvtapKit product)
//   MacvtapOracle              the oracle and the real-world corpus (in no library product)
//   MacvtapLanguageServer      the LSP server (Codable messages; no I/O of its own)
//   VirtMacvtapCommands        thin argument-parser commands (a library: tests run them in-process)
//   virt-macvtap               the executable: main.swift calls VirtMacvtapCLI.main()
//   virt-macvtap-fuzz          the fuzzing harness (and its corpus replayer)
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    // A warning fails our build; SwiftPM drops it for packages that depend on us.
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "virt-macvtap",
    products: [
        .library(name: "MacvtapKit", targets: ["MacvtapKit"]),
        .executable(name: "virt-macvtap", targets: ["virt-macvtap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (the DocC catalogue in Sources/MacvtapKit/MacvtapKit.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // Headers only (libvirt-dev); libvirt.so.0 is loaded on first use.
        .systemLibrary(
            name: "CLibvirt",
            providers: [.apt(["libvirt-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Headers only (libpq-dev); libpq.so.5 and the ~25 libraries it needs (krb5, LDAP,
        // TLS) are loaded on first use, never by `lint`.
        .systemLibrary(
            name: "CLibPQ",
            providers: [.apt(["libpq-dev"])]
        ),
        // rtnetlink's constants; libnl-route-3 itself is loaded on first use (MacvtapNetlink).
        .systemLibrary(name: "CNetlink"),
        // glibc's GNU scheduling calls (sched_getcpu, CPU sets), which Swift's Glibc lacks.
        .systemLibrary(name: "CSystem"),
        .target(
            name: "MacvtapSQLite",
            dependencies: ["CSQLite"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MacvtapPostgres",
            dependencies: ["CLibPQ", "MacvtapSystem"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MacvtapXML",
            dependencies: ["CLibXML2"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MacvtapLibvirt",
            dependencies: ["CLibvirt", "MacvtapSystem"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MacvtapNetlink",
            dependencies: ["CNetlink", "MacvtapSystem"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MacvtapSystem",
            dependencies: ["CSystem"],
            swiftSettings: strictSettings
        ),
        // The model: documents, interfaces, MAC addresses, positions, splices.
        .target(
            name: "MacvtapModel",
            dependencies: ["MacvtapXML", "MacvtapSystem"],
            swiftSettings: strictSettings
        ),
        // The lint engine: rules, reporters, the cache, schema location, libvirt's define layer.
        .target(
            name: "MacvtapLint",
            dependencies: ["MacvtapModel", "MacvtapXML", "MacvtapLibvirt", "MacvtapSystem"],
            swiftSettings: strictSettings
        ),
        // MAC allocation's ledgers: SQLite on one machine, PostgreSQL for a fleet, reconciliation.
        .target(
            name: "MacvtapAllocation",
            dependencies: ["MacvtapModel", "MacvtapSQLite", "MacvtapPostgres", "MacvtapSystem"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MacvtapKit",
            dependencies: ["MacvtapModel", "MacvtapLint", "MacvtapAllocation", "MacvtapXML", "MacvtapLibvirt", "MacvtapSQLite", "MacvtapPostgres", "MacvtapSystem", "MacvtapNetlink"],
            swiftSettings: strictSettings
        ),
        // The language server (`virt-macvtap lsp`): LSP messages as Codable types over MacvtapKit's engine.
        .target(
            name: "MacvtapLanguageServer",
            dependencies: ["MacvtapKit", "MacvtapSystem"],
            swiftSettings: strictSettings
        ),
        // Every command (argument-parser types, one per file); the executable only calls it.
        .target(
            name: "VirtMacvtapCommands",
            dependencies: [
                "MacvtapKit",
                "MacvtapLanguageServer",
                // The process's standard streams and files (no C library of its own).
                "MacvtapSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "virt-macvtap",
            dependencies: ["VirtMacvtapCommands"],
            swiftSettings: strictSettings
        ),
        // parse → lint → emit → edit under libFuzzer (scripts/fuzz builds it with -sanitize=fuzzer);
        // built normally, it replays inputs given as files (the committed corpus, in CI).
        .executableTarget(
            name: "virt-macvtap-fuzz",
            dependencies: ["MacvtapKit", "MacvtapXML", "MacvtapSystem"],
            swiftSettings: strictSettings
        ),
        // The oracle: lint's claims against a real libvirtd, and the real-world corpus. A test
        // harness, in no library product: only virt-macvtap-oracle and the tests use it.
        .target(
            name: "MacvtapOracle",
            dependencies: ["MacvtapKit", "MacvtapLibvirt", "MacvtapXML", "MacvtapSystem"],
            swiftSettings: strictSettings
        ),
        // The differential harness: lint's claims against a real libvirtd (scripts/oracle).
        .executableTarget(
            name: "virt-macvtap-oracle",
            dependencies: [
                "MacvtapOracle",
                "MacvtapKit",
                "MacvtapLibvirt",
                "MacvtapSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // What the tests share: fixtures, the tool runner, the sandbox and PostgreSQL helpers, and
        // `TestGate`, the one place that decides which environment a test needs.
        .target(
            name: "MacvtapTestSupport",
            dependencies: ["MacvtapKit", "MacvtapXML", "VirtMacvtapCommands"],
            path: "Tests/MacvtapTestSupport",
            swiftSettings: strictSettings
        ),
        // Tests split by what they need: nothing (seconds after the build), libvirt's corpus
        // (VIRT_MACVTAP_CORPUS), the sandbox and PostgreSQL (VIRT_MACVTAP_SANDBOX, VIRT_MACVTAP_POSTGRES).
        .testTarget(
            name: "MacvtapUnitTests",
            dependencies: [
                "MacvtapKit", "MacvtapXML", "MacvtapLibvirt", "MacvtapSQLite", "MacvtapPostgres", "MacvtapSystem", "MacvtapNetlink",
                "VirtMacvtapCommands", "MacvtapTestSupport", "MacvtapLanguageServer",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MacvtapCorpusTests",
            dependencies: ["MacvtapKit", "MacvtapOracle", "MacvtapXML", "MacvtapTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MacvtapLiveTests",
            dependencies: ["MacvtapKit", "MacvtapOracle", "MacvtapXML", "MacvtapLibvirt", "MacvtapSystem", "VirtMacvtapCommands", "MacvtapTestSupport"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
