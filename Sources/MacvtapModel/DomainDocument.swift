public import MacvtapXML

/// A libvirt domain XML document: its identity, every `<interface>` of any type, and edits
/// that change only the lines of the interface they add, remove or replace.
public final class DomainDocument {
    public let xml: XMLDocument
    public var fileName: String { xml.fileName }
    public let name: Located<String>?
    public let uuid: Located<String>?
    /// `<domain type=…>`: kvm, qemu, xen, …
    public let hypervisorType: Located<String>?
    /// Every `<interface>` under `<devices>`, in document order; all their MACs count for uniqueness.
    public let interfaces: [InterfaceEntry]

    package let root: XMLElement
    package let devices: XMLElement?
    package let interfaceElements: [XMLElement]

    /// One `<interface>` of the domain, of any type, with its element's position; `direct` is set for `type='direct'`.
    public struct InterfaceEntry: Sendable, Hashable {
        /// Position among the domain's interfaces (0-based).
        public var index: Int
        public var position: SourcePosition
        public var type: Located<String>?
        public var mac: Located<String>?
        /// `<mac currentAddress=…>`, parsed: the MAC the guest gave the NIC, which libvirt ≥ 11.2
        /// reports in a running domain's live XML when it differs from `address`. Kept as an
        /// address, not text with a position: every summary of a fleet carries the field.
        public var currentMAC: MACAddress?
        public var alias: Located<String>?
        public var targetDev: Located<String>?
        /// `<source network=…>` of a `type='network'` interface (and of the live XML of a
        /// direct NIC libvirt made from a network).
        public var sourceNetwork: Located<String>?
        /// Set for `type='direct'`.
        public var direct: DirectInterface? {
            get { directStorage?.value }
            set { directStorage = newValue.map(DirectInterfaceBox.init) }
        }
        // Boxed: a decoded direct interface is about 1.5 KB inline, and entries are copied
        // wherever interfaces are grouped (every domain of a host, every file of a lint run).
        private var directStorage: DirectInterfaceBox?

        public init(
            index: Int, position: SourcePosition, type: Located<String>?, mac: Located<String>?,
            alias: Located<String>?, targetDev: Located<String>?, direct: DirectInterface?,
            sourceNetwork: Located<String>? = nil
        ) {
            self.index = index
            self.position = position
            self.type = type
            self.mac = mac
            self.alias = alias
            self.targetDev = targetDev
            self.sourceNetwork = sourceNetwork
            self.direct = direct
        }

        public var macAddress: MACAddress? { mac.flatMap { MACAddress($0.value) } }

        /// The MAC the guest set (`currentAddress`), when it differs from the configured one.
        public var currentMACAddress: MACAddress? {
            currentMAC.flatMap { $0 == macAddress ? nil : $0 }
        }

        /// Every MAC this NIC holds on the wire: the configured one and the one the guest set.
        public var macAddressesInUse: [MACAddress] { [macAddress, currentMACAddress].compactMap { $0 } }
    }

    /// True when the document is a bare `<interface>` (device XML for `virsh attach-device`).
    public let isDeviceXML: Bool

    public convenience init(
        bytes: [UInt8], fileName: String, allowDeviceXML: Bool = false
    )
        throws(DomainDocumentError)
    {
        let document: XMLDocument
        do {
            document = try XMLDocument(bytes: bytes, fileName: fileName)
        } catch {
            throw .malformed(error)
        }
        try self.init(document, allowDeviceXML: allowDeviceXML)
    }

    /// Reads a domain; with `allowDeviceXML`, also a bare `<interface>` element.
    public init(_ document: XMLDocument, allowDeviceXML: Bool = false) throws(DomainDocumentError) {
        guard let root = document.root else { throw .notADomain(file: document.fileName, rootElement: nil) }
        let isInterface = allowDeviceXML && root.name == "interface" && root.namespaceURI == nil
        guard (root.name == "domain" && root.namespaceURI == nil) || isInterface else {
            throw .notADomain(file: document.fileName, rootElement: root.qualifiedName)
        }
        xml = document
        self.root = root
        isDeviceXML = isInterface
        name = isInterface ? nil : root.firstChild(named: "name").map { Located($0.textContent, at: $0.position) }
        uuid = isInterface ? nil : root.firstChild(named: "uuid").map { Located($0.textContent, at: $0.position) }
        hypervisorType = isInterface ? nil : DirectInterface.attribute("type", of: root)
        devices = isInterface ? nil : root.firstChild(named: "devices")
        interfaceElements = isInterface ? [root] : devices?.children(named: "interface") ?? []
        interfaces = interfaceElements.enumerated().map { index, element in
            let type = DirectInterface.attribute("type", of: element)
            let mac = element.firstChild(named: "mac")
            var entry = InterfaceEntry(
                index: index,
                position: element.position,
                type: type,
                mac: mac.flatMap { DirectInterface.attribute("address", of: $0) },
                alias: element.firstChild(named: "alias").flatMap { DirectInterface.attribute("name", of: $0) },
                targetDev: element.firstChild(named: "target").flatMap { DirectInterface.attribute("dev", of: $0) },
                direct: type?.value == "direct" ? DirectInterface(element) : nil,
                sourceNetwork: element.firstChild(named: "source").flatMap { DirectInterface.attribute("network", of: $0) })
            entry.currentMAC = mac?.attribute("currentAddress").flatMap(MACAddress.init)
            return entry
        }
    }

    public var directInterfaces: [InterfaceEntry] {
        interfaces.filter { $0.direct != nil }
    }

    /// A running domain's live XML (`virsh dumpxml` of an active domain): libvirt writes
    /// `<domain id='N'>` only there, never in the inactive definition (`--inactive`) that is
    /// defined. In a live dump, generated target names and aliases are the real ones in use.
    public var isLiveDump: Bool {
        !isDeviceXML && root.attribute("id") != nil
    }

    /// `<interface><target dev>` prefixes libvirt owns for this domain's driver: on define of an
    /// inactive definition it throws such a name away and picks a new one at start
    /// (`virDomainNetDefParseXML`: vnet, macvtap, macvlan for every driver; the libxl driver's
    /// netPrefix vif for Xen). Case-sensitive, as libvirt's STRPREFIX.
    public var ownedTargetPrefixes: [String] {
        let type = hypervisorType?.value
        return ["vnet", "macvtap", "macvlan"] + (type == "xen" ? ["vif"] : [])
    }

    /// The prefix `name` starts with when libvirt owns such names, else nil.
    public func ownedTargetPrefix(of name: String) -> String? {
        ownedTargetPrefixes.first { name.hasPrefix($0) }
    }

    /// Whether libvirt keeps `name` as written: always in a live dump, else only a name whose
    /// prefix libvirt does not own (it drops the others at define).
    public func keepsTargetName(_ name: String) -> Bool {
        isLiveDump || ownedTargetPrefix(of: name) == nil
    }

    /// The element for an interface, for callers that validate or inspect it further.
    public func element(of interface: InterfaceEntry) -> XMLElement {
        interfaceElements[interface.index]
    }
}

/// Why a document could not be read as a domain, or could not be edited.
public enum DomainDocumentError: Error, Sendable, CustomStringConvertible {
    case malformed(XMLParseError)
    case notADomain(file: String, rootElement: String?)
    case notEditable(file: String, reason: String)
    case noSuchInterface(file: String, what: String)
    case ambiguousInterface(file: String, what: String, candidates: [SourcePosition])
    case invalidValue(file: String, XMLValueError)

    public var description: String {
        switch self {
        case .malformed(let error):
            "\(error.description) (the file is not well-formed XML; fix it before editing)"
        case .notADomain(let file, let root):
            if let root {
                "\(file): the root element is <\(root)>, expected <domain>; give a libvirt domain XML file "
                    + "(virsh dumpxml NAME)" + (root == "interface" ? " — device XML can be linted, not edited" : "")
            } else {
                "\(file): no root element; give a libvirt domain XML file (virsh dumpxml NAME)"
            }
        case .notEditable(let file, let reason):
            "\(file): cannot edit without rewriting unrelated lines: \(reason)"
        case .noSuchInterface(let file, let what):
            "\(file): no interface matches \(what); list them with: grep -n '<interface' \(file)"
        case .ambiguousInterface(let file, let what, let candidates):
            "\(file): \(candidates.count) interfaces match \(what) (at "
                + candidates.map { "line \($0.line)" }.joined(separator: ", ")
                + "); fix the duplicate first"
        case .invalidValue(let file, let error):
            "\(file): \(error.description)"
        }
    }
}

/// An immutable heap copy of a direct interface, compared by value.
package final class DirectInterfaceBox: Sendable, Hashable {
    package let value: DirectInterface

    package init(_ value: DirectInterface) {
        self.value = value
    }

    package static func == (lhs: DirectInterfaceBox, rhs: DirectInterfaceBox) -> Bool { lhs.value == rhs.value }
    package func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
