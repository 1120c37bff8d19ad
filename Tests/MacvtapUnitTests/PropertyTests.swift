import Foundation
import MacvtapKit
import MacvtapTestSupport
import MacvtapXML
import Testing

/// SplitMix64: small, fast and seedable, so a failing case is reproduced from the seed printed
/// with it.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random values of the shapes the tool produces and reads.
enum Generate {
    static let wordBytes = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".utf8)

    static func word(_ length: ClosedRange<Int>, using rng: inout SeededGenerator) -> String {
        String(decoding: (0..<Int.random(in: length, using: &rng)).map { _ in wordBytes.randomElement(using: &rng)! }, as: UTF8.self)
    }

    /// A locally administered unicast MAC (what validated() accepts).
    static func usableMAC(using rng: inout SeededGenerator) -> MACAddress {
        var value = UInt64.random(in: 0...0xFFFF_FFFF_FFFF, using: &rng)
        value |= 0x0200_0000_0000
        value &= ~0x0100_0000_0000
        if value >> 40 == 0xFE { value ^= 0x0400_0000_0000 }
        return MACAddress(value: value)
    }

    static func interface(using rng: inout SeededGenerator) -> DirectInterfaceSpec {
        var target = "t" + word(0...10, using: &rng)
        if target.hasPrefix("macv") || target.hasPrefix("vnet") { target = "x" + target.dropFirst() }
        return DirectInterfaceSpec(
            sourceDevice: "e" + word(0...12, using: &rng),
            mode: MacvtapMode.allCases.randomElement(using: &rng)!,
            mac: Bool.random(using: &rng) ? usableMAC(using: &rng) : nil,
            model: ["virtio", "e1000e", "rtl8139", "virtio-net-pci", word(1...8, using: &rng)].randomElement(using: &rng)!,
            targetDevice: Bool.random(using: &rng) ? target : nil,
            alias: Bool.random(using: &rng) ? "ua-" + word(1...20, using: &rng) : nil,
            trustGuestRxFilters: Bool.random(using: &rng))
    }
}

@Suite("Properties (seeded random cases)")
struct PropertyTests {
    static let renderer = InterfaceRenderer(schema: try! SchemaLocator.loadInterfaceSchema())

    /// What the parser read back, as a request again.
    static func spec(of parsed: DirectInterface) -> DirectInterfaceSpec? {
        guard let dev = parsed.source?.dev?.value else { return nil }
        return DirectInterfaceSpec(
            sourceDevice: dev,
            mode: parsed.source?.mode.flatMap { MacvtapMode(libvirtName: $0.value) } ?? .libvirtDefault,
            mac: parsed.mac.flatMap { MACAddress($0.value) },
            model: parsed.model?.value ?? "",
            targetDevice: parsed.targetDev?.value,
            alias: parsed.alias?.value,
            trustGuestRxFilters: parsed.trustGuestRxFilters?.value == "yes")
    }

    @Test("emit → parse → emit is the identity for random valid interfaces", arguments: [1, 2, 3, 4] as [UInt64])
    func emitParseEmit(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for round in 0..<250 {
            let requested = try Generate.interface(using: &rng).validated()
            let emitted = try Self.renderer.render(requested)
            let document = try DomainDocument(XMLDocument(bytes: emitted, fileName: "generated.xml"), allowDeviceXML: true)
            let parsed = try #require(document.directInterfaces.first?.direct, "seed \(seed) round \(round)")
            let reread = try #require(Self.spec(of: parsed), "seed \(seed) round \(round)")
            #expect(reread == requested, "seed \(seed) round \(round): parsed back differently")
            #expect(try Self.renderer.render(reread) == emitted, "seed \(seed) round \(round): second emit differs")
        }
    }

    @Test("MAC format → parse is the identity, and parse → format gives libvirt's canonical form", arguments: [5, 6] as [UInt64])
    func macRoundTrip(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<5_000 {
            let mac = MACAddress(value: UInt64.random(in: 0...0xFFFF_FFFF_FFFF, using: &rng))
            #expect(MACAddress(mac.description) == mac)
            #expect(MACAddress.isCanonical(mac.description))
            // libvirt also reads upper case and one-digit octets; both mean the same address.
            let loose = mac.octets.map { octet -> String in
                let hex = String(octet, radix: 16, uppercase: Bool.random(using: &rng))
                return octet < 16 && Bool.random(using: &rng) ? hex : (octet < 16 ? "0" + hex : hex)
            }.joined(separator: ":")
            #expect(MACAddress(loose) == mac, "\(loose)")
            #expect(MACAddress(loose)?.description == mac.description)
        }
    }

    /// Byte-level mutations of valid documents: flips, cuts, duplicated slices and inserted
    /// XML tokens, the things a broken editor or a bad merge produces.
    static func mutate(_ bytes: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
        let tokens = [
            "<", ">", "/>", "</interface>", "<interface type='direct'>", "&", "&x;", "'", "\"", "<!--", "-->",
            "<![CDATA[", "]]>", "<mac address='52:54:00:00:00:01'/>", "<source dev='eth0' mode='vepa'/>",
            "\u{0}", "\u{FEFF}", "é", "\r\n", " xmlns:a='urn:a' ", "<!DOCTYPE domain [<!ENTITY x 'y'>]>",
        ]
        var result = bytes
        for _ in 0..<Int.random(in: 1...4, using: &rng) where !result.isEmpty {
            let at = Int.random(in: 0..<result.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: result[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1: result.removeSubrange(at..<min(result.count, at + Int.random(in: 1...40, using: &rng)))
            case 2:
                let slice = result[at..<min(result.count, at + Int.random(in: 1...200, using: &rng))]
                result.insert(contentsOf: slice, at: Int.random(in: 0...result.count, using: &rng))
            default: result.insert(contentsOf: Array(tokens.randomElement(using: &rng)!.utf8), at: at)
            }
        }
        return result
    }

    @Test("lint never crashes on random mutations of valid documents, and every finding stays one line inside the input", arguments: [7, 8] as [UInt64])
    func lintSurvivesMutations(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let originals = try Fixtures.xmlFiles(under: Fixtures.examplesDirectory).map { try Fixtures.bytes($0) }
        try #require(originals.count >= 5)
        let linter = try Linter(configuration: LintConfiguration())
        for batch in 0..<10 {
            let inputs = (0..<100).map { index -> DocumentSource in
                .memory(Self.mutate(originals.randomElement(using: &rng)!, using: &rng), name: "m\(batch)-\(index).xml")
            }
            let report = try linter.lint(inputs)
            #expect(report.filesChecked == inputs.count)
            for finding in report.findings {
                guard case .memory(let bytes, _)? = inputs.first(where: { $0.displayName == finding.file }) else {
                    Issue.record("seed \(seed): finding for an unknown file \(finding.file)")
                    continue
                }
                let lines = bytes.count { $0 == UInt8(ascii: "\n") } + 1
                #expect(finding.line >= 0 && finding.line <= lines, "seed \(seed) batch \(batch): \(finding)")
                #expect(!finding.message.contains("\n"), "seed \(seed) batch \(batch): \(finding.message)")
            }
            for format in LintFormat.allCases { _ = format.reporter.render(report, rules: RuleRegistry.all) }
        }
    }

    @Test("adding then removing an interface gives back the original bytes, whatever the formatting around it", arguments: [9, 10] as [UInt64])
    func addThenRemoveIsLossless(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let originals = try Fixtures.xmlFiles(under: Fixtures.examplesDirectory.appendingPathComponent("domains")).map { try Fixtures.bytes($0) }
        try #require(originals.count >= 3, "only \(originals.count) example domains")
        let decorations = ["  <!-- note -->\n", "\t", "\n", "  <x:unknown xmlns:x='urn:x' a='1'/>\n", "<?keep this?>\n", "   "]
        for round in 0..<100 {
            // Decorate: comments, unknown elements, tabs and blank lines right after line breaks.
            var bytes = originals.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                // Line breaks inside the root element, after its start tag and before its end tag.
                let text = String(decoding: bytes, as: UTF8.self)
                let rootStart = text.utf8.distance(from: text.startIndex, to: try #require(text.range(of: "<domain")).upperBound)
                let rootEnd = text.utf8.distance(from: text.startIndex, to: try #require(text.range(of: "</domain>", options: .backwards)).lowerBound)
                let breaks = bytes.indices.filter { $0 > rootStart && $0 < rootEnd - 1 && bytes[$0] == UInt8(ascii: "\n") }
                guard let at = breaks.randomElement(using: &rng) else { break }
                bytes.insert(contentsOf: Array(decorations.randomElement(using: &rng)!.utf8), at: at + 1)
            }
            let document = try DomainDocument(XMLDocument(bytes: bytes, fileName: "d.xml"))
            var spec = try Generate.interface(using: &rng).validated()
            spec = spec.with(mac: Generate.usableMAC(using: &rng))
            let added = try DomainFileEditor.planAdd(spec, to: document, path: "d.xml")
            let edited = try DomainDocument(XMLDocument(bytes: added.edited, fileName: "d.xml"))
            let removed = try DomainFileEditor.planRemove(mac: spec.mac!, from: edited, path: "d.xml")
            #expect(removed.edited == bytes, "seed \(seed) round \(round): add + remove changed the document")
        }
    }
}
