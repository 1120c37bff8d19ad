import MacvtapLibvirt
import MacvtapNetlink
import MacvtapSystem

/// A macvtap link on the host that no domain owns (`list --stale`).
public struct StaleMacvtap: Sendable, Hashable, Codable {
    public var name: String
    public var mac: String?
    public var lowerDevice: String?
    public var mode: String?
    public var linkState: String?
    /// After `removeStaleMacvtaps`: `removed`, or why the link was kept.
    public var removal: String?
}

/// An address a guest's NIC answered for, and where it was seen.
public struct GuestAddress: Sendable, Hashable, Codable {
    /// `192.0.2.11` or `fe80::5054:ff:fe00:1`.
    public var address: String
    /// The link whose neighbour table holds it (the shim on the NIC's device, usually).
    public var seenOn: String
    /// The neighbour entry's state (`reachable`, `stale`, …).
    public var state: String
}

extension LiveSession {
    /// The macvtap links of the host that no domain's XML names, as `lint -c`'s
    /// `macvtap-stale` rule reports them (one definition: `HostInventory.staleMacvtaps`).
    public func staleMacvtaps() throws(LiveError) -> [StaleMacvtap] {
        return try inventory().staleMacvtaps.map { device in
            StaleMacvtap(
                name: device.name, mac: device.mac?.description, lowerDevice: device.lowerDevice, mode: device.macvlanMode,
                linkState: device.linkState)
        }
    }

    /// Removes the stale macvtaps this machine's kernel shows, each only if it is still a
    /// macvtap with the MAC the scan saw; the others are kept with the reason.
    public func removeStaleMacvtaps() throws(LiveError) -> [StaleMacvtap] {
        var found = try staleMacvtaps()
        guard LibvirtURI.isLocal(uri) else {
            return found.map {
                var link = $0
                link.removal = "kept: \(uri) is another machine; run this there"
                return link
            }
        }
        let netlink: RouteNetlink
        do {
            netlink = try RouteNetlink()
        } catch {
            throw .netlink(NetlinkFailure(error))
        }
        defer { netlink.close() }
        for index in found.indices {
            let name = found[index].name
            do throws(NetlinkError) {
                guard let link = try netlink.link(named: name), link.kind == "macvtap", link.mac == found[index].mac else {
                    found[index].removal = "kept: this machine's kernel shows no macvtap '\(name)' with that MAC (libvirtd runs in another network namespace?)"
                    continue
                }
                try netlink.deleteLink(named: name)
                found[index].removal = "removed"
            } catch {
                found[index].removal = "kept: \(error.description)" + (error.isPermission ? " (removing links needs root)" : "")
            }
        }
        return found
    }
}

/// Guest addresses from this machine's neighbour table: libvirt's `domifaddr` knows none for
/// a macvtap guest (no lease, no agent needed here), but a host that talks to its guests (a
/// shim on their device) has their MAC → address pairs.
public enum GuestAddresses {
    /// Every address seen per MAC (lowercase `52:54:00:…`). With `probe`, each shim (a
    /// bridge-mode macvlan) on one of `devices` first sweeps its IPv4 subnets, and the answers
    /// are awaited `waitMilliseconds` (a LAN answers ARP in microseconds; the kernel retries each
    /// unanswered address three times a second).
    public static func read(probing devices: Set<String>? = nil, waitMilliseconds: Int = 1500) throws(LiveError) -> [String: [GuestAddress]] {
        do throws(NetlinkError) {
            let netlink = try RouteNetlink()
            defer { netlink.close() }
            let links = try netlink.links()
            let names = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { first, _ in first })
            if let devices {
                let shims = links.filter { link in
                    link.kind == "macvlan" && link.macvlanMode == "bridge" && link.parentIndex.flatMap { names[$0] }.map(devices.contains) == true
                }
                let addresses = try netlink.addresses()
                for shim in shims {
                    for address in addresses where address.linkIndex == shim.index {
                        try NeighbourProbe.sweep(link: shim.name, addresses: NeighbourProbe.sweepAddresses(of: address.address))
                    }
                }
                if !shims.isEmpty { sleepThread(milliseconds: waitMilliseconds) }
            }
            var byMAC: [String: [GuestAddress]] = [:]
            for entry in try netlink.neighbours() {
                byMAC[entry.mac.lowercased(), default: []].append(
                    GuestAddress(address: entry.address, seenOn: names[entry.linkIndex] ?? "link \(entry.linkIndex)", state: entry.state))
            }
            return byMAC
        } catch {
            throw .netlink(NetlinkFailure(error))
        }
    }
}
