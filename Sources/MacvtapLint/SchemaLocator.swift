import FoundationEssentials
public import MacvtapXML

/// Finds the schemas the tool validates against, installed or in a source checkout.
///
/// Our own schemas (`interface-direct.rng`) and the bundled copies of libvirt's
/// (`libvirt/<release>/domain.rng`) live in one schema directory; first match wins:
/// 1. `$VIRT_MACVTAP_SCHEMA_DIR`
/// 2. `<executable dir>/../share/virt-macvtap/schemas` (the package, the tarball, `make install`)
/// 3. `/usr/local/share/virt-macvtap/schemas`, `/usr/share/virt-macvtap/schemas`
/// 4. `Schemas/` of the source checkout that holds the running executable (a `swift build`
///    binary or the test runner under `.build/`), found from the executable's own path — the
///    shipped binary carries no path of the tree it was built in. Skipped when
///    `VIRT_MACVTAP_IGNORE_SOURCE_SCHEMAS` is set.
///
/// libvirt's schemas: see ``LibvirtSchemas/locate(release:environment:executableDirectory:)``.
public enum SchemaLocator {
    public static let interfaceSchemaName = "interface-direct.rng"
    public static let domainSchemaName = "domain.rng"

    public static func ownSchemaDirectories(
        environment: [String: String]? = nil, executableDirectory: String? = nil
    ) -> [String] {
        let environment = environment ?? ProcessInfo.processInfo.environment
        var directories: [String] = []
        if let override = environment["VIRT_MACVTAP_SCHEMA_DIR"], !override.isEmpty { directories.append(override) }
        let executable = executableDirectory ?? runningExecutableDirectory()
        if let executable { directories.append(executable + "/../share/virt-macvtap/schemas") }
        directories += ["/usr/local/share/virt-macvtap/schemas", "/usr/share/virt-macvtap/schemas"]
        // Packaging checks set this to prove an installed binary does not lean on a checkout.
        if environment["VIRT_MACVTAP_IGNORE_SOURCE_SCHEMAS"] == nil, let executable,
            let checkout = sourceCheckout(containing: executable)
        {
            directories.append(checkout + "/Schemas")
        }
        return directories
    }

    /// Where an installed libvirt keeps its schemas (they come with libvirt0).
    public static let installedLibvirtSchemaDirectories = ["/usr/share/libvirt/schemas", "/usr/local/share/libvirt/schemas"]

    /// The path of our direct-interface schema.
    public static func interfaceSchemaPath(
        environment: [String: String]? = nil, executableDirectory: String? = nil
    ) throws(SchemaNotFound) -> String {
        try find(
            interfaceSchemaName,
            in: ownSchemaDirectories(environment: environment, executableDirectory: executableDirectory),
            advice: "set VIRT_MACVTAP_SCHEMA_DIR or reinstall virt-macvtap")
    }

    /// The path of libvirt's `domain.rng` for `release` (default: the installed libvirt's, else
    /// the newest bundled copy).
    public static func domainSchemaPath(release: LibvirtRelease? = nil) throws(SchemaNotFound) -> String {
        try LibvirtSchemas.locate(release: release).domainSchema
    }

    /// libvirt's network.rng, beside its domain.rng.
    public static func networkSchemaPath(release: LibvirtRelease? = nil) throws(SchemaNotFound) -> String {
        try LibvirtSchemas.locate(release: release).networkSchema
    }

    /// Compiles our direct-interface schema (once per call; keep the result for the run).
    public static func loadInterfaceSchema() throws(SchemaLoadError) -> RelaxNGSchema {
        let path: String
        do { path = try interfaceSchemaPath() } catch { throw .notFound(error) }
        do { return try RelaxNGSchema(contentsOfFile: path) } catch { throw .invalid(error) }
    }

    /// Compiles libvirt's domain.rng: `path`, else the one for `release` (see `domainSchemaPath`).
    public static func loadDomainSchema(
        path explicitPath: String? = nil, release: LibvirtRelease? = nil
    )
        throws(SchemaLoadError) -> RelaxNGSchema
    {
        let path: String
        if let explicitPath {
            path = explicitPath
        } else {
            do { path = try domainSchemaPath(release: release) } catch { throw .notFound(error) }
        }
        do { return try RelaxNGSchema(contentsOfFile: path) } catch { throw .invalid(error) }
    }

    package static func find(
        _ name: String, in directories: [String], advice: String
    ) throws(SchemaNotFound)
        -> String
    {
        for directory in directories {
            let candidate = directory + "/" + name
            if FileManager.default.isReadableFile(atPath: candidate) {
                return URL(fileURLWithPath: candidate).standardized.path
            }
        }
        throw SchemaNotFound(name: name, searched: directories, advice: advice)
    }

    package static func runningExecutableDirectory() -> String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return nil
        }
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    /// The package checkout an executable was built into (`<checkout>/.build/<triple>/debug/`):
    /// the nearest ancestor, at most six levels up, with both `Package.swift` and our schema.
    public static func sourceCheckout(containing executableDirectory: String) -> String? {
        var url = URL(fileURLWithPath: executableDirectory).standardized
        for _ in 0..<6 {
            url.deleteLastPathComponent()
            let path = url.path
            if FileManager.default.fileExists(atPath: path + "/Package.swift"),
                FileManager.default.fileExists(atPath: path + "/Schemas/" + interfaceSchemaName)
            {
                return path
            }
            if path == "/" { break }
        }
        return nil
    }
}

/// The directory of libvirt schemas a run validates against, and where it came from.
public struct LibvirtSchemas: Sendable, Equatable, CustomStringConvertible {
    /// Why this directory was chosen.
    public enum Origin: Sendable, Equatable {
        /// `$VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR`.
        case environment
        /// The installed libvirt's own (`/usr/share/libvirt/schemas`).
        case installed
        /// The copy of this release's schemas that ships with the tool.
        case bundled(LibvirtRelease)
    }

    public var directory: String
    public var origin: Origin

    public init(directory: String, origin: Origin) {
        self.directory = directory
        self.origin = origin
    }

    public var domainSchema: String { directory + "/" + SchemaLocator.domainSchemaName }
    public var networkSchema: String { directory + "/network.rng" }

    /// The bundled release, if these are a bundled copy.
    public var bundledRelease: LibvirtRelease? {
        if case .bundled(let release) = origin { return release }
        return nil
    }

    /// One line for `--version`, SARIF and error messages.
    public var description: String {
        switch origin {
        case .environment: "libvirt schemas from VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR (\(directory))"
        case .installed: "the installed libvirt's schemas (\(directory))"
        case .bundled(let release): "libvirt \(release)'s schemas, bundled (\(directory))"
        }
    }

    /// The schemas for `release`: its bundled copy (an error names the bundled releases when
    /// there is none). Without a release: `$VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR`, then the installed
    /// libvirt's, then the newest bundled release — so `lint` works where libvirt is not installed.
    public static func locate(
        release: LibvirtRelease? = nil, environment: [String: String]? = nil, executableDirectory: String? = nil
    ) throws(SchemaNotFound) -> LibvirtSchemas {
        let environment = environment ?? ProcessInfo.processInfo.environment
        if let release {
            let bundled = bundledReleases(environment: environment, executableDirectory: executableDirectory)
            guard let directory = bundled[release] else {
                throw SchemaNotFound(
                    name: "libvirt \(release)'s schemas",
                    searched: SchemaLocator.ownSchemaDirectories(environment: environment, executableDirectory: executableDirectory)
                        .map { $0 + "/libvirt/\(release)" },
                    advice: "bundled releases: \(bundled.keys.sorted().map(\.description).joined(separator: ", "))")
            }
            return LibvirtSchemas(directory: directory, origin: .bundled(release))
        }
        var searched: [String] = []
        if let override = environment["VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR"], !override.isEmpty {
            if hasDomainSchema(override) { return LibvirtSchemas(directory: standardized(override), origin: .environment) }
            searched.append(override)
        }
        for directory in SchemaLocator.installedLibvirtSchemaDirectories {
            if hasDomainSchema(directory) { return LibvirtSchemas(directory: directory, origin: .installed) }
            searched.append(directory)
        }
        let bundled = bundledReleases(environment: environment, executableDirectory: executableDirectory)
        if let newest = bundled.keys.max(), let directory = bundled[newest] {
            return LibvirtSchemas(directory: directory, origin: .bundled(newest))
        }
        throw SchemaNotFound(
            name: SchemaLocator.domainSchemaName,
            searched: searched
                + SchemaLocator.ownSchemaDirectories(environment: environment, executableDirectory: executableDirectory)
                .map { $0 + "/libvirt/*" },
            advice: "reinstall virt-macvtap (it bundles libvirt's schemas), install libvirt0, or set VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR")
    }

    /// The releases whose schemas ship with the tool, from the first schema directory that has any.
    public static func bundledReleases(
        environment: [String: String]? = nil, executableDirectory: String? = nil
    ) -> [LibvirtRelease: String] {
        for directory in SchemaLocator.ownSchemaDirectories(environment: environment, executableDirectory: executableDirectory) {
            let root = directory + "/libvirt"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { continue }
            var releases: [LibvirtRelease: String] = [:]
            for name in names {
                if let release = LibvirtRelease(name), hasDomainSchema(root + "/" + name) {
                    releases[release] = standardized(root + "/" + name)
                }
            }
            if !releases.isEmpty { return releases }
        }
        return [:]
    }

    private static func hasDomainSchema(_ directory: String) -> Bool {
        FileManager.default.isReadableFile(atPath: directory + "/" + SchemaLocator.domainSchemaName)
    }

    private static func standardized(_ path: String) -> String { URL(fileURLWithPath: path).standardized.path }
}

/// No schema file at any of the places looked at (they are listed).
public struct SchemaNotFound: Error, Sendable, CustomStringConvertible {
    public var name: String
    public var searched: [String]
    public var advice: String

    public var description: String {
        "cannot find \(name); looked in \(searched.joined(separator: ", ")); \(advice)"
    }
}

/// Why a schema could not be used: not found, or libxml2 could not compile it.
public enum SchemaLoadError: Error, Sendable, CustomStringConvertible {
    case notFound(SchemaNotFound)
    case invalid(XMLParseError)

    public var description: String {
        switch self {
        case .notFound(let error): error.description
        case .invalid(let error): "schema does not compile: \(error.description)"
        }
    }
}
