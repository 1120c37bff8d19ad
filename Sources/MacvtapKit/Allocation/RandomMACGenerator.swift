/// Random addresses under a three-octet prefix, distinct within one call.
///
/// The prefix libvirt uses for QEMU, 52:54:00, already has the locally-administered bit set and
/// the multicast bit clear, so every address it yields is a local unicast one.
public struct RandomMACGenerator: Sendable {
    public var prefix: UInt32

    public init(prefix: UInt32 = 0x52_54_00) {
        self.prefix = prefix
    }

    /// `count` distinct addresses, none of them in `excluding`.
    public func generate<Generator: RandomNumberGenerator>(
        count: Int, excluding: Set<MACAddress> = [], using generator: inout Generator
    ) -> [MACAddress] {
        precondition(count <= 1 << 24, "a three-octet prefix holds at most 16,777,216 addresses")
        var seen = excluding
        var result: [MACAddress] = []
        result.reserveCapacity(count)
        while result.count < count {
            let random: UInt32 = generator.next()
            let suffix = UInt64(random & 0xFF_FFFF)
            let address = MACAddress(value: UInt64(prefix) << 24 | suffix)
            guard !address.isAllZero, seen.insert(address).inserted else { continue }
            result.append(address)
        }
        return result
    }

    public func generate(count: Int, excluding: Set<MACAddress> = []) -> [MACAddress] {
        var generator = SystemRandomNumberGenerator()
        return generate(count: count, excluding: excluding, using: &generator)
    }
}
