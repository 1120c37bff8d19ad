public import MacvtapLibvirt
import MacvtapXML

/// Who uses which MAC across the places `mac` commands look: every domain (live and inactive
/// XML) and host NIC on each connection, and every interface in the given domain XML files.
public struct MACUsage: Sendable {
    /// Each address with a readable description of every user.
    public var users: [MACAddress: [String]]
    /// What was looked at (URIs and paths), recorded in the ledger with each reservation.
    public var checkedAgainst: [String]

    public var taken: Set<MACAddress> { Set(users.keys) }

    public init(users: [MACAddress: [String]] = [:], checkedAgainst: [String] = []) {
        self.users = users
        self.checkedAgainst = checkedAgainst
    }

    /// Scans the hosts concurrently (a fleet) and parses the files on all cores.
    public static func gather(uris: [String], excludePaths: [String]) throws(MACUsageError) -> MACUsage {
        var usage = MACUsage(checkedAgainst: uris + excludePaths)
        let inventories: [HostInventory]
        do {
            inventories = try HostInventory.scan(uris: uris)
        } catch {
            throw .libvirt(error)
        }
        for inventory in inventories {
            for (mac, holders) in AttachPreflight.macUsers(in: inventory) {
                usage.users[mac, default: []] += holders.sorted().map { "\($0) on \(inventory.uri)" }
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
            return document.interfaces.compactMap { entry in entry.macAddress.map { MACUser(mac: $0, owner: owner) } }
        }
        for user in found.joined() { usage.users[user.mac, default: []].append(user.owner) }
        return usage
    }
}

private struct MACUser: Sendable {
    var mac: MACAddress
    var owner: String
}

public enum MACUsageError: Error, Sendable, CustomStringConvertible {
    case libvirt(LibvirtError)
    case file(String)

    public var description: String {
        switch self {
        case .libvirt(let error): LiveError.describe(error)
        case .file(let message): "excluded file: \(message)"
        }
    }
}
