import MacvtapKit
import MacvtapTestSupport
import Testing

/// Every rule's own examples, run through the whole engine (schemas included), as
/// SwiftLint does: each triggering example must produce the rule, each other one must not.
@Suite("Rule catalogue: examples")
struct RuleExampleTests {
    static let linter: Linter = try! Linter(configuration: LintConfiguration())
    static let rules = RuleRegistry.all

    static func findings(_ documents: [String]) -> [Finding] {
        let sources = documents.enumerated().map { DocumentSource.memory(Array($0.element.utf8), name: "example-\($0.offset).xml") }
        return try! linter.lint(sources).findings
    }

    @Test func idsAreUniqueAndStable() {
        let ids = Self.rules.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" } })
        #expect(ids.count >= 45)
    }

    @Test(arguments: RuleRegistry.all.map(\.id))
    func everyRuleIsDocumentedWithExamples(id: String) throws {
        let rule = try #require(RuleRegistry.description(forID: id))
        #expect(!rule.summary.isEmpty && !rule.rationale.isEmpty && !rule.name.isEmpty)
        if !rule.needsLiveHost {
            #expect(!rule.triggering.isEmpty || !rule.triggeringSets.isEmpty, "\(id) has no triggering example")
            #expect(!rule.nonTriggering.isEmpty || !rule.nonTriggeringSets.isEmpty, "\(id) has no non-triggering example")
        }
    }

    @Test(arguments: RuleRegistry.all.map(\.id))
    func triggeringExamplesTrigger(id: String) throws {
        let rule = try #require(RuleRegistry.description(forID: id))
        for example in rule.triggering {
            let ids = Self.findings([example]).map(\.ruleID)
            #expect(ids.contains(id), "\(id) did not trigger on:\n\(example)\nfound: \(ids)")
        }
        for set in rule.triggeringSets {
            let ids = Self.findings(set).map(\.ruleID)
            #expect(ids.contains(id), "\(id) did not trigger on a set of \(set.count); found: \(ids)")
        }
    }

    /// Each triggering example marks (`↓`) every place the rule's findings must point at, and
    /// they point exactly there: the right element or attribute, not only the right rule.
    @Test(arguments: RuleRegistry.all.map(\.id))
    func findingsAppearWhereTheExamplesMarkThem(id: String) throws {
        let rule = try #require(RuleRegistry.description(forID: id))
        let groups = rule.markedTriggering.map { [$0] } + rule.markedTriggeringSets
        for (index, marked) in groups.enumerated() {
            let expected = marked.enumerated().flatMap { document in
                RuleDescription.markedPositions(document.element).map { "example-\(document.offset).xml:\($0)" }
            }
            #expect(!expected.isEmpty, "\(id): triggering example \(index) marks no position (put ↓ before what the finding points at)")
            let found = Self.findings(marked.map(RuleDescription.unmarked)).filter { $0.ruleID == id }.map { "\($0.file):\($0.line):\($0.column)" }
            #expect(Set(found) == Set(expected), "\(id), triggering example \(index): findings at \(found.sorted()), marked \(expected.sorted())")
        }
    }

    @Test(arguments: RuleRegistry.all.map(\.id))
    func nonTriggeringExamplesDoNot(id: String) throws {
        let rule = try #require(RuleRegistry.description(forID: id))
        for example in rule.nonTriggering {
            let found = Self.findings([example]).filter { $0.ruleID == id }
            #expect(found.isEmpty, "\(id) triggered on its non-triggering example:\n\(example)\n\(found.map(\.message))")
        }
        for set in rule.nonTriggeringSets {
            let found = Self.findings(set).filter { $0.ruleID == id }
            #expect(found.isEmpty, "\(id) triggered on a non-triggering set: \(found.map(\.message))")
        }
    }

    /// A clean, complete direct interface produces nothing above info.
    @Test func aGoodDomainIsClean() {
        let document = """
            <domain type='kvm'>
              <name>good</name>
              <memory unit='MiB'>512</memory>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices>
                <interface type='direct'>
                  <mac address='52:54:00:12:34:56'/>
                  <source dev='eth0' mode='bridge'/>
                  <model type='virtio'/>
                  <alias name='ua-lan'/>
                </interface>
              </devices>
            </domain>
            """
        let serious = Self.findings([document]).filter { $0.severity > .info }
        #expect(serious.isEmpty, "\(serious.map { "\($0.ruleID): \($0.message)" })")
    }
}

/// Fixes, as Ruff tests them: each rule's before → after examples, applied by the fixer.
@Suite("Rule catalogue: fixes")
struct RuleFixTests {
    static let linter: Linter = try! Linter(configuration: LintConfiguration())

    static func fixed(_ before: String, context: [String] = []) throws -> (text: String, run: FixRun) {
        // Context first: a cross-file fix lands on the later file, the one fixed here.
        let sources =
            context.enumerated().map { DocumentSource.memory(Array($0.element.utf8), name: "context-\($0.offset).xml") }
            + [DocumentSource.memory(Array(before.utf8), name: "before.xml")]
        let run = try LintFixer.run(sources, linter: linter, unsafe: true)
        let text = run.changes.first { $0.name == "before.xml" }.map { String(decoding: $0.fixed, as: UTF8.self) } ?? before
        return (text, run)
    }

    @Test(arguments: RuleRegistry.all.filter { !$0.fixExamples.isEmpty }.map(\.id))
    func examplesFix(id: String) throws {
        let rule = try #require(RuleRegistry.description(forID: id))
        for example in rule.fixExamples {
            let (fixed, run) = try Self.fixed(example.before, context: example.context)
            // A fresh MAC is the allocator's choice: compare with it in the placeholder's place.
            let text = run.newMACs.reduce(fixed) { $0.replacingOccurrences(of: $1.mac.description, with: FixExample.freshMAC) }
            #expect(text == example.after, "\(id): fixed text differs:\n\(text)")
            let context = example.context.enumerated().map { DocumentSource.memory(Array($0.element.utf8), name: "context-\($0.offset).xml") }
            let findings = try Self.linter.lint(context + [.memory(Array(fixed.utf8), name: "after.xml")]).findings
                .filter { $0.file == "after.xml" }
            #expect(!findings.contains { $0.ruleID == id }, "\(id) still triggers after its fix")
            #expect(!findings.contains { $0.ruleID == LibvirtSchemaRule.description.id }, "\(id): the fixed text fails libvirt's schema: \(findings.map(\.message))")
            let again = try LintFixer.run(context + [.memory(Array(fixed.utf8), name: "after.xml")], linter: Self.linter, unsafe: true)
            #expect(again.changes.isEmpty, "\(id): a second --fix changed the file again")
        }
    }

    @Test("A rule that fixes says so, and never fixes less safely than it says; rules that say they fix have examples or a fresh-MAC fix")
    func applicabilityIsDeclared() throws {
        for rule in RuleRegistry.all {
            let documents = rule.triggering.map { [$0] } + rule.triggeringSets
            for set in documents {
                let sources = set.enumerated().map { DocumentSource.memory(Array($0.element.utf8), name: "example-\($0.offset).xml") }
                for finding in try Self.linter.lint(sources).findings where finding.ruleID == rule.id {
                    guard let correction = finding.correction else { continue }
                    let declared = try #require(rule.fixes, "\(rule.id) offers a fix but declares none")
                    #expect(correction.applicability <= declared, "\(rule.id): a \(correction.applicability) fix, declared \(declared)")
                }
            }
        }
    }

    @Test("Fresh-MAC fixes: a new locally administered MAC under 52:54:00 that nothing else uses, and the rule is quiet")
    func freshMACs() throws {
        for id in ["mac-not-locally-administered", "mac-foreign-oui", "mac-duplicate-across-domains"] {
            let rule = try #require(RuleRegistry.description(forID: id))
            let documents = (rule.triggering.map { [$0] } + rule.triggeringSets).first!
            let before = documents.last!
            let (text, run) = try Self.fixed(before, context: Array(documents.dropLast()))
            let mac = try #require(run.newMACs.first?.mac, "\(id): no new MAC")
            #expect(mac.description.hasPrefix("52:54:00:") && text.contains(mac.description))
            let all =
                documents.dropLast().enumerated().map { DocumentSource.memory(Array($0.element.utf8), name: "context-\($0.offset).xml") }
                + [.memory(Array(text.utf8), name: "after.xml")]
            #expect(!(try Self.linter.lint(all).findings.contains { $0.ruleID == id }), "\(id) still triggers")
        }
    }

    @Test("Overlapping fixes wait for the next round, a malformed file is never touched, comments and quoting outside the edits stay")
    func fixLoop() throws {
        let document = """
            <domain type='kvm'>
              <name>f</name>
              <memory unit='MiB'>512</memory>
              <os><type arch='x86_64'>hvm</type></os>
              <devices>
                <!-- keep this comment -->
                <interface type="direct">
                  <mac address="52:54:0:a:b:c" adress2='x'/>
                  <source dev="eth0" mode="BRIDGE"/>
                </interface>
              </devices>
            </domain>
            """
        let (text, run) = try Self.fixed(document)
        #expect(text.contains("<mac address=\"52:54:00:0a:0b:0c\"/>"), "\(text)")
        #expect(text.contains("mode=\"bridge\"") && text.contains("<!-- keep this comment -->") && text.contains("<interface type=\"direct\">"))
        #expect(run.fixesApplied >= 3)
        let broken = "<domain><name>x</nam><devices><interface type='direct'><mac address='52:54:0:1:2:3'/></interface></devices></domain>"
        let untouched = try LintFixer.run([.memory(Array(broken.utf8), name: "broken.xml")], linter: Self.linter, unsafe: true)
        #expect(untouched.changes.isEmpty)
    }
}

@Suite("Rule ids and type names")
struct RuleNamingTests {
    /// `mac-not-locally-administered` → `MACNotLocallyAdministeredRule`: words capitalised,
    /// the acronyms written as acronyms.
    static func typeName(forID id: String) -> String {
        let acronyms = [
            "mac": "MAC", "pci": "PCI", "acpi": "ACPI", "xml": "XML", "vlan": "VLAN", "vepa": "VEPA", "oui": "OUI", "fe": "FE",
            "virtualport": "VirtualPort", "vhostuser": "VhostUser",
        ]
        return id.split(separator: "-").map { acronyms[String($0)] ?? $0.prefix(1).uppercased() + $0.dropFirst() }.joined() + "Rule"
    }

    @Test("Every rule's type is named after its id, mechanically")
    func typeNamesFollowIDs() {
        let types: [any Rule.Type] =
            RuleRegistry.engineRules + RuleRegistry.documentRules.map { $0 as any Rule.Type }
            + RuleRegistry.networkRules.map { $0 as any Rule.Type } + RuleRegistry.crossDocumentRules.map { $0 as any Rule.Type }
            + RuleRegistry.liveHostRules.map { $0 as any Rule.Type }
        #expect(types.count >= 72)
        for type in types {
            #expect(String(describing: type) == Self.typeName(forID: type.description.id), "rule \(type.description.id) is \(type)")
        }
    }
}
