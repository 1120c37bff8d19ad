public import MacvtapXML

/// An `<interface type='direct'>` decoded into typed fields, each with its source position.
///
/// It is a reading of the document, not a replacement for it: edits splice the original bytes,
/// so children this type does not model (listed in `unknownChildren`) stay exactly as written.
public struct DirectInterface: Sendable, Hashable {
    public var position: SourcePosition
    public var trustGuestRxFilters: Located<String>?

    public var mac: Located<String>?
    public var macType: Located<String>?
    public var macCheck: Located<String>?
    /// How many `<mac>` elements there are; libvirt silently uses only the first.
    public var macElementCount: Int

    public var source: Source?
    /// How many `<source>` elements there are; libvirt silently uses only the first.
    public var sourceElementCount: Int

    public var model: Located<String>?

    /// Whether libvirt takes `<model type>` for one of its virtio models (virtio,
    /// virtio-transitional, virtio-non-transitional; case-insensitive, as its parser compares).
    /// Only then does it parse `<driver>`'s name, txmode, ioeventfd, event_idx, queues and queue
    /// sizes, and only then do the QEMU driver's virtio checks apply.
    public var hasVirtioModel: Bool { Self.isVirtioModel(model?.value) }

    /// ``hasVirtioModel`` for a model name.
    public static func isVirtioModel(_ type: String?) -> Bool {
        guard let type else { return false }
        return ["virtio", "virtio-transitional", "virtio-non-transitional"].contains(type.lowercased())
    }
    public var targetDev: Located<String>?
    public var targetManaged: Located<String>?
    public var alias: Located<String>?
    public var virtualPort: VirtualPort?
    public var vlan: VLAN?
    public var linkState: Located<String>?
    public var mtu: Located<String>?
    public var bandwidth: ElementRecord?
    public var driver: ElementRecord?
    public var address: ElementRecord?
    public var bootOrder: Located<String>?
    public var bootLoadParm: Located<String>?
    public var rom: ElementRecord?
    public var acpiIndex: Located<String>?
    public var filterRef: Located<String>?
    public var coalesceRxFramesMax: Located<String>?
    public var tuneSndbuf: Located<String>?
    /// Other children libvirt's schema allows on an interface (ip, route, script, backend, port,
    /// teaming, guest, portForward, …): rules look at them, edits leave them alone.
    public var otherChildren: [ElementRecord]
    /// Children libvirt's schema does not know at all.
    public var unknownChildren: [ElementRecord]

    /// `<source dev mode>`: the host's lower device and the macvtap mode.
    public struct Source: Sendable, Hashable {
        public var position: SourcePosition
        public var dev: Located<String>?
        public var mode: Located<String>?
        public var network: Located<String>?
        public var portGroup: Located<String>?
        public var portID: Located<String>?
        /// Attributes libvirt does not read on `<source>` (a `mod='bridge'` typo lands here).
        public var unknownAttributes: [XMLAttribute]

        package init(
            position: SourcePosition, dev: Located<String>?, mode: Located<String>?, network: Located<String>?,
            portGroup: Located<String>?, portID: Located<String>?, unknownAttributes: [XMLAttribute]
        ) {
            self.position = position
            self.dev = dev
            self.mode = mode
            self.network = network
            self.portGroup = portGroup
            self.portID = portID
            self.unknownAttributes = unknownAttributes
        }
    }

    /// `<virtualport type>` and its `<parameters>` (802.1Qbg, 802.1Qbh, Open vSwitch).
    public struct VirtualPort: Sendable, Hashable {
        public var position: SourcePosition
        public var type: Located<String>?
        /// `managerid`, `typeid`, `typeidversion`, `instanceid`, `profileid`, `interfaceid`.
        public var parameters: [String: Located<String>]
    }

    /// `<vlan trunk>` and its tags (passthrough mode only).
    public struct VLAN: Sendable, Hashable {
        public var position: SourcePosition
        public var trunk: Located<String>?
        public var tags: [Tag]

        /// One `<tag id nativeMode>` of a `<vlan>`.
        public struct Tag: Sendable, Hashable {
            public var position: SourcePosition
            public var id: Located<String>?
            public var nativeMode: Located<String>?
        }
    }

    /// The parsed MAC, if `<mac address>` is present and libvirt could parse it.
    public var macAddress: MACAddress? {
        mac.flatMap { MACAddress($0.value) }
    }

    /// The mode libvirt will use: the attribute's value, or vepa when it is absent.
    /// Nil when the attribute holds something libvirt rejects.
    public var effectiveMode: MacvtapMode? {
        guard let written = source?.mode else { return .libvirtDefault }
        return MacvtapMode(libvirtName: written.value)
    }

    package static let modelledChildren: Set<String> = [
        "mac", "source", "model", "target", "alias", "virtualport", "vlan", "link", "mtu", "bandwidth",
        "driver", "address", "boot", "rom", "acpi", "filterref", "coalesce", "tune",
    ]
    /// The rest of libvirt 9.0's `interface-options` (domaincommon.rng).
    package static let otherSchemaChildren: Set<String> = [
        "ip", "route", "script", "downscript", "backenddomain", "backend", "guest", "portForward", "port",
        "teaming", "actual",
    ]

    public init(_ element: XMLElement) {
        position = element.position
        trustGuestRxFilters = Self.attribute("trustGuestRxFilters", of: element)

        let macs = element.children(named: "mac")
        macElementCount = macs.count
        mac = macs.first.flatMap { Self.attribute("address", of: $0) }
        macType = macs.first.flatMap { Self.attribute("type", of: $0) }
        macCheck = macs.first.flatMap { Self.attribute("check", of: $0) }

        let sources = element.children(named: "source")
        sourceElementCount = sources.count
        source = sources.first.map { sourceElement in
            let known: Set<String> = ["dev", "mode", "network", "portgroup", "portid"]
            return Source(
                position: sourceElement.position,
                dev: Self.attribute("dev", of: sourceElement),
                mode: Self.attribute("mode", of: sourceElement),
                network: Self.attribute("network", of: sourceElement),
                portGroup: Self.attribute("portgroup", of: sourceElement),
                portID: Self.attribute("portid", of: sourceElement),
                unknownAttributes: sourceElement.attributes.filter { !known.contains($0.name) })
        }

        model = element.firstChild(named: "model").flatMap { Self.attribute("type", of: $0) }
        let target = element.firstChild(named: "target")
        targetDev = target.flatMap { Self.attribute("dev", of: $0) }
        targetManaged = target.flatMap { Self.attribute("managed", of: $0) }
        alias = element.firstChild(named: "alias").flatMap { Self.attribute("name", of: $0) }

        virtualPort = element.firstChild(named: "virtualport").map { port in
            var parameters: [String: Located<String>] = [:]
            for parameterElement in port.children(named: "parameters") {
                for attribute in parameterElement.attributes {
                    parameters[attribute.name] = Located(attribute.value, at: attribute.position)
                }
            }
            return VirtualPort(position: port.position, type: Self.attribute("type", of: port), parameters: parameters)
        }

        vlan = element.firstChild(named: "vlan").map { vlanElement in
            VLAN(
                position: vlanElement.position,
                trunk: Self.attribute("trunk", of: vlanElement),
                tags: vlanElement.children(named: "tag").map { tag in
                    VLAN.Tag(
                        position: tag.position, id: Self.attribute("id", of: tag),
                        nativeMode: Self.attribute("nativeMode", of: tag))
                })
        }

        linkState = element.firstChild(named: "link").flatMap { Self.attribute("state", of: $0) }
        mtu = element.firstChild(named: "mtu").flatMap { Self.attribute("size", of: $0) }
        bandwidth = element.firstChild(named: "bandwidth").map(ElementRecord.init)
        driver = element.firstChild(named: "driver").map(ElementRecord.init)
        address = element.firstChild(named: "address").map(ElementRecord.init)
        let boot = element.firstChild(named: "boot")
        bootOrder = boot.flatMap { Self.attribute("order", of: $0) }
        bootLoadParm = boot.flatMap { Self.attribute("loadparm", of: $0) }
        rom = element.firstChild(named: "rom").map(ElementRecord.init)
        acpiIndex = element.firstChild(named: "acpi").flatMap { Self.attribute("index", of: $0) }
        filterRef = element.firstChild(named: "filterref").flatMap { Self.attribute("filter", of: $0) }
        coalesceRxFramesMax = element.firstChild(named: "coalesce")?.firstChild(named: "rx")?
            .firstChild(named: "frames").flatMap { Self.attribute("max", of: $0) }
        tuneSndbuf = element.firstChild(named: "tune")?.firstChild(named: "sndbuf").map {
            Located($0.textContent, at: $0.position)
        }

        var others: [ElementRecord] = []
        var unknown: [ElementRecord] = []
        for child in element.children where !Self.modelledChildren.contains(child.qualifiedName) {
            if Self.otherSchemaChildren.contains(child.qualifiedName) {
                others.append(ElementRecord(child))
            } else {
                unknown.append(ElementRecord(child))
            }
        }
        otherChildren = others
        unknownChildren = unknown
    }

    package static func attribute(_ name: String, of element: XMLElement) -> Located<String>? {
        guard let value = element.attribute(name) else { return nil }
        return Located(value, at: element.position(ofAttribute: name) ?? element.position)
    }
}
