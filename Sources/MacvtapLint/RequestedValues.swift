public import MacvtapModel
import MacvtapXML

/// The values a user types for a new interface (`generate`, `edit --add-direct`, `attach`) are
/// judged by the lint rules that judge the same values in a file, and by nothing else: the
/// element is rendered and linted on its own, and what a rule says of a value the user typed
/// becomes an `InterfaceSpecError` naming that value. One rule per value class, so `lint`,
/// `generate` and `attach` can never disagree on what a MAC, a device name or an alias may be.
enum RequestedValues {
    /// The rules that judge one value on its own (not its relation to the host or other NICs),
    /// and the value each judges.
    static let rulesByField: [(rule: String, field: InterfaceField)] = [
        (MACMulticastRule.description.id, .mac),
        (MACAllZeroRule.description.id, .mac),
        (SourceDevInvalidRule.description.id, .sourceDevice),
        (TargetDevInvalidRule.description.id, .targetDevice),
        (TargetDevUnusableRule.description.id, .targetDevice),
        (ModelInvalidRule.description.id, .model),
        (AliasNotUserRule.description.id, .alias),
    ]

    private static let linter: Linter = {
        let wanted = Set(rulesByField.map(\.rule))
        var configuration = LintConfiguration(disable: RuleRegistry.all.map(\.id).filter { !wanted.contains($0) })
        configuration.hotplug = true
        return Linter(rulesOnly: configuration)
    }()

    /// The first problem the rules find in `element`'s values, in the order of `rulesByField`;
    /// `value(field)` is what the user typed for it.
    static func problem(in element: XMLElementSpec, value: (InterfaceField) -> String?) -> InterfaceSpecError? {
        guard let bytes = try? XMLFragmentWriter.serialize(element),
            let report = try? linter.lint([.memory(bytes, name: "requested interface")])
        else { return nil }
        for (rule, field) in rulesByField {
            guard let finding = report.findings.first(where: { $0.ruleID == rule }) else { continue }
            return InterfaceSpecError(
                field: field, value: value(field) ?? "", problem: "is refused: \(finding.message) [\(rule)]",
                fix: finding.fix ?? "see `virt-macvtap rules \(rule)`")
        }
        return nil
    }
}

extension DirectInterfaceSpec {
    /// The spec, when the lint rules find nothing wrong with the values it was given (the MAC,
    /// the source and target device names, the model, the alias); else the first problem.
    public func validated() throws(InterfaceSpecError) -> DirectInterfaceSpec {
        let problem = RequestedValues.problem(in: elementSpec) { field in
            switch field {
            case .mac: mac?.description
            case .sourceDevice: sourceDevice
            case .targetDevice: targetDevice
            case .model: model
            case .alias: alias
            default: nil
            }
        }
        if let problem { throw problem }
        return self
    }
}

extension NetworkInterfaceSpec {
    /// The spec, when the network's and portgroup's names are names libvirt accepts and the lint
    /// rules find nothing wrong with the MAC, the model and the alias; else the first problem.
    public func validated() throws(InterfaceSpecError) -> NetworkInterfaceSpec {
        try Self.checkName(network, field: .network)
        if let portgroup { try Self.checkName(portgroup, field: .portgroup) }
        let problem = RequestedValues.problem(in: elementSpec) { field in
            switch field {
            case .mac: mac?.description
            case .model: model
            case .alias: alias
            default: nil
            }
        }
        if let problem { throw problem }
        return self
    }
}
