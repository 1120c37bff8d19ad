/// Enumerated attributes of an interface whose other values libvirt's parser refuses at define,
/// although some of them pass libvirt's own schema (driver name='vfio' is a hostdev value).
public struct AttributeValueInvalidRule: InterfaceRule {
    public init() {}

    /// Element (nil = the interface itself), attribute, the values libvirt 9.0 accepts there on
    /// a direct interface (a hostdev interface's driver is kvm, vfio or xen, for instance).
    package static let enumerations: [(element: String?, attribute: String, values: [String])] = [
        (nil, "trustGuestRxFilters", ["yes", "no"]),
        ("mac", "type", ["generated", "static"]),
        ("mac", "check", ["yes", "no"]),
        ("driver", "name", ["qemu", "vhost"]),
        ("driver", "txmode", ["iothread", "timer"]),
        ("driver", "ioeventfd", ["on", "off"]),
        ("driver", "event_idx", ["on", "off"]),
    ]

    public static let description = RuleDescription(
        id: "attribute-value-invalid", name: "Attribute value libvirt's parser refuses",
        summary:
            "On a direct interface, trustGuestRxFilters, mac type/check and driver name/txmode/ioeventfd/event_idx take a fixed set of values; no interface takes backend type='passt' in libvirt 9.0.0.",
        rationale: "libvirt refuses the domain at define: \"XML error: Invalid value for attribute 'name' in element "
            + "'driver': 'vfio'.\" (vfio and kvm are hostdev values the schema allows on every interface).",
        severity: .error, enforcement: .define, reference: "oracle",
        triggering: [
            Example.nic(Example.goodBody(), attributes: "↓trustGuestRxFilters='maybe'"),
            Example.nic(Example.goodBody() + "<driver ↓name='vfio'/>"),
            Example.nic("<mac address='52:54:00:00:00:01' ↓type='bogus'/><source dev='eth0' mode='bridge'/><model type='virtio'/>"),
        ],
        nonTriggering: [Example.nic(Example.goodBody() + "<driver name='vhost' txmode='iothread' ioeventfd='on'/>", attributes: "trustGuestRxFilters='no'")])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        let element = document.domain.element(of: interface)
        var violations: [Violation] = []
        // Every interface type: libvirt 9.0.0 knows no passt backend yet; 11.3 takes it (and 'default').
        if !document.judgesAsLibvirt11, let backend = element.firstChild(named: "backend"), let type = backend.attribute("type"), type != "default" {
            violations.append(
                Violation(
                    at: backend.position(ofAttribute: "type") ?? backend.position,
                    "XML error: Invalid value for attribute 'type' in element 'backend': '\(type)'. (libvirt 9.0.0; 11.3 accepts it)",
                    fix: "remove type=; libvirt 9.0.0 has only the default backend"))
        }
        guard interface.type?.value == "direct" else { return violations }
        // <driver>'s name, txmode, ioeventfd and event_idx are parsed for virtio models only.
        let parsesDriver = interface.direct?.hasVirtioModel == true
        for (childName, attribute, values) in Self.enumerations where childName != "driver" || parsesDriver {
            guard let holder = childName.map({ element.firstChild(named: $0) }) ?? element,
                let value = holder.attribute(attribute), !values.contains(value)
            else { continue }
            violations.append(
                Violation(
                    at: holder.position(ofAttribute: attribute) ?? holder.position,
                    "XML error: Invalid value for attribute '\(attribute)' in element '\(holder.name)': '\(value)'.",
                    fix: "use one of: \(values.joined(separator: ", "))"))
        }
        return violations
    }
}

/// A `<model type>` QEMU has no device for: the domain defines, and QEMU refuses it at start.
public struct ModelUnknownRule: DirectInterfaceRule {
    public init() {}

    /// libvirt's model names for QEMU plus QEMU 7.2's x86 network devices and their aliases, which
    /// libvirt passes through.
    package static let knownModels: Set<String> = [
        "virtio", "virtio-transitional", "virtio-non-transitional", "e1000", "e1000e", "igb", "rtl8139", "vmxnet3",
        "ne2k_pci", "ne2k_isa", "pcnet", "tulip", "rocker", "usb-net", "i82550", "i82551", "i82557a", "i82557b",
        "i82557c", "i82558a", "i82558b", "i82559a", "i82559b", "i82559c", "i82559er", "i82562", "i82801",
        "e1000-82544gc", "e1000-82545em", "virtio-net-pci", "virtio-net-pci-transitional", "virtio-net-pci-non-transitional",
        "virtio-net", "virtio-net-device", "virtio-net-ccw", "spapr-vlan", "lan9118", "smc91c111",
    ]

    public static let description = RuleDescription(
        id: "model-unknown", name: "NIC model QEMU does not have",
        summary: "A <model type> that is neither a libvirt model name nor a QEMU network device.",
        rationale: "libvirt passes unknown model names to QEMU as they are; QEMU then refuses to start the domain or "
            + "to hot-plug the NIC: \"'bogus' is not a valid device model name\" (QEMU 7.2).",
        severity: .error, enforcement: .start, reference: "oracle",
        triggering: [Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model ↓type='virtio_net'/>")],
        nonTriggering: [
            Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model type='e1000e'/>"),
            Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model type='VIRTIO'/>"),
        ])

    /// libvirt's own model names, which it matches in any case and writes back in lower case
    /// ('VIRTIO' is read back as 'virtio'); QEMU's other device names are passed on as written.
    package static let libvirtModels: Set<String> = ["virtio", "virtio-transitional", "virtio-non-transitional", "e1000", "e1000e", "igb", "rtl8139", "vmxnet3", "usb-net"]

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard document.isQEMUDomain, let model = interface.model, !model.value.isEmpty,
            model.value.utf8.allSatisfy(DirectInterfaceSpec.isWordByte), !Self.knownModels.contains(model.value),
            !Self.libvirtModels.contains(model.value.lowercased())
        else { return [] }
        return [Violation(at: model.position, "'\(model.value)' is not a valid device model name for QEMU", fix: "use virtio (or e1000e, rtl8139 for guests without virtio drivers)")]
    }
}

/// Interfaces a whole-domain define and start accept but a live attach does not.
public struct HotplugRefusedRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "hotplug-refused", name: "Interface that cannot be hot-plugged",
        summary: "Where a NIC is hot-plugged (attach, or device XML for attach-device): a <boot order> into a domain "
            + "that boots by <os><boot>, <rom bar='off'> with a ROM, or a PCI address QEMU cannot hot-plug into "
            + "(function ≠ 0, a bus the domain has no controller for).",
        rationale: "A domain with such a NIC defines and starts; only attaching the NIC live fails: \"per-device boot "
            + "elements cannot be used together with os/boot elements\" (libvirt gives a domain without per-device "
            + "boot orders <boot dev='hd'/>), \"Hot-plugged device without ROM bar can't have an option ROM\" (QEMU), "
            + "\"Only PCI device addresses with function=0 are supported\" and \"Only PCI buses up to 0 are "
            + "available\". So a whole domain file (an ordinary PXE-boot NIC) is never reported; a bare <interface> "
            + "and attach's preflight are.",
        severity: .error, enforcement: .hotplug, reference: "oracle",
        triggering: [
            Example.nic(Example.goodBody() + "↓<boot order='1'/>"),
            Example.nic(Example.goodBody() + "↓<rom bar='off'/>"),
        ].map(Self.deviceXML),
        nonTriggering: [
            Example.domain(
                "    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/><boot order='1'/></disk>\n"
                    + Example.directInterface(Example.goodBody() + "<boot order='2'/>")),
            Self.deviceXML(Example.nic(Example.goodBody() + "<rom enabled='no'/>")),
            // A PXE-boot NIC in a whole domain: defined and started, never hot-plugged.
            Example.nic(Example.goodBody() + "<boot order='1'/>"),
        ])

    /// The `<interface>` of a one-NIC example domain, alone: device XML for attach-device.
    package static func deviceXML(_ domain: String) -> String {
        guard let start = domain.firstRange(of: "<interface"), let end = domain.firstRange(of: "</interface>") else { return domain }
        return String(domain[start.lowerBound..<end.upperBound])
    }

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard document.isHotplugged, document.isQEMUDomain else { return [] }
        let element = document.domain.element(of: interface)
        var violations: [Violation] = []
        if let boot = element.firstChild(named: "boot"), boot.attribute("order") != nil,
            !document.deviceElements.contains(where: { $0.name != "interface" && $0.firstChild(named: "boot") != nil })
        {
            violations.append(
                Violation(
                    at: boot.position, "this NIC cannot be hot-plugged into the running domain: per-device boot elements cannot be used together with os/boot elements",
                    fix: "attach it to the persistent definition only, or give another device a <boot order> too"))
        }
        if let address = element.firstChild(named: "address"), address.attribute("type") == "pci" {
            if let function = address.attribute("function"), let value = PCIAddressDuplicateRule.number(function), value != 0 {
                violations.append(
                    Violation(
                        at: address.position, "this NIC cannot be hot-plugged: Only PCI device addresses with function=0 are supported",
                        fix: "use function='0x0', or attach it with the domain shut off"))
            } else if let bus = PCIAddressDuplicateRule.number(address.attribute("bus")), bus != 0,
                PCIAddressDuplicateRule.number(address.attribute("slot")) != 0, !document.hasPCIController(index: bus)
            {
                violations.append(
                    Violation(
                        at: address.position, "this NIC cannot be hot-plugged: PCI bus \(bus) does not exist in the domain (Only PCI buses up to 0 are available)",
                        fix: "add the PCI controller for that bus, or remove <address> to let libvirt choose"))
            }
        }
        if let rom = element.firstChild(named: "rom"), rom.attribute("bar") == "off", rom.attribute("enabled") != "no" {
            violations.append(
                Violation(
                    at: rom.position, "this NIC cannot be hot-plugged: Hot-plugged device without ROM bar can't have an option ROM",
                    fix: "add enabled='no' to <rom> as well, or attach it with the domain shut off"))
        }
        return violations
    }
}

/// A NIC's PCI address on a bus the domain does not declare, at slot 0.
public struct PCIAddressBusMissingRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "pci-address-bus-missing", name: "PCI address on a bus that is not there",
        summary: "An interface at slot 0 of a PCI bus the domain has no <controller type='pci' index='N'> for.",
        rationale: "libvirt adds a pci-bridge for the missing bus, whose slot 0 is reserved, and refuses the domain at "
            + "define: \"XML error: Invalid PCI address 0000:04:00.0. slot must be >= 1\" (an interface copied from a "
            + "domain with pcie-root-ports into one without them).",
        severity: .error, enforcement: .define, reference: "oracle",
        triggering: [Example.nic(Example.goodBody() + "↓<address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>")],
        nonTriggering: [
            Example.domain(
                "    <controller type='pci' index='0' model='pci-root'/>\n"
                    + "    <controller type='pci' index='1' model='pci-bridge'/>\n"
                    + Example.directInterface(Example.goodBody() + "<address type='pci' domain='0x0000' bus='0x01' slot='0x01' function='0x0'/>"))
        ])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard !document.isDeviceXML, let address = document.domain.element(of: interface).firstChild(named: "address"),
            address.attribute("type") == "pci", let bus = PCIAddressDuplicateRule.number(address.attribute("bus")), bus != 0,
            PCIAddressDuplicateRule.number(address.attribute("slot")) == 0, !document.hasPCIController(index: bus)
        else { return [] }
        return [
            Violation(
                at: address.position,
                "XML error: Invalid PCI address 0000:\(PCIAddressDuplicateRule.hex(bus, 2)):00.0. slot must be >= 1 (the domain has no PCI controller with index \(bus); libvirt adds a pci-bridge there)",
                fix: "declare the controller for that bus (e.g. a pcie-root-port), or remove <address> to let libvirt choose")
        ]
    }
}

/// The `vhostuser-shared-memory` rule: a vhost-user interface in a domain whose memory is not shared.
public struct VhostUserSharedMemoryRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "vhostuser-shared-memory", name: "vhost-user without shared memory",
        summary: "A vhost-user interface in a domain without shared memory (<memoryBacking><access mode='shared'/> or "
            + "a NUMA cell with memAccess='shared').",
        rationale: "The vhost-user backend reads the guest's memory directly; without shared memory it sees nothing. "
            + "libvirt 11.3 refuses the domain at define (\"unsupported configuration: 'interface' requires shared "
            + "memory\"); libvirt 9.0 defines it.",
        severity: .error, enforcement: .define, reference: "oracle (libvirt 11.2 NEWS)",
        triggering: [
            Example.domain("    ↓<interface type='vhostuser'><mac address='52:54:00:00:00:01'/><source type='unix' path='/tmp/vhost.sock' mode='client'/><model type='virtio'/></interface>")
        ],
        nonTriggering: [
            Example.domain("    <interface type='vhostuser'><mac address='52:54:00:00:00:01'/><source type='unix' path='/tmp/vhost.sock' mode='client'/><model type='virtio'/></interface>")
                .replacing("<memory unit='MiB'>512</memory>", with: "<memory unit='MiB'>512</memory>\n  <memoryBacking><access mode='shared'/></memoryBacking>")
        ])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard interface.type?.value == "vhostuser", document.isQEMUDomain, !document.isDeviceXML,
            let root = document.domain.xml.root
        else { return [] }
        let backing = root.firstChild(named: "memoryBacking")?.firstChild(named: "access")?.attribute("mode") == "shared"
        let cells = root.firstChild(named: "cpu")?.firstChild(named: "numa")?.children(named: "cell") ?? []
        guard !backing, cells.isEmpty || !cells.allSatisfy({ $0.attribute("memAccess") == "shared" }) else { return [] }
        let fix = "add <memoryBacking><access mode='shared'/></memoryBacking> (with a memfd or hugepage source)"
        if document.judgesAsLibvirt11 {
            return [Violation(at: interface.position, "unsupported configuration: 'interface' requires shared memory (libvirt 11.3; 9.0 defines it)", fix: fix)]
        }
        return [
            Violation(
                at: interface.position, "a vhost-user interface needs shared guest memory: libvirt 9.0 defines this domain, 11.3 rejects it at define", fix: fix, enforcement: .advice,
                severity: .warning)
        ]
    }
}
