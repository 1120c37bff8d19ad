import Dispatch
public import MacvtapLibvirt
import MacvtapXML
import Synchronization

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
        let sources = LintInputs.expand(excludePaths)
        let results = Mutex<[Int: Result<[(MACAddress, String)], MACUsageError>]>([:])
        DispatchQueue.concurrentPerform(iterations: sources.count) { index in
            let source = sources[index]
            let result: Result<[(MACAddress, String)], MACUsageError>
            do throws(DocumentReadError) {
                let xml = try XMLDocument(source: source)
                if let document = try? DomainDocument(xml, allowDeviceXML: true) {
                    let owner = document.name.map { "file \(source.displayName) (domain '\($0.value)')" } ?? "file \(source.displayName)"
                    result = .success(document.interfaces.compactMap { entry in entry.macAddress.map { ($0, owner) } })
                } else {
                    result = .success([])  // not a domain (a network, a pool…): no guest MACs
                }
            } catch {
                result = .failure(.file(error.description))
            }
            results.withLock { $0[index] = result }
        }
        let collected = results.withLock { $0 }
        for index in sources.indices {
            switch collected[index]! {
            case .success(let pairs):
                for (mac, owner) in pairs { usage.users[mac, default: []].append(owner) }
            case .failure(let error): throw error
            }
        }
        return usage
    }
}

public enum MACUsageError: Error, Sendable, CustomStringConvertible {
    case libvirt(LibvirtError)
    case file(String)

    public var description: String {
        switch self {
        case .libvirt(let error): LiveError.describe(error)
        case .file(let message): "--exclude: \(message)"
        }
    }
}
