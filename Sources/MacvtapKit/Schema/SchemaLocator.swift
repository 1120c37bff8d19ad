import FoundationEssentials
public import MacvtapXML

/// Finds the schemas the tool validates against, installed or in a source checkout.
///
/// Our own schemas (`interface-direct.rng`), first match wins:
/// 1. `$VIRT_MACVTAP_SCHEMA_DIR`
/// 2. `<executable dir>/../share/virt-macvtap/schemas` (what `make install` lays out)
/// 3. `/usr/local/share/virt-macvtap/schemas`, `/usr/share/virt-macvtap/schemas`
/// 4. `Schemas/` of the source checkout this binary was built from (skipped when
///    `VIRT_MACVTAP_IGNORE_SOURCE_SCHEMAS` is set)
///
/// libvirt's schemas (`domain.rng`): `$VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR`, then
/// `/usr/share/libvirt/schemas` and `/usr/local/share/libvirt/schemas` (they come with libvirt0).
public enum SchemaLocator {
    public static let interfaceSchemaName = "interface-direct.rng"
    public static let domainSchemaName = "domain.rng"

    public static func ownSchemaDirectories(
        environment: [String: String]? = nil, executableDirectory: String? = nil
    ) -> [String] {
        let environment = environment ?? ProcessInfo.processInfo.environment
        var directories: [String] = []
        if let override = environment["VIRT_MACVTAP_SCHEMA_DIR"], !override.isEmpty { directories.append(override) }
        if let executable = executableDirectory ?? runningExecutableDirectory() {
            directories.append(executable + "/../share/virt-macvtap/schemas")
        }
        directories += ["/usr/local/share/virt-macvtap/schemas", "/usr/share/virt-macvtap/schemas"]
        // Packaging checks set this to prove an installed binary does not lean on its checkout.
        if environment["VIRT_MACVTAP_IGNORE_SOURCE_SCHEMAS"] == nil { directories.append(sourceCheckoutSchemas) }
        return directories
    }

    public static func libvirtSchemaDirectories(
        environment: [String: String]? = nil
    ) -> [String] {
        let environment = environment ?? ProcessInfo.processInfo.environment
        var directories: [String] = []
        if let override = environment["VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR"], !override.isEmpty {
            directories.append(override)
        }
        return directories + ["/usr/share/libvirt/schemas", "/usr/local/share/libvirt/schemas"]
    }

    /// The path of our direct-interface schema.
    public static func interfaceSchemaPath(
        environment: [String: String]? = nil, executableDirectory: String? = nil
    ) throws(SchemaNotFound) -> String {
        try find(
            interfaceSchemaName,
            in: ownSchemaDirectories(environment: environment, executableDirectory: executableDirectory),
            advice: "set VIRT_MACVTAP_SCHEMA_DIR or run make install")
    }

    /// The path of libvirt's installed `domain.rng`.
    public static func domainSchemaPath() throws(SchemaNotFound) -> String {
        try find(
            domainSchemaName, in: libvirtSchemaDirectories(),
            advice: "install libvirt0 (apt-get install libvirt0) or set VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR")
    }

    /// libvirt's network.rng, beside its domain.rng.
    public static func networkSchemaPath() throws(SchemaNotFound) -> String {
        try find(
            "network.rng", in: libvirtSchemaDirectories(),
            advice: "install libvirt0 (apt-get install libvirt0) or set VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR")
    }

    /// Compiles our direct-interface schema (once per call; keep the result for the run).
    public static func loadInterfaceSchema() throws(SchemaLoadError) -> RelaxNGSchema {
        let path: String
        do { path = try interfaceSchemaPath() } catch { throw .notFound(error) }
        do { return try RelaxNGSchema(contentsOfFile: path) } catch { throw .invalid(error) }
    }

    public static func loadDomainSchema(path explicitPath: String? = nil) throws(SchemaLoadError) -> RelaxNGSchema {
        let path: String
        if let explicitPath {
            path = explicitPath
        } else {
            do { path = try domainSchemaPath() } catch { throw .notFound(error) }
        }
        do { return try RelaxNGSchema(contentsOfFile: path) } catch { throw .invalid(error) }
    }

    private static func find(_ name: String, in directories: [String], advice: String) throws(SchemaNotFound)
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

    private static func runningExecutableDirectory() -> String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return nil
        }
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    /// `Schemas/` next to `Sources/` in the checkout this file was compiled from.
    private static let sourceCheckoutSchemas: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Schemas").path
    }()
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
