/// Rules the engine itself applies (well-formedness, schemas, document kind). They are
/// registered like the others so they can be listed, documented, disabled and suppressed.
public struct XMLMalformedRule: Rule {
    public init() {}
    public static let description = RuleDescription(
        id: "xml-malformed", name: "Not well-formed XML",
        summary: "libxml2 cannot parse the file.",
        rationale: "Nothing else can be checked, and libvirt refuses the file outright.",
        severity: .error, enforcement: .define, reference: "—",
        triggering: ["<domain type='kvm'>\n  <name>vm1</nam>↓\n</domain>"],
        nonTriggering: [Example.nic(Example.goodBody())])
}

/// The `libvirt-schema` rule: the whole domain validated against the libvirt installation's own RelaxNG schema.
public struct LibvirtSchemaRule: Rule {
    public init() {}
    public static let description = RuleDescription(
        id: "libvirt-schema", name: "Invalid against libvirt's domain.rng",
        summary: "The whole domain validated against the libvirt installation's own RelaxNG schema.",
        rationale: "libvirt only validates with virsh define --validate or virsh edit; otherwise typos and misplaced "
            + "elements are silently ignored. This is what virt-xml-validate checks.",
        severity: .error, enforcement: .validate, reference: "L20",
        triggering: [Example.domain(Example.directInterface(Example.goodBody())).replacing("<memory unit='MiB'>512</memory>", with: "↓<memory unit='MiB'>lots</memory>")],
        nonTriggering: [Example.nic(Example.goodBody())])
}

/// The `interface-schema` rule: each direct interface validated against virt-macvtap's stricter schema (Schemas/interface-direct.rng).
public struct InterfaceSchemaRule: Rule {
    public init() {}
    public static let description = RuleDescription(
        id: "interface-schema", name: "Invalid against interface-direct.rng",
        summary: "Each direct interface validated against virt-macvtap's stricter schema (Schemas/interface-direct.rng).",
        rationale: "Catches what libvirt's schema allows but libvirt later rejects, drops or rewrites, for anything "
            + "no more specific rule (and not libvirt's own schema) reports. It is our stricter reading, so it claims "
            + "nothing about what libvirt does: the oracle found libvirt refusing some of it at define, starting some, "
            + "and ignoring the rest.",
        severity: .warning, enforcement: .advice, reference: "L20",
        triggering: [Example.nic(Example.goodBody() + "↓<guest dev='this-name-is-too-long'/>")],
        nonTriggering: [Example.nic(Example.goodBody())])
}

/// The `not-a-domain` rule: the file's root is not <domain>, <interface> or <network> (a storage pool, or other libvirt XML).
public struct NotADomainRule: Rule {
    public init() {}
    public static let description = RuleDescription(
        id: "not-a-domain", name: "Neither a domain, an interface nor a network",
        summary: "The file's root is not <domain>, <interface> or <network> (a storage pool, or other libvirt XML).",
        rationale: "Only domain XML, interface device XML and network XML are linted; the file is skipped.",
        severity: .info, enforcement: .advice, reference: "—",
        triggering: ["↓<pool type='dir'><name>default</name><target><path>/var/lib/libvirt/images</path></target></pool>"],
        nonTriggering: [Example.nic(Example.goodBody())])
}

/// The `libvirt-network-schema` rule: a <network> document validated against the libvirt installation's own network.rng.
public struct LibvirtNetworkSchemaRule: Rule {
    public init() {}
    public static let description = RuleDescription(
        id: "libvirt-network-schema", name: "Invalid against libvirt's network.rng",
        summary: "A <network> document validated against the libvirt installation's own network.rng.",
        rationale: "libvirt checks a network's schema only with virsh net-define --validate; a plain define skips it, "
            + "and parts of the file libvirt does not expect are then ignored.",
        severity: .error, enforcement: .validate, reference: "L20",
        triggering: [NetworkExample.network(NetworkExample.pool("bridge"), "↓<bogus/>")],
        nonTriggering: [NetworkExample.network(NetworkExample.pool("bridge"))])
}
