import MacvtapLibvirt
import MacvtapXML

/// The tool's version and those of the C libraries it runs on.
public enum Versions {
    public static let tool = "0.1.0"

    public static var summary: String {
        "\(tool) (libxml2 \(XMLLibrary.version), libvirt \(LibvirtLibrary.version))"
    }
}
