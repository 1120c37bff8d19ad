import MacvtapXML

/// The `target-dev-invalid` rule: a target name with a prefix libvirt owns (vnet, macvtap, macvlan; vif for Xen) in a definition.
public struct TargetDevInvalidRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "target-dev-invalid", name: "<target dev> libvirt replaces",
        summary: "A target name with a prefix libvirt owns (vnet, macvtap, macvlan; vif for Xen) in a definition.",
        rationale: "On define libvirt silently drops such a name (on every interface type) and picks its own at start, "
            + "so scripts that look for the name miss. In a live dump (`<domain id=…>`) the names are the ones "
            + "libvirt chose and are not reported here (live-dump says so once per file).",
        severity: .warning, enforcement: .silentlyDropped, reference: "D20, L16",
        triggering: [
            Example.nic("<source dev='eth0'/><target ↓dev='macvtap7'/>"),
            Example.domain("    <interface type='ethernet'><target ↓dev='vnet3'/><model type='virtio'/></interface>"),
        ],
        nonTriggering: [
            Example.nic("<source dev='eth0'/><target dev='web01-lan'/>"),
            // QEMU keeps vif names: only the Xen driver owns that prefix.
            Example.nic("<source dev='eth0'/><target dev='vif3'/>"),
        ])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard !document.isLiveDump, let target = interface.targetDev, let prefix = document.domain.ownedTargetPrefix(of: target.value) else { return [] }
        return [
            Violation(
                at: target.position, "target dev '\(target.value)' starts with '\(prefix)', a prefix libvirt owns; libvirt drops it on define and picks its own name at start",
                fix: "choose another name, or remove <target> to let libvirt name it")
        ]
    }
}

/// The `target-dev-unusable` rule: a target name over 15 bytes, or with '/', ':' or whitespace.
public struct TargetDevUnusableRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "target-dev-unusable", name: "<target dev> the kernel refuses",
        summary: "A target name over 15 bytes, or with '/', ':' or whitespace.",
        rationale: "libvirt keeps it; the kernel refuses to create the macvtap at start or hot-plug: \"error creating "
            + "macvtap interface NAME@DEV: Numerical result out of range\" (too long) or \"Invalid argument\".",
        severity: .error, enforcement: .start, reference: "L16",
        triggering: [
            Example.nic(Example.goodBody() + "<target ↓dev='a-very-long-tap-name'/>"),
            Example.nic(Example.goodBody() + "<target ↓dev='a/b'/>"),
        ],
        nonTriggering: [Example.nic(Example.goodBody() + "<target dev='web01-lan'/>")])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        // A name libvirt drops on define never reaches the kernel (target-dev-invalid says so).
        guard let target = interface.targetDev, document.domain.keepsTargetName(target.value),
            let problem = LinuxInterfaceName.problem(with: target.value)
        else { return [] }
        return [Violation(at: target.position, "target dev '\(target.value)' \(problem); the kernel refuses to create the macvtap", fix: "use a name of at most 15 bytes without '/', ':' or spaces")]
    }
}

/// The `alias-not-user` rule: user aliases must start with 'ua-' and use only letters, digits, '_' and '-'.
public struct AliasNotUserRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "alias-not-user", name: "Alias libvirt drops",
        summary: "User aliases must start with 'ua-' and use only letters, digits, '_' and '-'.",
        rationale: "On define libvirt silently discards any other <alias name> and assigns net0, net1, …; scripts "
            + "that detach by alias then miss.",
        severity: .warning, enforcement: .silentlyDropped, reference: "D21, L18",
        triggering: [Example.nic("<source dev='eth0'/><alias ↓name='uplink'/>")],
        nonTriggering: [Example.nic("<source dev='eth0'/><alias name='ua-uplink'/>")])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        // A live dump's aliases are libvirt's own (net0, …): live-dump says so once per file.
        guard !document.isLiveDump, let alias = interface.alias else { return [] }
        let valid = alias.value.hasPrefix("ua-") && alias.value.count > 3 && alias.value.utf8.allSatisfy(DirectInterfaceSpec.isWordByte)
        guard !valid else { return [] }
        return [Violation(at: alias.position, "alias '\(alias.value)' is not a user alias; libvirt drops it on define", fix: "rename it ua-\(alias.value.filter { $0.isLetter || $0.isNumber })")]
    }
}

/// The `numeric-value-invalid` rule: acpi index must be 1–16383, boot order ≥ 1, sndbuf a positive integer, virtio queue sizes powers of two.
public struct NumericValueInvalidRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "numeric-value-invalid", name: "Out-of-range number",
        summary: "acpi index must be 1–16383, boot order ≥ 1, sndbuf a positive integer, virtio queue sizes powers of "
            + "two from 256 to 1024, at most 256 queues on a macvtap.",
        rationale: "libvirt refuses \"Invalid value for attribute 'index' in element 'acpi': Zero is not permitted\" "
            + "and \"sndbuf must be a positive integer\" at define; QEMU refuses acpi-index above 16383 at start; "
            + "\"rx_queue_size has to be a power of two\" at define, and QEMU a size outside 256–1024 at start "
            + "(\"Invalid rx_queue_size (= 2048), must be a power of 2 between 256 and 1024\"); the kernel gives a "
            + "macvtap at most 256 queues, so queues='257' fails at start: \"cannot open macvtap tap device "
            + "/dev/tapN: Device or resource busy\". libvirt parses these numbers for every interface type "
            + "(the real-world corpus: a user-mode NIC with queues='-5' or slot='0x20' is refused at define just the "
            + "same), and refuses a PCI address with bus above 0xFF, slot above 0x1F or function above 7.",
        severity: .error, enforcement: .define, reference: "D15, D16, D33, L19",
        triggering: [
            Example.nic("<source dev='eth0'/><acpi ↓index='0'/>"), Example.nic("<source dev='eth0'/><acpi ↓index='20000'/>"),
            Example.nic("<source dev='eth0'/><boot ↓order='0'/>"),
            Example.nic("<source dev='eth0'/><model type='virtio'/><driver ↓rx_queue_size='300'/>"),
            Example.nic("<source dev='eth0'/><tune>↓<sndbuf>lots</sndbuf></tune>"),
            Example.nic(Example.goodBody() + "<address type='pci' domain='0x0000' bus='0x00' ↓slot='0x20' function='0x0'/>"),
            Example.domain("    <interface type='user'><model type='virtio'/><driver ↓queues='-5'/></interface>"),
            Example.domain("    <interface type='user'><model type='virtio'/><address type='pci' domain='0x0000' ↓bus='0x100' slot='0x05' function='0x0'/></interface>"),
        ],
        nonTriggering: [Example.nic(Example.goodBody() + "<acpi index='3'/><boot order='1'/><driver rx_queue_size='256'/>")])

    public func check(_ entry: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        let interface = entry.direct ?? DirectInterface(document.domain.element(of: entry))
        var violations: [Violation] = []
        if let index = interface.acpiIndex {
            switch UInt64(index.value) {
            case 0?: violations.append(Violation(at: index.position, "XML error: Invalid value for attribute 'index' in element 'acpi': Zero is not permitted", fix: "use 1–16383"))
            case let value? where value > 16383: violations.append(Violation(at: index.position, "acpi index \(value) is above QEMU's maximum 16383", fix: "use 1–16383", enforcement: .start))
            case nil: violations.append(Violation(at: index.position, "XML error: Invalid value for attribute 'index' in element 'acpi': '\(index.value)'", fix: "use 1–16383"))
            default: break
            }
        }
        if let order = interface.bootOrder, (UInt64(order.value) ?? 0) == 0 {
            violations.append(Violation(at: order.position, "XML error: Invalid value for attribute 'order' in element 'boot': '\(order.value)'", fix: "boot order starts at 1"))
        }
        if let sndbuf = interface.tuneSndbuf, UInt64(sndbuf.value.trimmingWhitespace()) == nil {
            violations.append(Violation(at: sndbuf.position, "XML error: sndbuf must be a positive integer", fix: "give the size in bytes"))
        }
        if let address = interface.address, address.attribute("type")?.value == "pci" {
            for (name, limit) in [("bus", UInt64(0xFF)), ("slot", UInt64(0x1F)), ("function", UInt64(7))] {
                guard let value = address.attribute(name), let number = PCIAddressDuplicateRule.number(value.value), number > limit else { continue }
                let shown = name == "function" ? "function=0x\(String(number, radix: 16))" : "\(name)='0x\(String(number, radix: 16))'"
                violations.append(
                    Violation(
                        at: value.position, "XML error: Invalid PCI address \(shown), must be <= \(name == "function" ? "7" : "0x" + String(limit, radix: 16, uppercase: true))",
                        fix: "use a \(name) from 0 to 0x\(String(limit, radix: 16))"))
                break  // libvirt reports the first field out of range
            }
        }
        // libvirt parses <driver>'s queues and queue sizes only for virtio models (elsewhere it
        // drops them: virtio-option-without-virtio says so).
        let parsesDriver = interface.hasVirtioModel
        if parsesDriver, let queues = interface.driver?.attribute("queues"), UInt64(queues.value) == nil {
            violations.append(
                Violation(
                    at: queues.position, "XML error: Invalid value for attribute 'queues' in element 'driver': '\(queues.value)'. Expected non-negative integer value",
                    fix: "give the number of queue pairs, e.g. queues='4'"))
        }
        for name in ["rx_queue_size", "tx_queue_size"] where parsesDriver {
            guard let size = interface.driver?.attribute(name) else { continue }
            guard let value = UInt32(String(size.value.drop(while: \.isWhitespace))).map(UInt64.init) else {  // strtoul skips leading blanks only
                violations.append(
                    Violation(
                        at: size.position, "XML error: Invalid value for attribute '\(name)' in element 'driver': '\(size.value)'. Expected non-negative integer value", fix: "use 256, 512 or 1024"))
                continue
            }
            // 0 is libvirt's "not set": parsed, then left out of the definition.
            guard value != 0 else { continue }
            guard document.isQEMUDomain else { continue }
            if value & (value - 1) != 0 {
                violations.append(Violation(at: size.position, "\(name) has to be a power of two", fix: "use 256, 512 or 1024"))
            } else {
                // QEMU 10 (libvirt 11.3's in Debian 13) takes only 256 for a tap backend's TX queue;
                // QEMU 7.2 (with libvirt 9.0) takes 256–1024.
                let limit: UInt64 = name == "tx_queue_size" && document.judgesAsLibvirt11 ? 256 : 1024
                if !(256...limit).contains(value) {
                    let versions = name == "tx_queue_size" ? (limit == 256 ? " with libvirt 11.3's QEMU 10; QEMU 7.2 takes up to 1024" : "; QEMU 10 (libvirt 11.3) takes only 256") : ""
                    violations.append(
                        Violation(
                            at: size.position, "Invalid \(name) (= \(value)), must be a power of 2 between 256 and \(limit) (QEMU)\(versions)", fix: limit == 256 ? "use 256" : "use 256, 512 or 1024",
                            enforcement: .start))
                }
            }
        }
        // A macvtap has at most 256 queues (the kernel's MAX_TAP_QUEUES): libvirt opens the tap once per queue.
        if entry.direct != nil, parsesDriver, let queues = interface.driver?.attribute("queues"), let value = UInt64(queues.value), value > 256 {
            violations.append(
                Violation(
                    at: queues.position, "queues='\(value)' is more than a macvtap has (256): the start fails with \"cannot open macvtap tap device: Device or resource busy\"",
                    fix: "use at most 256 queues (one per guest vCPU is usual)", enforcement: .start))
        }
        return violations
    }
}

/// The `pci-only-option` rule: rOM tuning with the ROM disabled; ACPI index or ROM tuning on a non-PCI address; a CCW address on x86.
public struct PCIOnlyOptionRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "pci-only-option", name: "ROM or ACPI index option that cannot apply",
        summary: "ROM tuning with the ROM disabled; ACPI index or ROM tuning on a non-PCI address; a CCW address on x86.",
        rationale: "libvirt refuses \"ROM tuning is not supported when ROM is disabled\" at define, and \"ACPI index is "
            + "only supported for PCI devices\" / \"ROM tuning is only supported for PCI devices\"; an x86 machine has "
            + "no CCW bus: \"cannot use CCW address type for device … using machine type …\".",
        severity: .error, enforcement: .define, reference: "D17, D34",
        triggering: [
            Example.nic("<source dev='eth0'/>↓<rom enabled='no' bar='on'/>"),
            Example.nic("<source dev='eth0'/><acpi ↓index='1'/><address ↓type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>"),
        ],
        nonTriggering: [Example.nic("<source dev='eth0'/><rom enabled='no'/><acpi index='1'/>")])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        var violations: [Violation] = []
        if let rom = interface.rom, rom.attribute("enabled")?.value == "no",
            rom.attribute("bar") != nil || rom.attribute("file") != nil
        {
            violations.append(Violation(at: rom.position, "unsupported configuration: ROM tuning is not supported when ROM is disabled", fix: "drop bar=/file= or enable the ROM"))
        }
        if let type = interface.address?.attribute("type"), type.value == "ccw", document.isX86Domain {
            violations.append(
                Violation(
                    at: type.position, "unsupported configuration: cannot use CCW address type for device using machine type '\(document.machineType ?? "pc")'",
                    fix: "use a PCI address, or remove <address> to let libvirt choose"))
        }
        // The address libvirt validates: the (first) <address>, or for a usb-net NIC without one the
        // USB port libvirt 11.x gives it (9.0 refuses to place it at all: address-type-unsupported).
        let usbNet = interface.model?.value.lowercased() == "usb-net"
        let addressType = interface.address?.attribute("type")?.value ?? (usbNet && document.isQEMUDomain && document.judgesAsLibvirt11 ? "usb" : nil)
        if let addressType, addressType != "pci" {
            let placed = interface.address == nil ? " (libvirt puts a usb-net NIC on USB)" : ""
            if let index = interface.acpiIndex {
                violations.append(Violation(at: index.position, "unsupported configuration: ACPI index is only supported for PCI devices\(placed)", fix: "remove <acpi> or use a PCI address"))
            }
            // Any of enabled=, bar=, file= is ROM tuning to libvirt (romenabled, rombar, romfile).
            if let rom = interface.rom, rom.attribute("enabled") != nil || rom.attribute("bar") != nil || rom.attribute("file") != nil {
                violations.append(Violation(at: rom.position, "unsupported configuration: ROM tuning is only supported for PCI devices\(placed)", fix: "remove <rom>"))
            }
        }
        return violations
    }
}

/// The `virtio-option-without-virtio` rule: iommu, ats, packed and page_per_vq on <driver> need <model type='virtio'/>; iommu needs a modern virtio device.
public struct VirtioOptionWithoutVirtioRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "virtio-option-without-virtio", name: "virtio driver option on a non-virtio model",
        summary: "iommu, ats, packed and page_per_vq on <driver> need <model type='virtio'/>; iommu needs a modern virtio device.",
        rationale: "libvirt refuses: \"iommu driver option is only supported for virtio devices\" (likewise ats, "
            + "packed, page_per_vq); other virtio-only driver attributes are silently ignored. On a pc (i440fx) "
            + "machine model 'virtio' is transitional and QEMU refuses iommu='on' at start or hot-plug: "
            + "\"VIRTIO_F_IOMMU_PLATFORM was supported by neither legacy nor transitional device\".",
        severity: .error, enforcement: .define, reference: "D28, D24b",
        triggering: [
            Example.nic("<source dev='eth0'/><model type='e1000e'/><driver ↓iommu='on'/>"),
            Example.nic("<source dev='eth0'/><model type='virtio'/><driver ↓iommu='on'/>"),
        ],
        nonTriggering: [
            Example.nic("<source dev='eth0'/><model type='virtio'/><driver packed='on' queues='4'/>"),
            Example.nic("<source dev='eth0'/><model type='virtio-non-transitional'/><driver iommu='on'/>"),
        ])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        // The QEMU driver's validation; other drivers have no virtio models.
        guard document.isQEMUDomain, let driver = interface.driver else { return [] }
        if let model = interface.model?.value, ["virtio", "virtio-transitional"].contains(model.lowercased()), document.isI440FXDomain,
            let iommu = driver.attribute("iommu"), iommu.value == "on"
        {
            return [
                Violation(
                    at: iommu.position, "VIRTIO_F_IOMMU_PLATFORM was supported by neither legacy nor transitional device: model '\(model)' on a pc machine is transitional",
                    fix: "use <model type='virtio-non-transitional'/>, a q35 machine, or drop iommu='on'", enforcement: .start)
            ]
        }
        guard !interface.hasVirtioModel else { return [] }
        return ["iommu", "ats", "packed", "page_per_vq"].compactMap { name in
            driver.attribute(name).map {
                Violation(at: $0.position, "\(name) driver option is only supported for virtio devices", fix: "use <model type='virtio'/> or remove \(name)=")
            }
        }
    }
}

/// The `teaming-invalid` rule: teaming on a direct interface must be type='persistent' with a virtio model.
public struct TeamingInvalidRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "teaming-invalid", name: "<teaming> a direct interface cannot use",
        summary: "Teaming on a direct interface must be type='persistent' with a virtio model.",
        rationale: "libvirt refuses \"unknown teaming type\", \"teaming persistent attribute not allowed if teaming "
            + "type is 'persistent'\", \"virtio-net teaming transient interface must be type='hostdev', not 'direct'\".",
        severity: .error, enforcement: .define, reference: "D18, D29",
        triggering: [
            Example.nic("<source dev='eth0'/><model type='virtio'/>↓<teaming type='transient' persistent='ua-backup0'/>"),
            Example.nic("<source dev='eth0'/><model type='virtio'/>↓<teaming type='sometimes'/>"),
        ],
        nonTriggering: [Example.nic("<source dev='eth0'/><model type='virtio'/><alias name='ua-backup0'/><teaming type='persistent'/>")])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let teaming = interface.otherChildren.first(where: { $0.name == "teaming" }) else { return [] }
        switch teaming.attribute("type")?.value {
        case "persistent":
            if teaming.attribute("persistent") != nil {
                return [Violation(at: teaming.position, "teaming persistent attribute not allowed if teaming type is 'persistent'", fix: "remove persistent=")]
            }
            // The model requirement is the QEMU driver's; other drivers have no virtio model.
            if document.isQEMUDomain, !interface.hasVirtioModel {
                return [Violation(at: teaming.position, "virtio-net teaming persistent interface must be <model type='virtio'/>", fix: "add <model type='virtio'/>")]
            }
            return []
        case "transient":
            return [Violation(at: teaming.position, "virtio-net teaming transient interface must be type='hostdev', not 'direct'", fix: "make the transient side a hostdev interface")]
        case let other:
            return [Violation(at: teaming.position, "unsupported configuration: unknown teaming type '\(other ?? "")'", fix: "use type='persistent'")]
        }
    }
}

/// The `unknown-element` rule: a child of <interface> that is not in libvirt's schema.
public struct UnknownElementRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "unknown-element", name: "Element libvirt does not know",
        summary: "A child of <interface> that is not in libvirt's schema.",
        rationale: "libvirt ignores unknown elements on define without a word, so a misspelt <modle> or <souce> "
            + "silently does nothing.",
        severity: .warning, enforcement: .silentlyDropped, reference: "D22, L20",
        triggering: [Example.nic(Example.goodBody() + "↓<modle type='virtio'/>")],
        nonTriggering: [Example.nic(Example.goodBody())])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        interface.unknownChildren.map {
            Violation(
                at: $0.position, "<\($0.name)> is not part of libvirt's interface format and is ignored", fix: "check the spelling against https://libvirt.org/formatdomain.html#network-interfaces")
        }
    }
}

/// The `address-type-unsupported` rule: a NIC `<address type>` an x86 QEMU machine has no bus for, or the NIC model cannot sit on.
public struct AddressTypeUnsupportedRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "address-type-unsupported", name: "Address type the NIC cannot take",
        summary: "A NIC <address type> an x86 QEMU machine has no bus for, or the NIC model cannot sit on: usb, "
            + "spapr-vio, drive, isa, virtio-serial, and virtio-mmio for a virtio NIC on a pc or q35 machine.",
        rationale: "libvirt passes these on and QEMU refuses the NIC at start or hot-plug (libvirt 9.0, QEMU 7.2, "
            + "every model tried): \"Unexpected address type for 'virtio-net'\", \"Device 'e1000' can't go on usb-bus "
            + "bus\", \"Property 'e1000.reg' not found\" (spapr-vio), \"unable to find a SCSI controller\" (drive), "
            + "\"No 'virtio-bus' bus found\" (virtio-mmio); a virtio-serial address without its controller is refused "
            + "at define: \"XML error: virtio serial controller 0 is missing\". (CCW is pci-only-option's, ISA the "
            + "schema's.) A usb-net NIC is the exception: it takes a USB address (it starts on 9.0 and 11.3), and without "
            + "one libvirt 9.0 refuses it at define (\"Cannot automatically add a new PCI bus for a device with connect "
            + "flags 00\"), 11.3 gives it a USB port.",
        severity: .error, enforcement: .start, reference: "oracle",
        triggering: [
            Example.nic(Example.goodBody() + "<address ↓type='usb' bus='0' port='1'/>"),
            Example.nic(Example.goodBody() + "<address ↓type='virtio-mmio'/>"),
            Example.nic(Example.goodBody() + "<address ↓type='virtio-serial' controller='0' bus='0' port='2'/>"),
        ],
        nonTriggering: [
            Example.nic(Example.goodBody() + "<address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>"),
            Example.nic("<source dev='eth0' mode='bridge'/><model type='usb-net'/><address type='usb' bus='0' port='1'/>"),
        ])

    /// Whether a device libvirt puts on the command line after this NIC gets a PCI slot libvirt
    /// chooses itself: a later NIC, or a video, sound, balloon, RNG or watchdog device, without an
    /// address of its own.
    static func laterDeviceTakesAPCISlot(after interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> Bool {
        let placesItself = { (element: XMLElement) in element.firstChild(named: "address") == nil }
        if document.domain.interfaces.dropFirst(interface.index + 1).contains(where: { placesItself(document.domain.element(of: $0)) }) { return true }
        return document.deviceElements.contains { element in
            ["video", "sound", "rng", "watchdog"].contains(element.name) && placesItself(element)
                || (element.name == "memballoon" && element.attribute("model") != "none" && placesItself(element))
        }
    }

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard document.isQEMUDomain, document.isX86Domain else { return [] }
        let element = document.domain.element(of: interface)
        let model = element.firstChild(named: "model")?.attribute("type")?.lowercased() ?? ""
        guard let address = element.firstChild(named: "address"),
            let type = address.attribute("type"), let position = address.position(ofAttribute: "type")
        else {
            // libvirt 9.0 knows the usb-net model but places only PCI devices itself.
            if model == "usb-net", !document.judgesAsLibvirt11, let modelElement = element.firstChild(named: "model") {
                return [
                    Violation(
                        at: modelElement.position,
                        "internal error: Cannot automatically add a new PCI bus for a device with connect flags 00 (libvirt 9.0 gives a usb-net NIC no USB address of its own; 11.3 does)",
                        fix: "add <address type='usb' bus='0' port='1'/> (with a USB controller), or use model virtio", enforcement: .define)
                ]
            }
            return []
        }
        let isVirtio = DirectInterface.isVirtioModel(model)
        if model == "usb-net", type == "pci" {
            // A PCI address libvirt must fill in (none given, or 0000:00:00) it cannot fill for a USB
            // device in 9.0; an explicit one QEMU refuses at start.
            let empty = ["domain", "bus", "slot"].allSatisfy { (PCIAddressDuplicateRule.number(address.attribute($0)) ?? 0) == 0 }
            if empty && !document.judgesAsLibvirt11 {
                return [
                    Violation(
                        at: position, "internal error: Cannot automatically add a new PCI bus for a device with connect flags 00 (a usb-net NIC is a USB device)",
                        fix: "use <address type='usb' bus='0' port='1'/>, or model virtio for a PCI address", enforcement: .define)
                ]
            }
            return [Violation(at: position, "Device 'usb-net' can't go on PCI bus (QEMU, at start)", fix: "use <address type='usb' bus='0' port='1'/>, or model virtio for a PCI address")]
        }
        switch type {
        case "usb" where model == "usb-net":
            return []
        case "usb", "spapr-vio", "drive", "isa":
            let reason = isVirtio ? "Unexpected address type for 'virtio-net'" : "QEMU has no \(type) bus for a '\(model.isEmpty ? "rtl8139" : model)' NIC"
            return [Violation(at: position, "a NIC cannot take a \(type) address on an x86 machine: \(reason)", fix: "use a PCI address, or remove <address> to let libvirt choose")]
        case "virtio-serial":
            let controller = address.attribute("controller") ?? "0"
            let present = document.deviceElements.contains {
                $0.name == "controller" && $0.attribute("type") == "virtio-serial" && ($0.attribute("index") ?? "0") == controller
            }
            // With the controller present the oracle has no verdict yet: no claim.
            guard !present else { return [] }
            return [Violation(at: position, "XML error: virtio serial controller \(controller) is missing", fix: "use a PCI address, or remove <address> to let libvirt choose", enforcement: .define)]
        case "virtio-mmio" where isVirtio && document.machineType.map({ !$0.hasPrefix("microvm") }) ?? true:
            return [
                Violation(
                    at: position, "No 'virtio-bus' bus found: a \(document.machineType ?? "pc") machine has no virtio-mmio bus", fix: "use a PCI address, or remove <address> to let libvirt choose")
            ]
        case "virtio-mmio" where !isVirtio && Self.laterDeviceTakesAPCISlot(after: interface, in: document):
            // libvirt reserves no PCI slot for it and QEMU puts the NIC on the PCI bus's first free
            // slot — the one libvirt gives the next device it places itself.
            return [
                Violation(
                    at: position,
                    "PCI: slot N function 0 not available (QEMU puts a '\(model.isEmpty ? "rtl8139" : model)' NIC with a virtio-mmio address on the first free PCI slot, which libvirt gives to a device after it)",
                    fix: "use a PCI address, or remove <address> to let libvirt choose")
            ]
        default:
            return []
        }
    }
}
