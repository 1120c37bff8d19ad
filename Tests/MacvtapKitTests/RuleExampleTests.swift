import MacvtapKit
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
