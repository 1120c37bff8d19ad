/// Property-based oracle cases: random domains drawn from the value space of libvirt's
/// `<interface>` grammar, deterministic for a seed (`scripts/oracle --seed N --count M`).
///
/// Where the grammar mutants change one thing in a good interface, a generated case combines
/// several: a direct NIC whose device, mode, MAC and model each come from their value classes
/// (valid, empty, blank-padded, wrong case, punctuation, one past the limit), with up to three of
/// the grammar's child elements at once, and up to two companion NICs that share its source
/// device (in any mode), its MAC, or one of its boot order, alias, ACPI index, PCI address or
/// target name. The oracle defines, validates, starts and hot-plugs every case like any other.
public enum OracleGenerator {
    /// SplitMix64: tiny, and the same numbers on every platform and Swift version.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var value = state
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            return value ^ (value >> 31)
        }
    }

    /// The source device's value classes: the uplinks, an alias label, wrong case, empty,
    /// blank-padded, 16 bytes, loopback, a name the host lacks, a VLAN device it lacks.
    static let boundaryDevices = ["eth0:1", "ETH0", "", " eth0", "eth0 ", "a-name-of-16chrs", "a-name-of-15chr", "lo", "nosuchdev0", "eth0.42", "eth0/x"]
    /// The mode's value classes beyond the four modes and "absent".
    static let boundaryModes = ["VEPA", "", " bridge", "Bridge", "PASSTHROUGH", "source", "passthru"]
    static let modes = ["bridge", "vepa", "private", "passthrough"]
    static let otherModels = ["e1000", "rtl8139", "e1000e"]
    static let boundaryModels = ["VIRTIO", "", "bogus", "usb-net", "virtio-transitional", "virtio-non-transitional", "vmxnet3", "virtio net"]
    /// Values two NICs can share: each pair of lines is "the same" and "a different" value.
    static let sharedValues = [
        ["<boot order='1'/>", "<boot order='2'/>"], ["<alias name='ua-net0'/>", "<alias name='ua-net1'/>"],
        ["<acpi index='1'/>", "<acpi index='2'/>"],
        [
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>",
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>",
        ],
        ["<target dev='guest-net0'/>", "<target dev='guest-net1'/>"], ["<target dev='vnet7'/>", "<target dev='macvtap9'/>"],
    ]

    /// Every `<interface>` child and attribute the grammar table tries, as a pool to draw from.
    static let childPool: [String] = OracleGrammar.points.flatMap(\.mutations).map(\.child).filter { !$0.isEmpty }
    static let attributePool: [String] = OracleGrammar.points.flatMap(\.mutations).map(\.interfaceAttributes).filter { !$0.isEmpty }
    static let macPool: [String] = OracleGrammar.points.flatMap(\.mutations).compactMap(\.mac)

    /// `count` distinct cases for `seed` (the same list on every run), none of them one of
    /// `excluded` (the fixed cases' documents).
    public static func cases(seed: UInt64, count: Int, excluding excluded: Set<[String]> = []) -> [OracleCase] {
        var generator = SeededGenerator(state: seed)
        var seen: Set<String> = Set(excluded.compactMap { $0.count == 1 ? $0[0] : nil })
        var cases: [OracleCase] = []
        var attempts = 0
        while cases.count < count, attempts < count * 20 {
            attempts += 1
            let document = OracleCases.minimalDomain(devices: devices(using: &generator))
            guard seen.insert(document).inserted else { continue }
            cases.append(OracleCase(origin: .generated(seed: seed), documents: [document], label: "generated/\(seed)-\(cases.count + 1)"))
        }
        return cases
    }

    static func devices(using generator: inout SeededGenerator) -> String {
        func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &generator) < percent }
        func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &generator)] }

        let device = chance(70) ? "eth0" : chance(50) ? "eth1" : pick(boundaryDevices)
        let modeAttribute: String
        if chance(85) {
            let mode = pick(modes + ["absent"])
            modeAttribute = mode == "absent" ? "" : " mode='\(mode)'"
        } else {
            modeAttribute = " mode='\(pick(boundaryModes))'"
        }
        let source = chance(3) ? "" : "<source dev='\(device)'\(modeAttribute)/>"
        let mac = chance(80) ? "<mac address='52:54:00:0a:00:01'/>" : pick(macPool)
        let model: String
        switch Int.random(in: 0..<100, using: &generator) {
        case 0..<60: model = "<model type='virtio'/>"
        case 60..<80: model = "<model type='\(pick(otherModels))'/>"
        case 80..<87: model = ""
        default: model = "<model type='\(pick(boundaryModels))'/>"
        }
        var children: [String] = []
        for _ in 0..<pick([0, 1, 1, 2, 3]) { children.append(pick(childPool)) }
        let shared = chance(40) ? Int.random(in: 0..<sharedValues.count, using: &generator) : nil
        if let shared { children.append(sharedValues[shared][0]) }
        let attributes = chance(12) ? " " + pick(attributePool) : ""
        let body = ([mac, source, model] + children).filter { !$0.isEmpty }.joined(separator: "\n      ")
        var interfaces = ["    <interface type='direct'\(attributes)>\n      \(body)\n    </interface>"]

        // Companions: the same device in any mode, or the other uplink; sometimes the same MAC,
        // or the same (or a different) value of what the first NIC has.
        let companions = pick([0, 0, 0, 1, 1, 2])
        for index in 0..<companions {
            var parts: [String] = []
            let sameMAC = chance(12)
            parts.append(sameMAC ? mac : "<mac address='52:54:00:0a:00:0\(index + 2)'/>")
            let isDirect = chance(85)
            if isDirect {
                let companionDevice = chance(65) ? (device.isEmpty || device == "lo" ? "eth0" : device) : "eth1"
                parts.append("<source dev='\(companionDevice)' mode='\(pick(modes))'/>")
            }
            parts.append("<model type='virtio'/>")
            if let shared, chance(70) {
                parts.append(sharedValues[shared][chance(70) ? 0 : 1])
            }
            let type = isDirect ? "direct" : "user"
            interfaces.append("    <interface type='\(type)'>\n      \(parts.joined(separator: "\n      "))\n    </interface>")
        }
        return interfaces.joined(separator: "\n")
    }
}
