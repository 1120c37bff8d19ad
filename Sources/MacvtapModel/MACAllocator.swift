#if canImport(Glibc)
    import Glibc
#endif

/// Where addresses may come from: a prefix (`52:54:00` = 2^24 addresses) or an explicit range.
public struct MACSpace: Sendable, Hashable, CustomStringConvertible {
    public var first: UInt64
    public var last: UInt64
    /// A prefix must be locally administered; an explicit range is the user's decision.
    public var requiresLocalBit: Bool
    public var description: String

    /// QEMU/KVM's conventional prefix, locally administered and unicast.
    public static let qemuDefault = try! MACSpace(prefix: "52:54:00")

    /// One to five octets; the first must be unicast, locally administered and not `fe`.
    public init(prefix: String) throws(AllocationError) {
        let parts = prefix.split(separator: ":", omittingEmptySubsequences: false)
        let octets = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        guard (1...5).contains(parts.count), octets.count == parts.count else {
            throw .invalidSpace("prefix '\(prefix)' must be one to five two-digit hex octets separated by ':', e.g. 52:54:00")
        }
        let firstOctet = octets[0]
        if firstOctet & 0x01 != 0 {
            throw .invalidSpace("prefix '\(prefix)' is multicast (lowest bit of the first octet set); guests need unicast addresses")
        }
        if firstOctet & 0x02 == 0 {
            throw .invalidSpace(
                "prefix '\(prefix)' is not locally administered (bit 0x02 of the first octet clear): it belongs to a vendor's OUI; use e.g. 52:54:00, or an explicit range if you own that block")
        }
        if firstOctet == 0xFE {
            throw .invalidSpace("prefix '\(prefix)' starts with fe, which libvirt gives the host side of tap devices")
        }
        let bits = UInt64(8 * (6 - octets.count))
        let value = octets.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        first = value << bits
        last = first | ((1 << bits) - 1)
        requiresLocalBit = true
        description = "\(prefix):…"
    }

    /// `FIRST-LAST`, inclusive.
    public init(range: String) throws(AllocationError) {
        let ends = range.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2, let low = MACAddress(String(ends[0])), let high = MACAddress(String(ends[1])) else {
            throw .invalidSpace("range '\(range)' must be FIRST-LAST, two MAC addresses, e.g. 02:00:00:00:10:00-02:00:00:00:1f:ff")
        }
        guard low <= high else { throw .invalidSpace("range '\(range)': the first address is above the last") }
        first = low.value
        last = high.value
        requiresLocalBit = false
        description = "\(low)-\(high)"
    }

    public func contains(_ mac: MACAddress) -> Bool { (first...last).contains(mac.value) }

    /// Never multicast, all-zero or `fe:`; locally administered when the space requires it.
    public func allows(_ value: UInt64) -> Bool {
        let firstOctet = UInt8(truncatingIfNeeded: value >> 40)
        if value == 0 || firstOctet & 0x01 != 0 || firstOctet == 0xFE { return false }
        return !requiresLocalBit || firstOctet & 0x02 != 0
    }

    /// How many addresses of the space may be handed out at all.
    public var usableCount: UInt64 {
        var count: UInt64 = 0
        var segmentStart = first
        while segmentStart <= last {
            // Whether an address is allowed depends only on its first octet (and on being zero).
            let segmentEnd = min(last, segmentStart | 0xFF_FFFF_FFFF)
            if allows(segmentStart == 0 ? 1 : segmentStart) {
                count += segmentEnd - segmentStart + 1 - (segmentStart == 0 ? 1 : 0)
            }
            if segmentEnd == UInt64.max || segmentEnd >= last { break }
            segmentStart = segmentEnd + 1
        }
        return count
    }
}

/// One address handed out, with where it came from in deterministic mode.
public struct AllocatedMAC: Sendable, Hashable, Codable {
    public var mac: MACAddress
    /// The batch position (0-based): with the same key, the same index gives the same MAC.
    public var index: Int
    /// 0 when the first choice was free; otherwise how many probes it took (the entry moved).
    public var probes: Int
}

/// How a batch's addresses are chosen.
public enum AllocationMode: Sendable, Hashable {
    case random
    /// SHA-256 of "KEY\nINDEX" (probe p > 0: "KEY\nINDEX\nP"); the first 8 bytes, big-endian,
    /// modulo the space's size, added to its first address.
    case deterministic(key: String)
}

/// Why the allocator could not hand out the batch (nothing is reserved then).
public enum AllocationError: Error, Sendable, CustomStringConvertible, Equatable {
    case invalidSpace(String)
    case spaceTooSmall(requested: Int, free: UInt64, space: String)
    case probesExhausted(index: Int, key: String)

    public var description: String {
        switch self {
        case .invalidSpace(let message): message
        case .spaceTooSmall(let requested, let free, let space):
            "cannot allocate \(requested) addresses in \(space): only \(free) are free there; use a shorter prefix, a wider range or fewer addresses"
        case .probesExhausted(let index, let key):
            "deterministic key '\(key)': index \(index) found no free address in 10,000 probes; the space is nearly full"
        }
    }
}

/// Picks addresses in a space that collide with nothing taken and with each other. Pure: the
/// caller gathers what is taken (hosts, files, ledger) and records the result.
public struct MACAllocator: Sendable {
    public var space: MACSpace
    public static let maximumProbes = 10_000

    public init(space: MACSpace) {
        self.space = space
    }

    /// `count` addresses outside `taken`. Refuses up front when the space cannot hold them.
    public func allocate(
        count: Int, taken: Set<MACAddress>, mode: AllocationMode = .random
    ) throws(AllocationError) -> [AllocatedMAC] {
        var generator = Xoshiro256StarStar()
        return try allocate(count: count, taken: taken, mode: mode, using: &generator)
    }

    public func allocate<Generator: RandomNumberGenerator>(
        count: Int, taken: Set<MACAddress>, mode: AllocationMode, using generator: inout Generator
    ) throws(AllocationError) -> [AllocatedMAC] {
        guard count > 0 else { return [] }
        let takenInSpace = UInt64(taken.lazy.filter { space.contains($0) && space.allows($0.value) }.count)
        let usable = space.usableCount
        let free = usable - min(usable, takenInSpace)
        guard UInt64(count) <= free else {
            throw .spaceTooSmall(requested: count, free: free, space: space.description)
        }
        switch mode {
        case .deterministic(let key):
            return try deterministic(count: count, taken: taken, key: key)
        case .random:
            // Rejection sampling while at most half the free space is asked for; beyond that,
            // enumerate what is free and draw from it.
            if UInt64(count) * 2 <= free {
                return sampled(count: count, taken: taken, using: &generator)
            }
            return enumerated(count: count, taken: taken, using: &generator)
        }
    }

    private func sampled<Generator: RandomNumberGenerator>(
        count: Int, taken: Set<MACAddress>, using generator: inout Generator
    ) -> [AllocatedMAC] {
        let size = space.last - space.first + 1
        var result: [AllocatedMAC] = []
        result.reserveCapacity(count)
        // One bit per address for "taken or chosen" is far cheaper than hashing a million set
        // entries, but clearing the bits costs too (2 MiB for a 3-octet prefix: about 2 ms,
        // most of an attach's own work when it wants one MAC). So the bits are used when there
        // are at least a sixteenth as many addresses to hash as bytes to clear, and the space
        // has at most 2^28 addresses (32 MiB of bits).
        let hashedAddresses = UInt64(taken.count) + UInt64(count)
        if size != 0, size <= 1 << 28, hashedAddresses * 16 >= size / 8 {
            var used = [UInt64](repeating: 0, count: Int((size + 63) / 64))
            for mac in taken where space.contains(mac) {
                let offset = mac.value - space.first
                used[Int(offset >> 6)] |= 1 << (offset & 63)
            }
            while result.count < count {
                let offset = generator.next(upperBound: size)
                let bit: UInt64 = 1 << (offset & 63)
                let word = Int(offset >> 6)
                guard used[word] & bit == 0, space.allows(space.first + offset) else { continue }
                used[word] |= bit
                result.append(AllocatedMAC(mac: MACAddress(value: space.first + offset), index: result.count, probes: 0))
            }
            return result
        }
        var seen = taken
        seen.reserveCapacity(taken.count + count)
        while result.count < count {
            let value = space.first + (size == 0 ? generator.next() : generator.next(upperBound: size))
            guard space.allows(value), seen.insert(MACAddress(value: value)).inserted else { continue }
            result.append(AllocatedMAC(mac: MACAddress(value: value), index: result.count, probes: 0))
        }
        return result
    }

    private func enumerated<Generator: RandomNumberGenerator>(
        count: Int, taken: Set<MACAddress>, using generator: inout Generator
    ) -> [AllocatedMAC] {
        var free: [UInt64] = []
        var value = space.first
        while true {
            if space.allows(value), !taken.contains(MACAddress(value: value)) { free.append(value) }
            if value == space.last { break }
            value += 1
        }
        for index in 0..<count {
            let pick = index + Int(generator.next(upperBound: UInt64(free.count - index)))
            free.swapAt(index, pick)
        }
        return (0..<count).map { AllocatedMAC(mac: MACAddress(value: free[$0]), index: $0, probes: 0) }
    }

    private func deterministic(count: Int, taken: Set<MACAddress>, key: String) throws(AllocationError) -> [AllocatedMAC] {
        var chosen = Set<UInt64>(minimumCapacity: count)
        var result: [AllocatedMAC] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            var probe = 0
            while true {
                let value = Self.deterministicValue(key: key, index: index, probe: probe, in: space)
                if space.allows(value), !taken.contains(MACAddress(value: value)), chosen.insert(value).inserted {
                    result.append(AllocatedMAC(mac: MACAddress(value: value), index: index, probes: probe))
                    break
                }
                probe += 1
                if probe > Self.maximumProbes { throw .probesExhausted(index: index, key: key) }
            }
        }
        return result
    }

    /// The documented hash: SHA-256("KEY\nINDEX") for the first choice, SHA-256("KEY\nINDEX\nP")
    /// for probe P; its first 8 bytes (big-endian) modulo the space's size, from its first address.
    public static func deterministicValue(key: String, index: Int, probe: Int, in space: MACSpace) -> UInt64 {
        let input = probe == 0 ? "\(key)\n\(index)" : "\(key)\n\(index)\n\(probe)"
        let digest = SHA256.hash(Array(input.utf8))
        let number = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let size = space.last - space.first &+ 1
        return space.first + (size == 0 ? number : number % size)
    }
}

/// How likely random addresses collide (the birthday problem), for `mac stats`.
public enum CollisionOdds {
    /// Probability that `guests` addresses drawn at random from `free` of `size` usable addresses
    /// (`size - free` already taken) hit a taken one or each other:
    /// 1 − exp(−n(n−1)/(2·size) − n·taken/size).
    public static func probability(guests: UInt64, usable size: UInt64, taken: UInt64) -> Double {
        guard size > 0 else { return 1 }
        let n = Double(guests)
        let exponent = n * (n - 1) / (2 * Double(size)) + n * Double(taken) / Double(size)
        return 1 - exp(-exponent)
    }

    /// The number of random guests at which that probability first reaches `target`.
    public static func guests(reaching target: Double, usable size: UInt64, taken: UInt64) -> UInt64 {
        var low: UInt64 = 0
        var high: UInt64 = max(1, size)
        while low < high {
            let middle = low + (high - low) / 2
            if probability(guests: middle, usable: size, taken: taken) >= target { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// xoshiro256** (Blackman & Vigna), seeded from the system's generator. The system generator
/// makes a getrandom(2) call per number, a third of the time of a million-address batch;
/// unpredictability is not needed here, uniqueness comes from the checks.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init() {
        var system = SystemRandomNumberGenerator()
        self.init(seed: (system.next(), system.next(), system.next(), system.next()))
    }

    public init(seed: (UInt64, UInt64, UInt64, UInt64)) {
        state = seed == (0, 0, 0, 0) ? (1, 2, 3, 4) : seed
    }

    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
