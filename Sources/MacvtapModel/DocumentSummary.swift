import MacvtapXML

/// The Sendable facts about one document that cross-document and live-host rules need.
public struct DocumentSummary: Sendable {
    public var file: String
    public var domainName: String?
    public var uuid: String?
    public var interfaces: [DomainDocument.InterfaceEntry]
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

    /// From the lint cache.
    package init(file: String, domainName: String?, uuid: String?, interfaces: [DomainDocument.InterfaceEntry], ownedTargetPrefixes: [String]) {
        self.file = file
        self.domainName = domainName
        self.uuid = uuid
        comparableUUID = uuid?.lowercased()
        self.interfaces = interfaces
        self.ownedTargetPrefixes = ownedTargetPrefixes
    }

    public init(_ document: DomainDocument) {
        file = document.fileName
        domainName = document.name?.value
        uuid = document.uuid?.value
        comparableUUID = uuid?.lowercased()
        interfaces = document.interfaces
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
