import MacvtapLibvirt
import MacvtapXML

/// Who uses which MAC across the places `mac` commands look: every domain (live and inactive
/// XML) and host NIC on each connection, and every interface in the given domain XML files.
public struct MACUsage: Sendable {
    /// Each address with a readable description of every user.
    public var users: [MACAddress: [String]]
    /// What was looked at (URIs and paths), recorded in the ledger with each reservation.
    public var checkedAgainst: [String]
    /// Each address's guest users (host NICs left out), for `mac reconcile`.
    public var guests: [MACAddress: [GuestUse]] = [:]
    /// Hosts that could not be scanned (only when gathering tolerates them).
    public var unreachable: [(uri: String, error: String)] = []

    public var taken: Set<MACAddress> { Set(users.keys) }

    public init(users: [MACAddress: [String]] = [:], checkedAgainst: [String] = []) {
        self.users = users
        self.checkedAgainst = checkedAgainst
    }

    /// Scans the hosts concurrently (a fleet) and parses the files on all cores. A host that
    /// cannot be scanned fails the whole gathering, unless `toleratingUnreachable`: then it is
    /// listed in ``unreachable`` and the others still count.
    public static func gather(uris: [String], excludePaths: [String], toleratingUnreachable: Bool = false) throws(MACUsageError) -> MACUsage {
        var usage = MACUsage(checkedAgainst: uris + excludePaths)
        var inventories: [HostInventory] = []
        for (uri, result) in HostInventory.scan(named: uris.map { ($0, $0) }) {
            switch result {
            case .success(let inventory): inventories.append(inventory)
            case .failure(let error):
                guard toleratingUnreachable else { throw .libvirt(error) }
                usage.unreachable.append((uri, error.description))
            }
        }
        for inventory in inventories {
            for (mac, holders) in AttachPreflight.macUsers(in: inventory) {
                usage.users[mac, default: []] += holders.sorted().map { "\($0) on \(inventory.uri)" }
            }
            for domain in inventory.domains {
                for interface in domain.interfaces {
                    for mac in interface.macAddressesInUse {
                        let setByGuest = mac == interface.currentMACAddress ? " (set by the guest)" : ""
                        let use = GuestUse(domain: domain.domainName ?? "?", host: inventory.uri, description: "\(domain.label) on \(inventory.uri)\(setByGuest)")
                        usage.addGuest(use, of: mac)
                    }
                }
            }
        }
        let sources: [DocumentSource]
        do {
            sources = try LintInputs.expand(excludePaths)
        } catch {
            throw .file(error.description)
        }
        let found = try Concurrently.map(sources.count) { (index) throws(MACUsageError) -> [MACUser] in
            let source = sources[index]
            let xml: XMLDocument
            do throws(DocumentReadError) {
                xml = try XMLDocument(source: source)
            } catch {
                throw .file(error.description)
            }
            // Not a domain (a network, a pool…): no guest MACs.
            guard let document = try? DomainDocument(xml, allowDeviceXML: true) else { return [] }
            let owner = document.name.map { "file \(source.displayName) (domain '\($0.value)')" } ?? "file \(source.displayName)"
            return document.interfaces.compactMap { entry in
                entry.macAddress.map { MACUser(mac: $0, owner: owner, domain: document.name?.value ?? source.displayName) }
            }
        }
        for user in found.joined() {
            usage.users[user.mac, default: []].append(user.owner)
            let use = GuestUse(domain: user.domain, host: nil, description: user.owner)
            usage.addGuest(use, of: user.mac)
        }
        return usage
    }
}

extension MACUsage {
    /// A domain's live and inactive copies are one use: each use is kept once per address.
    mutating func addGuest(_ use: GuestUse, of mac: MACAddress) {
        if !(guests[mac]?.contains(use) ?? false) { guests[mac, default: []].append(use) }
    }
}

/// One guest's use of an address: a domain on a host, or in a file (no host).
public struct GuestUse: Sendable, Hashable {
    /// The domain's name (a file without one: the file).
    public var domain: String
    /// The URI of the host it was seen on; nil for a file.
    public var host: String?
    public var description: String

    /// Equal when the same domain on the same host (a domain's live and inactive copies are one use).
    public static func == (lhs: GuestUse, rhs: GuestUse) -> Bool { lhs.domain == rhs.domain && lhs.host == rhs.host }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(domain)
        hasher.combine(host)
    }
}

private struct MACUser: Sendable {
    var mac: MACAddress
    var owner: String
    var domain: String
}

/// Why the used addresses could not be gathered: a host that could not be scanned, a file that could not be read.
public enum MACUsageError: Error, Sendable, CustomStringConvertible {
    case libvirt(LibvirtFailure)
    case file(String)

    public var description: String {
        switch self {
        case .libvirt(let failure): failure.description
        case .file(let message): "excluded file: \(message)"
        }
    }
}
