import MacvtapLibvirt
import MacvtapXML

/// The tool's version and those of the C libraries it runs on.
public enum Versions {
    public static let tool = "0.2.0"

    /// `--version`: the tool, its libraries, the bundled libvirt schemas and the ones `lint`
    /// validates against by default.
    public static var summary: String {
        let bundled = LibvirtSchemas.bundledReleases()
        let releases = bundled.keys.sorted()
        var lines = ["\(tool) (libxml2 \(XMLLibrary.version), libvirt \(LibvirtLibrary.version))"]
        if let newest = releases.last, let directory = bundled[newest] {
            let root = String(directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)])
            lines.append("bundled libvirt schemas: \(releases.map(\.description).joined(separator: ", ")) (\(root))")
        } else {
            lines.append("bundled libvirt schemas: none found")
        }
        switch Result(catching: { () throws(SchemaNotFound) in try LibvirtSchemas.locate() }) {
        case .success(let schemas): lines.append("lint validates against \(schemas)")
        case .failure(let error): lines.append("lint has no libvirt schema: \(error)")
        }
        return lines.joined(separator: "\n")
    }
}
