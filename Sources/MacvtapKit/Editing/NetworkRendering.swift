import MacvtapXML

extension NetworkInterfaceSpec {
    /// The element as XML (libxml2 writes it), ending in a newline.
    public func rendered() throws(InterfaceRenderError) -> [UInt8] {
        do {
            return try XMLFragmentWriter.serialize(elementSpec) + [0x0A]
        } catch {
            throw .unrepresentable(error)
        }
    }
}

extension MacvtapNetworkSpec {
    /// The `<network>` as XML, checked before anyone sees it: against libvirt's own
    /// network.rng and by the network lint rules (what libvirt refuses at define, or when a
    /// guest starts, is an error here).
    public func rendered() throws(InterfaceRenderError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try XMLFragmentWriter.serialize(elementSpec, indentUnit: "  ") + [0x0A]
        } catch {
            throw .unrepresentable(error)
        }
        let document: XMLDocument
        do {
            document = try XMLDocument(bytes: bytes, fileName: "<generated network>")
        } catch {
            throw .schemaViolation(error.diagnostics)
        }
        if let path = try? SchemaLocator.networkSchemaPath(), let schema = try? RelaxNGSchema(contentsOfFile: path),
            let root = document.root
        {
            let diagnostics = schema.validate(root)
            guard diagnostics.isEmpty else { throw .networkSchemaViolation(diagnostics) }
        }
        if let network = NetworkDocument(document) {
            let errors = RuleRegistry.networkRules.filter { $0.description.severity == .error }
                .flatMap { $0.init().check(network) }
            if let first = errors.first { throw .refused(first.message) }
        }
        return bytes
    }
}
