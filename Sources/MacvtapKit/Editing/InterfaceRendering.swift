public import MacvtapXML

/// Turns requested interfaces into XML that is checked against our own schema before anyone
/// sees it: a value that slipped past validation cannot produce an invalid or altered element.
public struct InterfaceRenderer: Sendable {
    public let schema: RelaxNGSchema

    public init(schema: RelaxNGSchema) {
        self.schema = schema
    }

    /// One `<interface>` element, two-space indented, ending in a newline.
    public func render(_ spec: DirectInterfaceSpec) throws(InterfaceRenderError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try XMLFragmentWriter.serialize(spec.elementSpec) + [0x0A]
        } catch {
            throw .unrepresentable(error)
        }
        let diagnostics: [XMLDiagnostic]
        do {
            let document = try XMLDocument(bytes: bytes, fileName: "<generated>")
            diagnostics = document.root.map { schema.validate($0) } ?? []
        } catch {
            throw .schemaViolation(error.diagnostics)
        }
        guard diagnostics.isEmpty else { throw .schemaViolation(diagnostics) }
        return bytes
    }
}

/// Why an interface could not be rendered: an invalid value, or XML our schema rejects.
public enum InterfaceRenderError: Error, Sendable, CustomStringConvertible {
    case unrepresentable(XMLValueError)
    case schemaViolation([XMLDiagnostic])
    /// A generated `<network>` that libvirt's network.rng rejects.
    case networkSchemaViolation([XMLDiagnostic])
    /// A generated element a lint rule says libvirt refuses (its message).
    case refused(String)

    public var description: String {
        switch self {
        case .unrepresentable(let error): error.description
        case .schemaViolation(let diagnostics):
            "the generated interface does not pass \(SchemaLocator.interfaceSchemaName): "
                + diagnostics.map(\.message).joined(separator: "; ")
        case .networkSchemaViolation(let diagnostics):
            "the generated network does not pass libvirt's network.rng: " + diagnostics.map(\.message).joined(separator: "; ")
        case .refused(let message):
            "libvirt would refuse the generated XML: \(message)"
        }
    }
}
