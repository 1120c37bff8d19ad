package import MacvtapXML

/// Reports every value after its first use, within one domain.
package struct DuplicateFinder<Key: Hashable> {
    private var first: [Key: SourcePosition] = [:]
    package var violations: [Violation] = []

    /// `position` identifies the use (and is what later messages cite); the violation is
    /// reported at `reportAt` when given (e.g. the `<mac>` inside the `<interface>`).
    package mutating func record(
        _ key: Key, at position: SourcePosition, message: (SourcePosition) -> String, fix: String,
        reportAt: SourcePosition? = nil
    ) {
        if let earlier = first[key] {
            violations.append(Violation(at: reportAt ?? position, message(earlier), fix: fix))
        } else {
            first[key] = position
        }
    }
}

/// The `alias-duplicate` rule: two devices of one domain (an interface among them) share an <alias name>.
public struct AliasDuplicateRule: DocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "alias-duplicate", name: "Duplicate alias",
        summary: "Two devices of one domain (an interface among them) share an <alias name>.",
        rationale: "libvirt refuses: \"unsupported configuration: non unique alias detected: %s\".",
        severity: .error, enforcement: .define, reference: "D35, L18",
        triggering: [
            Example.domain(
                Example.directInterface("<source dev='eth0'/><alias name='ua-a'/>") + "\n"
                    + Example.directInterface("<source dev='eth1'/>↓<alias name='ua-a'/>"))
        ],
        nonTriggering: [
            Example.domain(
                Example.directInterface("<source dev='eth0'/><alias name='ua-a'/>") + "\n"
                    + Example.directInterface("<source dev='eth1'/><alias name='ua-b'/>"))
        ])

    public func check(_ document: LintDocument) -> [Violation] {
        // libvirt compares the aliases of all devices; we report only where an interface is involved.
        var first: [String: (position: SourcePosition, isInterface: Bool)] = [:]
        var violations: [Violation] = []
        for device in document.deviceElements {
            guard let alias = device.firstChild(named: "alias"), let name = alias.attribute("name") else { continue }
            let isInterface = device.name == "interface"
            if let earlier = first[name] {
                if isInterface || earlier.isInterface {
                    violations.append(Violation(at: alias.position, "unsupported configuration: non unique alias detected: \(name)", fix: "give each device its own ua- alias"))
                }
            } else {
                first[name] = (alias.position, isInterface)
            }
        }
        return violations
    }
}

/// The `target-duplicate` rule: two interfaces of one domain ask for the same host-side name.
public struct TargetDuplicateRule: DocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "target-duplicate", name: "Duplicate target dev in a domain",
        summary: "Two interfaces of one domain ask for the same host-side name.",
        rationale: "The second macvtap cannot be created: \"error creating macvtap interface\" with EEXIST at start. "
            + "Names with a prefix libvirt owns (vnet, macvtap, macvlan; vif for Xen) are dropped at define and "
            + "chosen anew, so they never collide in a definition; in a live dump they are real names.",
        severity: .error, enforcement: .start, reference: "L16, K02",
        triggering: [
            Example.domain(
                Example.directInterface("<source dev='eth0'/><target dev='lan0'/>") + "\n"
                    + Example.directInterface("<source dev='eth1'/><target ↓dev='lan0'/>"))
        ],
        nonTriggering: [
            Example.domain(
                Example.directInterface("<source dev='eth0'/><target dev='lan0'/>") + "\n"
                    + Example.directInterface("<source dev='eth1'/><target dev='lan1'/>")),
            Example.domain(
                Example.directInterface("<source dev='eth0'/><target dev='vnet7'/>") + "\n"
                    + Example.directInterface("<source dev='eth1'/><target dev='vnet7'/>")),
        ])

    public func check(_ document: LintDocument) -> [Violation] {
        var finder = DuplicateFinder<String>()
        for interface in document.domain.interfaces {
            // Names libvirt owns are dropped at define and chosen anew at start: no conflict.
            guard let target = interface.targetDev, document.domain.keepsTargetName(target.value) else { continue }
            finder.record(target.value, at: target.position, message: { "target dev '\(target.value)' is also used at line \($0.line)" }, fix: "give each interface its own target name")
        }
        return finder.violations
    }
}

/// The `live-dump` rule: a running domain's live XML (`<domain id=…>`) whose generated interface names and aliases libvirt drops on define.
public struct LiveDumpRule: DocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "live-dump", name: "Live XML kept as a definition",
        summary: "A running domain's live XML (`<domain id=…>`) whose generated interface names and aliases libvirt drops on define.",
        rationale: "`virsh dumpxml` of a running domain writes the names libvirt chose (target vnetN/macvtapN, alias "
            + "netN); defining that file silently drops them and libvirt picks new ones at start. Said once per file, "
            + "instead of once per NIC: keep the inactive XML (`virsh dumpxml --inactive`) in the repository.",
        severity: .warning, enforcement: .silentlyDropped, reference: "D20, D21",
        triggering: [
            Example.domain(
                Example.directInterface(Example.goodBody() + "<target dev='macvtap0'/><alias name='net0'/>")
            ).replacing("<domain type='kvm'>", with: "<domain type='kvm' ↓id='7'>")
        ],
        nonTriggering: [
            Example.nic(Example.goodBody() + "<alias name='ua-lan'/>"),
            Example.domain(Example.directInterface(Example.goodBody() + "<target dev='web01-lan'/><alias name='ua-lan'/>"))
                .replacing("<domain type='kvm'>", with: "<domain type='kvm' id='7'>"),
        ])

    public func check(_ document: LintDocument) -> [Violation] {
        guard document.isLiveDump, let root = document.domain.xml.root else { return [] }
        let domain = document.domain
        let targets = domain.interfaces.compactMap { $0.targetDev?.value }.filter { domain.ownedTargetPrefix(of: $0) != nil }
        let aliases = domain.interfaces.compactMap { $0.alias?.value }.filter { !$0.hasPrefix("ua-") }
        guard !targets.isEmpty || !aliases.isEmpty else { return [] }
        let dropped = [
            targets.isEmpty ? nil : "target names \(targets.joined(separator: ", "))",
            aliases.isEmpty ? nil : "aliases \(aliases.joined(separator: ", "))",
        ].compactMap { $0 }.joined(separator: " and ")
        let position = root.position(ofAttribute: "id") ?? root.position
        return [
            Violation(
                at: position, "this is a running domain's live XML (<domain id=…>): defining it drops the generated \(dropped)",
                fix: "keep the inactive definition instead: virsh dumpxml --inactive \(domain.name?.value ?? "NAME")")
        ]
    }
}

/// Rules that look at every device of the domain, not only interfaces.
extension LintDocument {
    package var deviceElements: [XMLElement] {
        domain.xml.root?.firstChild(named: "devices")?.children ?? []
    }
}

/// The `boot-order-conflict` rule: per-device <boot order> values must be unique and cannot be combined with <os><boot dev>.
public struct BootOrderConflictRule: DocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "boot-order-conflict", name: "Boot order used twice, or mixed with <os><boot>",
        summary: "Per-device <boot order> values must be unique and cannot be combined with <os><boot dev>.",
        rationale: "libvirt refuses: \"boot order '%s' used for more than one device\" and \"per-device boot elements "
            + "cannot be used together with os/boot elements\".",
        severity: .error, enforcement: .define, reference: "D36",
        triggering: [
            Example.domain(
                "    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/><boot order='1'/></disk>\n"
                    + Example.directInterface("<source dev='eth0'/><boot ↓order='1'/>"))
        ],
        nonTriggering: [
            Example.domain(
                "    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/><boot order='1'/></disk>\n"
                    + Example.directInterface("<source dev='eth0'/><boot order='2'/>"))
        ])

    public func check(_ document: LintDocument) -> [Violation] {
        var finder = DuplicateFinder<String>()
        var anyDeviceBoot: SourcePosition?
        for device in document.deviceElements {
            guard let boot = device.firstChild(named: "boot"), let order = boot.attribute("order") else { continue }
            let position = boot.position(ofAttribute: "order") ?? boot.position
            anyDeviceBoot = anyDeviceBoot ?? position
            finder.record(order, at: position, message: { _ in "boot order '\(order)' used for more than one device" }, fix: "give each bootable device its own order")
        }
        var violations = finder.violations
        if let position = anyDeviceBoot, document.domain.xml.root?.firstChild(named: "os")?.firstChild(named: "boot") != nil {
            violations.append(Violation(at: position, "per-device boot elements cannot be used together with os/boot elements", fix: "remove <os><boot dev=…/> or the per-device <boot order>"))
        }
        return violations
    }
}

/// The `acpi-index-duplicate` rule: two NICs of one domain with the same <acpi index>.
public struct ACPIIndexDuplicateRule: DocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "acpi-index-duplicate", name: "Duplicate ACPI index",
        summary: "Two NICs of one domain with the same <acpi index>.",
        rationale: "libvirt 9.0 does not check; QEMU refuses the duplicate acpi-index when the domain starts.",
        severity: .error, enforcement: .start, reference: "L19",
        triggering: [
            Example.domain(
                Example.directInterface("<source dev='eth0'/><acpi index='1'/>") + "\n"
                    + Example.directInterface("<source dev='eth1'/>↓<acpi index='1'/>"))
        ],
        nonTriggering: [
            Example.domain(
                Example.directInterface("<source dev='eth0'/><acpi index='1'/>") + "\n"
                    + Example.directInterface("<source dev='eth1'/><acpi index='2'/>"))
        ])

    public func check(_ document: LintDocument) -> [Violation] {
        var finder = DuplicateFinder<String>()
        for device in document.deviceElements {
            guard let acpi = device.firstChild(named: "acpi"), let index = acpi.attribute("index") else { continue }
            finder.record(index, at: acpi.position, message: { "acpi index \(index) is also used at line \($0.line)" }, fix: "give each NIC its own acpi index")
        }
        return finder.violations
    }
}

/// The `pci-address-duplicate` rule: two devices of one domain at the same PCI domain:bus:slot.function.
public struct PCIAddressDuplicateRule: DocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "pci-address-duplicate", name: "PCI address used twice",
        summary: "Two devices of one domain at the same PCI domain:bus:slot.function.",
        rationale: "libvirt refuses: \"XML error: Attempted double use of PCI Address %s\".",
        severity: .error, enforcement: .define, reference: "D37",
        triggering: [
            Example.domain(
                Example.directInterface("<source dev='eth0'/><address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>") + "\n"
                    + Example.directInterface("<source dev='eth1'/>↓<address type='pci' domain='0' bus='0' slot='3' function='0'/>"))
        ],
        nonTriggering: [
            Example.domain(
                Example.directInterface("<source dev='eth0'/><address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>") + "\n"
                    + Example.directInterface("<source dev='eth1'/><address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>")),
            Example.domain(
                Example.directInterface("<source dev='eth0'/><address type='pci'/>") + "\n"
                    + Example.directInterface("<source dev='eth1'/><address type='pci'/>")),
        ])

    public func check(_ document: LintDocument) -> [Violation] {
        var finder = DuplicateFinder<[UInt64]>()
        // A <console> on the first serial port is that serial device again (pci-serial-dev-chardev.xml).
        for device in document.deviceElements where device.name != "console" {
            // Without a slot the address is a request for libvirt to pick one (pci-autofill-addr.xml).
            guard let address = device.firstChild(named: "address"), address.attribute("type") == "pci",
                address.attribute("slot") != nil
            else { continue }
            let parts = ["domain", "bus", "slot", "function"].map { Self.number(address.attribute($0)) }
            guard parts.allSatisfy({ $0 != nil }) else { continue }
            let key = parts.map { $0! }
            let text = "\(Self.hex(key[0], 4)):\(Self.hex(key[1], 2)):\(Self.hex(key[2], 2)).\(Self.hex(key[3], 1))"
            finder.record(
                key, at: address.position, message: { _ in "XML error: Attempted double use of PCI Address \(text)" },
                fix: "move one device to a free slot, or drop <address> to let libvirt assign one")
        }
        return finder.violations
    }

    package static func hex(_ value: UInt64, _ width: Int) -> String {
        String(value, radix: 16).leftPadded(width)
    }

    package static func number(_ text: String?) -> UInt64? {
        guard let text else { return 0 }
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }
}
