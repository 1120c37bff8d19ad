public import MacvtapXML

/// The Sendable facts about one document that cross-document and live-host rules need: what
/// the lint cache stores of a file (`Codable`), and nothing else, so that a rule can read only
/// what a cached run has too.
public struct DocumentSummary: Sendable, Codable {
    public var file: String
    public var domainName: String?
    public var uuid: String?
    public var interfaces: [SummaryInterface]
    /// The fleet host the file belongs to (`hosts` in `.virt-macvtap.json`, `--host`); nil
    /// for the unnamed host.
    public var host: String?
    /// A domain as a libvirt host reported it (`HostInventory`), not a linted file.
    public var isHostCopy = false
    /// A running domain's live XML (as a host reported it): what it holds right now.
    public var isLiveCopy = false
    /// A host's domain that libvirt starts at boot (its persistent XML then takes effect).
    public var autostarts = false
    /// The `<target dev>` prefixes libvirt replaces with its own names when this document is
    /// defined (`DomainDocument.ownedTargetPrefixes`); none for a live dump, whose names are in use.
    public var ownedTargetPrefixes: [String] = []
    /// Lower-cased once: identity checks run for every pair of uses on a shared device.
    private(set) var comparableUUID: String?

    public init(_ document: DomainDocument) {
        file = document.fileName
        domainName = document.name?.value
        uuid = document.uuid?.value
        comparableUUID = uuid?.lowercased()
        interfaces = document.interfaces.map(SummaryInterface.init)
        ownedTargetPrefixes = document.isLiveDump ? [] : document.ownedTargetPrefixes
    }

    /// Whether the host-side name `name` survives the define of this document (libvirt drops
    /// names with a prefix it owns and picks its own at start). A host's copy says what runs.
    public func keepsTargetName(_ name: String) -> Bool {
        isLiveCopy || !ownedTargetPrefixes.contains { name.hasPrefix($0) }
    }

    /// A label for messages: the domain's name, else the file.
    public var label: String { domainName.map { "domain '\($0)'" } ?? file }

    /// Whether two summaries describe the same domain (by UUID, else by name); a domain's
    /// live and inactive XML, or its file and its copy on a host, are not in conflict.
    public func isSameDomain(as other: DocumentSummary) -> Bool {
        if let comparableUUID, let otherUUID = other.comparableUUID { return comparableUUID == otherUUID }
        if let domainName, let otherName = other.domainName { return domainName == otherName }
        return false
    }
}

/// `isSameDomain` against many summaries at once, in constant time per question (a fleet's
/// domains against thousands of files).
package struct DomainIdentities {
    private var uuids: Set<String> = []
    private var allNames: Set<String> = []
    private var namesWithoutUUID: Set<String> = []

    package init(_ summaries: [DocumentSummary]) {
        for summary in summaries {
            if let uuid = summary.comparableUUID { uuids.insert(uuid) }
            if let name = summary.domainName {
                allNames.insert(name)
                if summary.uuid == nil { namesWithoutUUID.insert(name) }
            }
        }
    }

    /// Whether any of the summaries is the same domain as `other`.
    package func contains(sameDomainAs other: DocumentSummary) -> Bool {
        if let uuid = other.comparableUUID, uuids.contains(uuid) { return true }
        guard let name = other.domainName else { return false }
        // A UUID on both sides decides; a name decides only where one side has no UUID.
        return other.uuid == nil ? allNames.contains(name) : namesWithoutUUID.contains(name)
    }
}

/// One `<interface>` of a summarised document: what the cross-document and host rules read of
/// it (identity, MACs, names, the macvtap's device and mode, where each was written).
public struct SummaryInterface: Sendable, Hashable, Codable {
    /// Position among the domain's interfaces (0-based).
    public var index: Int
    public var position: SourcePosition
    public var type: Located<String>?
    public var mac: Located<String>?
    /// `<mac currentAddress=…>`: the MAC the guest set (libvirt ≥ 11.2, live XML).
    public var currentMAC: MACAddress?
    public var alias: Located<String>?
    public var targetDev: Located<String>?
    /// `<source network=…>` of a `type='network'` interface (and of a live direct NIC libvirt
    /// made from a network).
    public var sourceNetwork: Located<String>?
    /// Set for `type='direct'`.
    public var direct: Direct?
    /// `<link state='down'/>`: the guest's NIC carries nothing.
    public var linkDown: Bool

    /// What a direct interface's summary keeps: its `<source>` and whether it has a `<vlan>`.
    public struct Direct: Sendable, Hashable, Codable {
        public var position: SourcePosition
        public var source: Source?
        /// Where its `<vlan>` is, when it has one.
        public var vlanPosition: SourcePosition?

        /// The mode libvirt uses: the written one, vepa when none is written, nil when the
        /// written one is not a mode.
        public var effectiveMode: MacvtapMode? {
            guard let written = source?.mode else { return .libvirtDefault }
            return MacvtapMode(libvirtName: written.value)
        }
    }

    /// A direct interface's `<source>`.
    public struct Source: Sendable, Hashable, Codable {
        public var position: SourcePosition
        public var dev: Located<String>?
        public var mode: Located<String>?
        public var network: Located<String>?
        public var portGroup: Located<String>?
        public var portID: Located<String>?
    }

    public init(_ entry: DomainDocument.InterfaceEntry) {
        index = entry.index
        position = entry.position
        type = entry.type
        mac = entry.mac
        currentMAC = entry.currentMAC
        alias = entry.alias
        targetDev = entry.targetDev
        sourceNetwork = entry.sourceNetwork
        linkDown = entry.direct?.linkState?.value == "down"
        direct = entry.direct.map { direct in
            Direct(
                position: direct.position,
                source: direct.source.map {
                    Source(position: $0.position, dev: $0.dev, mode: $0.mode, network: $0.network, portGroup: $0.portGroup, portID: $0.portID)
                },
                vlanPosition: direct.vlan?.position)
        }
    }

    public var macAddress: MACAddress? { mac.flatMap { MACAddress($0.value) } }

    /// The MAC the guest set (`currentAddress`), when it differs from the configured one.
    public var currentMACAddress: MACAddress? {
        currentMAC.flatMap { $0 == macAddress ? nil : $0 }
    }

    /// Every MAC this NIC holds on the wire: the configured one and the one the guest set.
    public var macAddressesInUse: [MACAddress] { [macAddress, currentMACAddress].compactMap { $0 } }
}
