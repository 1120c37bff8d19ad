import MacvtapLibvirt

/// One row of `list`: a direct NIC of a domain, merged across its live and persistent XML.
public struct DirectNICRow: Sendable, Hashable, Codable {
    public var domain: String
    public var state: String
    public var nic: DirectNICView
    /// "live+config", "live" (hot-plugged only) or "config" (takes effect at next start).
    public var copies: String
    /// With `list --addresses`: what this machine's neighbour table has for the NIC's MACs.
    public var addresses: [GuestAddress]?

    /// The row with its addresses from `neighbours` (by lowercase MAC).
    public func withAddresses(from neighbours: [String: [GuestAddress]]) -> DirectNICRow {
        var row = self
        row.addresses = [nic.mac, nic.currentMAC].compactMap { $0 }.flatMap { neighbours[$0.lowercased()] ?? [] }
        return row
    }
}

extension LiveSession {
    /// Direct NICs of the named domains (any state), else of running domains, or all with `all`.
    public func listDirectNICs(domains references: [String], all: Bool) throws(LiveError) -> [DirectNICRow] {
        var domains: [LibvirtDomain] = []
        if references.isEmpty {
            do {
                domains = try connection.allDomains()
            } catch {
                throw .libvirt(error)
            }
        } else {
            for reference in references { domains.append(try lookup(reference)) }
        }
        // Persistent `type='network'` NICs on a macvtap network are macvtaps too, once started.
        let macvtapNetworks = Dictionary(
            ((try? connection.networks()) ?? []).compactMap { HostInventory.HostNetwork(xml: $0.xml, isActive: $0.isActive) }
                .filter { $0.forwardMode.flatMap(MacvtapMode.init(libvirtName:)) != nil }.map { ($0.name, $0) },
            uniquingKeysWith: { first, _ in first })
        var rows: [DirectNICRow] = []
        for domain in domains {
            let state = try state(of: domain)
            if references.isEmpty, !all, !state.isActive { continue }
            var byMAC: [String: (view: DirectNICView, copies: DomainCopies)] = [:]
            var order: [String] = []
            let copies: [DomainCopies] = (state.isActive ? [.live] : []) + (domain.isPersistent ? [.config] : [])
            for copy in copies {
                for entry in try document(of: domain, copy: copy).interfaces {
                    let view: DirectNICView
                    if entry.direct != nil {
                        view = DirectNICView(entry)
                    } else if entry.type?.value == "network", let name = entry.sourceNetwork?.value, let network = macvtapNetworks[name] {
                        view = DirectNICView(entry, network: network)
                    } else {
                        continue
                    }
                    if let known = byMAC[view.mac] {
                        byMAC[view.mac] = (known.view, known.copies.union(copy))
                    } else {
                        byMAC[view.mac] = (view, copy)
                        order.append(view.mac)
                    }
                }
            }
            for mac in order {
                let (view, found) = byMAC[mac]!
                rows.append(DirectNICRow(domain: domain.name, state: state.description, nic: view, copies: found.description))
            }
        }
        return rows
    }
}
