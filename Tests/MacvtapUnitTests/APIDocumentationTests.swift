import Foundation
import MacvtapTestSupport
import Testing

/// Every public type and protocol requirement of the library targets says what it is (a `///` comment
/// right above it, attributes aside), so DocC's pages are never empty.
@Suite("The library's public API is documented")
struct APIDocumentationTests {
    @Test func everyPublicTypeAndProtocolRequirementHasADocComment() throws {
        // The targets a library product ships (and the oracle's, which the tests use).
        let root = Fixtures.packageRoot.appendingPathComponent("Sources")
        let targets = ["MacvtapModel", "MacvtapLint", "MacvtapAllocation", "MacvtapKit", "MacvtapOracle"]
        let files = targets.flatMap { target in
            (FileManager.default.enumerator(atPath: root.appendingPathComponent(target).path)?.allObjects as? [String] ?? [])
                .filter { $0.hasSuffix(".swift") }.map { target + "/" + $0 }
        }
        #expect(files.count > 80)
        var undocumented: [String] = []
        for file in files.sorted() {
            let lines = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            var depth = 0
            var protocolDepth: Int?
            for (index, line) in lines.enumerated() {
                let text = line.trimmingCharacters(in: .whitespaces)
                let isType = text.firstMatch(of: #/^(public|open) (final )?(indirect )?(struct|enum|class|protocol|typealias|actor) /#) != nil
                let isRequirement =
                    protocolDepth.map { depth == $0 + 1 } == true
                    && text.firstMatch(of: #/^(func|var|static|init|associatedtype|mutating) /#) != nil || (protocolDepth.map { depth == $0 + 1 } == true && text.hasPrefix("init("))
                if text.hasPrefix("public protocol ") { protocolDepth = depth }
                if isType || isRequirement {
                    var above = index - 1
                    while above >= 0, lines[above].trimmingCharacters(in: .whitespaces).hasPrefix("@") { above -= 1 }
                    if above < 0 || !lines[above].trimmingCharacters(in: .whitespaces).hasPrefix("///") {
                        undocumented.append("\(file):\(index + 1): \(text.prefix(80))")
                    }
                }
                depth += line.filter { $0 == "{" }.count - line.filter { $0 == "}" }.count
                if let open = protocolDepth, depth <= open, !text.hasPrefix("public protocol ") { protocolDepth = nil }
            }
        }
        #expect(undocumented.isEmpty, "without a doc comment:\n\(undocumented.joined(separator: "\n"))")
    }
}
