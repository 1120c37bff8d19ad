/// A 48-bit Ethernet MAC address.
///
/// Parsing accepts exactly what libvirt's `virMacAddrParse` accepts (1–2 hex digits per octet,
/// `:` separators, anything at or below a space after the last octet), so a value libvirt
/// takes is never refused here; `description` is always the canonical `aa:bb:cc:dd:ee:ff`.
public struct MACAddress: Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    LosslessStringConvertible
{
    /// The address in the low 48 bits, first octet most significant.
    public let value: UInt64

    public static let broadcast = MACAddress(value: 0xFFFF_FFFF_FFFF)
    public static let zero = MACAddress(value: 0)

    public init(value: UInt64) {
        self.value = value & 0xFFFF_FFFF_FFFF
    }

    public init(octets: [UInt8]) {
        precondition(octets.count == 6, "a MAC address has six octets")
        self.init(value: octets.reduce(0) { $0 << 8 | UInt64($1) })
    }

    public init?(_ text: String) {
        var octets: [UInt8] = []
        var bytes = Substring(text).utf8[...]
        while octets.count < 6 {
            var digits = 0
            var octet: UInt8 = 0
            while let byte = bytes.first, let nibble = Self.hexValue(byte) {
                guard digits < 2 else { return nil }
                octet = octet << 4 | nibble
                digits += 1
                bytes = bytes.dropFirst()
            }
            guard digits > 0 else { return nil }
            octets.append(octet)
            if octets.count == 6 {
                if let next = bytes.first, next > UInt8(ascii: " ") { return nil }
            } else {
                guard bytes.first == UInt8(ascii: ":") else { return nil }
                bytes = bytes.dropFirst()
            }
        }
        self.init(octets: octets)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = MACAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad MAC \(text)"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var octets: [UInt8] {
        (0..<6).map { UInt8(truncatingIfNeeded: value >> (40 - 8 * $0)) }
    }

    /// Six two-digit lower-case octets. Written byte by byte: `mac allocate` prints a million.
    public var description: String {
        String(unsafeUninitializedCapacity: 17) { buffer in
            let digits: StaticString = "0123456789abcdef"
            for index in 0..<6 {
                let byte = UInt8(truncatingIfNeeded: value >> UInt64(40 - 8 * index))
                buffer[index * 3] = digits.utf8Start[Int(byte >> 4)]
                buffer[index * 3 + 1] = digits.utf8Start[Int(byte & 0x0F)]
                if index < 5 { buffer[index * 3 + 2] = UInt8(ascii: ":") }
            }
            return 17
        }
    }

    /// The first three octets, e.g. `0x525400`.
    public var oui: UInt32 { UInt32(truncatingIfNeeded: value >> 24) }

    private var firstOctet: UInt8 { UInt8(truncatingIfNeeded: value >> 40) }

    /// Group bit set: the frame goes to many receivers. libvirt refuses these on interfaces.
    public var isMulticast: Bool { firstOctet & 0x01 != 0 }
    public var isUnicast: Bool { !isMulticast }
    public var isBroadcast: Bool { self == .broadcast }
    public var isAllZero: Bool { value == 0 }
    /// The U/L bit: set for addresses an administrator made up rather than a vendor's OUI.
    public var isLocallyAdministered: Bool { firstOctet & 0x02 != 0 }

    /// The hypervisor or vendor whose OUI this address carries, if it is a well-known one.
    public var knownOUI: KnownOUI? {
        KnownOUI.allCases.first { $0.prefixes.contains(oui) }
    }

    /// True when `text` is already in canonical form (two lower-case hex digits per octet).
    public static func isCanonical(_ text: String) -> Bool {
        MACAddress(text)?.description == text
    }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.value < rhs.value }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// OUIs that virtualisation platforms allocate guest MACs from on purpose: QEMU/KVM's 52:54:00
/// (libvirt's QEMU driver), Xen's 00:16:3e (libxl's macPrefix), oVirt/RHV's engine pool, and
/// VMware, VirtualBox, Hyper-V and Parallels' registered OUIs (IEEE). Such a MAC is never called
/// globally administered; in a QEMU/KVM guest another platform's prefix is worth a note (a
/// copied or migrated configuration), not a warning: platforms such as oVirt run KVM with theirs.
public enum KnownOUI: String, CaseIterable, Sendable, Codable {
    case qemuKVM = "QEMU/KVM"
    case xen = "Xen"
    case oVirt = "oVirt/RHV"
    case vmware = "VMware"
    case virtualBox = "VirtualBox"
    case hyperV = "Hyper-V"
    case parallels = "Parallels"

    public var prefixes: [UInt32] {
        switch self {
        case .qemuKVM: [0x52_54_00]
        case .xen: [0x00_16_3E]
        // The oVirt engine's default MAC pool (00:1a:4a:16:01:51–e6) and RHV's, for KVM guests.
        case .oVirt: [0x00_1A_4A]
        case .vmware: [0x00_0C_29, 0x00_50_56, 0x00_05_69]
        case .virtualBox: [0x08_00_27]
        case .hyperV: [0x00_15_5D]
        case .parallels: [0x00_1C_42, 0x42_1C_00]
        }
    }

    public var displayName: String { rawValue }
}
