import MacvtapKit
import MacvtapTestSupport
import Testing

@Suite("MACAddress: libvirt's parser, canonical form, properties")
struct MACAddressTests {
    @Test(arguments: [
        ("52:54:00:12:34:56", "52:54:00:12:34:56"),
        ("52:54:0:1:2:3", "52:54:00:01:02:03"),  // libvirt accepts one-digit octets
        ("AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff"),
        ("0:0:0:0:0:0", "00:00:00:00:00:00"),
        ("52:54:00:12:34:56 ", "52:54:00:12:34:56"),  // trailing space, as virMacAddrParse allows
        ("52:54:00:12:34:56\n", "52:54:00:12:34:56"),
        ("52:54:00:12:34:56 trailing", "52:54:00:12:34:56"),  // only the first byte after is checked
    ])
    func parsesWhatLibvirtParses(input: String, canonical: String) throws {
        let mac = try #require(MACAddress(input))
        #expect(mac.description == canonical)
    }

    @Test(arguments: [
        "", "52:54:00:12:34", "52:54:00:12:34:56:78", "52-54-00-12-34-56", "525400123456",
        "52:54:00:12:34:567", "52:54:00:12:34:5g", " 52:54:00:12:34:56", "52:54:00:12::56",
        "+2:54:00:12:34:56", "52:54:00:12:34:56x", "0x52:54:00:12:34:56", "52:54:00:12:34:",
    ])
    func rejectsWhatLibvirtRejects(input: String) {
        #expect(MACAddress(input) == nil, "\(input.debugDescription) should not parse")
    }

    @Test func properties() throws {
        let kvm = try #require(MACAddress("52:54:00:12:34:56"))
        #expect(kvm.isUnicast && !kvm.isMulticast)
        #expect(kvm.isLocallyAdministered)
        #expect(kvm.knownOUI == .qemuKVM)
        #expect(kvm.oui == 0x525400)
        #expect(kvm.octets == [0x52, 0x54, 0x00, 0x12, 0x34, 0x56])

        let multicast = try #require(MACAddress("01:00:5e:00:00:01"))
        #expect(multicast.isMulticast && !multicast.isUnicast)
        #expect(try #require(MACAddress("ff:ff:ff:ff:ff:ff")).isBroadcast)
        #expect(try #require(MACAddress("00:00:00:00:00:00")).isAllZero)
        #expect(!(try #require(MACAddress("00:16:3e:00:00:01")).isLocallyAdministered))
    }

    @Test(arguments: [
        ("00:16:3e:01:02:03", KnownOUI.xen), ("00:0c:29:01:02:03", .vmware), ("00:50:56:01:02:03", .vmware),
        ("00:05:69:01:02:03", .vmware), ("08:00:27:01:02:03", .virtualBox), ("00:15:5d:01:02:03", .hyperV),
        ("00:1c:42:01:02:03", .parallels), ("52:54:00:01:02:03", .qemuKVM),
    ])
    func knownOUIs(address: String, vendor: KnownOUI) throws {
        #expect(try #require(MACAddress(address)).knownOUI == vendor)
    }

    @Test func unknownOUIHasNoVendor() throws {
        #expect(try #require(MACAddress("02:00:00:00:00:01")).knownOUI == nil)
    }

    @Test func canonicalDetection() {
        #expect(MACAddress.isCanonical("52:54:00:0a:0b:0c"))
        #expect(!MACAddress.isCanonical("52:54:00:A:B:C"))
        #expect(!MACAddress.isCanonical("52:54:00:0A:0B:0C"))
    }

    @Test func ordersByValue() throws {
        let low = try #require(MACAddress("52:54:00:00:00:01"))
        let high = try #require(MACAddress("52:54:00:00:01:00"))
        #expect(low < high)
    }

    @Test func allocatorGivesDistinctLocalUnicastUnderThePrefix() throws {
        let prefix = try #require(MACAddress("52:54:00:00:00:00"))
        let excluded: Set<MACAddress> = [MACAddress(value: prefix.value | 1)]
        let macs = try MACAllocator(space: .qemuDefault).allocate(count: 5_000, taken: excluded).map(\.mac)
        #expect(Set(macs).count == 5_000)
        #expect(macs.allSatisfy { $0.oui == 0x525400 && $0.isUnicast && $0.isLocallyAdministered && !$0.isAllZero })
        #expect(Set(macs).isDisjoint(with: excluded))
    }
}

@Suite("MacvtapMode")
struct MacvtapModeTests {
    @Test(arguments: [("vepa", MacvtapMode.vepa), ("bridge", .bridge), ("private", .private), ("passthrough", .passthrough)])
    func parsesLibvirtNames(name: String, mode: MacvtapMode) {
        #expect(MacvtapMode(libvirtName: name) == mode)
        #expect(mode.description == name)
    }

    @Test(arguments: ["VEPA", "Bridge", "passthru", "source", "", " vepa"])
    func rejectsWhatLibvirtRejects(name: String) {
        #expect(MacvtapMode(libvirtName: name) == nil)
    }

    @Test func defaultsAndKernelNames() {
        #expect(MacvtapMode.libvirtDefault == .vepa)
        #expect(MacvtapMode.passthrough.kernelName == "passthru")
        #expect(MacvtapMode.bridge.kernelName == "bridge")
        #expect(MacvtapMode.allCases.allSatisfy { !$0.reachability.isEmpty })
    }
}
