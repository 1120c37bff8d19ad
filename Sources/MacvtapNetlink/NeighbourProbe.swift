#if canImport(Glibc)
    internal import Glibc
#endif

/// Fills the neighbour table of one link by asking for every address of its IPv4 subnets:
/// one UDP datagram to the discard port of each makes the kernel resolve it (ARP), and every
/// machine on the link answers ARP whatever its firewall says about pings — guests ignore a
/// broadcast ping by default (`icmp_echo_ignore_broadcasts`), so a sweep finds more.
public enum NeighbourProbe {
    /// The largest sweep: a /22. A wider subnet is swept in the /24 around the link's address.
    public static let maximumAddresses = 1022

    /// The host addresses of `cidr`'s subnet (`192.0.2.2/24` → `192.0.2.1` … `192.0.2.254`),
    /// without the address itself; empty for IPv6 or a malformed value.
    public static func sweepAddresses(of cidr: String) -> [String] {
        let parts = cidr.split(separator: "/")
        guard parts.count == 2, var prefix = Int(parts[1]), prefix <= 32 else { return [] }
        let octets = parts[0].split(separator: ".").compactMap { UInt32($0) }
        guard octets.count == 4, octets.allSatisfy({ $0 < 256 }) else { return [] }
        let own = octets.reduce(UInt32(0)) { $0 << 8 | $1 }
        if prefix < 22 { prefix = 24 }
        guard prefix <= 30 else { return [] }
        let mask = UInt32.max << UInt32(32 - prefix)
        let network = own & mask
        let broadcast = network | ~mask
        return ((network + 1)..<broadcast).filter { $0 != own }.map { value in
            (0..<4).reversed().map { String((value >> UInt32($0 * 8)) & 0xff) }.joined(separator: ".")
        }
    }

    /// Sends the sweep out of `link` (SO_BINDTODEVICE: needs CAP_NET_RAW, as `host-shim` has)
    /// and returns at once; the answers arrive in the neighbour table within a second.
    public static func sweep(link: String, addresses: [String]) throws(NetlinkError) {
        let operation = "probing the neighbours of '\(link)'"
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw NetlinkError(code: Int(errno), message: String(cString: strerror(errno)), operation: operation) }
        defer { close(descriptor) }
        let bound = link.withCString { name in
            setsockopt(descriptor, SOL_SOCKET, SO_BINDTODEVICE, name, socklen_t(strlen(name) + 1))
        }
        guard bound == 0 else { throw NetlinkError(code: Int(errno), message: String(cString: strerror(errno)), operation: operation) }
        for address in addresses.prefix(maximumAddresses) {
            var target = sockaddr_in()
            target.sin_family = sa_family_t(AF_INET)
            target.sin_port = UInt16(9).bigEndian
            guard inet_pton(AF_INET, address, &target.sin_addr) == 1 else { continue }
            var byte: UInt8 = 0
            // A send that fails (no route, a full queue) only means no answer for that address.
            _ = withUnsafePointer(to: &target) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, &byte, 1, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }
}
