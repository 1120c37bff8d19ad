import FoundationEssentials
import MacvtapSystem

/// `reach`'s outputs: a matrix per device (text), the segments (JSON), a Graphviz graph (DOT),
/// and that graph drawn by Graphviz (SVG).
public enum ReachReports {
    /// The matrix cell for a verdict.
    static func cell(_ verdict: ReachVerdict) -> String {
        switch verdict {
        case .reaches: "yes"
        case .onlyThroughHairpin: "hairpin"
        case .never: "no"
        }
    }

    static func title(_ segment: ReachSegment) -> String {
        "\(segment.host.map { "host \($0)" } ?? "files") — device \(segment.device)"
    }

    /// Per segment: a matrix (rows reach columns), then every pair with its reason.
    public static func text(_ outcome: ReachOutcome) -> String {
        guard !outcome.segments.isEmpty else { return "no macvtap NICs: nothing reaches anything over macvtap here" }
        var blocks: [String] = []
        for segment in outcome.segments {
            var lines = [title(segment)]
            let names = segment.endpoints.map(\.name)
            let verdicts = Dictionary(segment.pairs.map { ("\($0.from)\u{0}\($0.to)", $0) }, uniquingKeysWith: { first, _ in first })
            let rows = names.map { from in
                [from] + names.map { to in verdicts["\(from)\u{0}\(to)"].map { cell($0.verdict) } ?? "-" }
            }
            lines.append(LiveReports.formatTable(header: ["FROM \\ TO"] + names, rows: rows))
            for pair in segment.pairs {
                lines.append("  \(pair.from) → \(pair.to): \(pair.verdict.rawValue): \(pair.reason)")
            }
            blocks.append(lines.joined(separator: "\n"))
        }
        return (blocks + ["yes: reaches; hairpin: only through a switch port that reflects frames (none declared); no: never"])
            .joined(separator: "\n\n")
    }

    public static func json(_ outcome: ReachOutcome) -> String {
        struct Output: Encodable {
            var segments: [ReachSegment]
            var unreachableHosts: [String]
            var factSources: [String]
        }
        return JSONOutput.encode(Output(segments: outcome.segments, unreachableHosts: outcome.unreachableHosts, factSources: outcome.factSources))
    }

    /// One cluster per host and device; an edge per pair of endpoints, coloured by verdict
    /// (both directions in one edge when they agree), the reason as its tooltip.
    public static func dot(_ outcome: ReachOutcome) -> String {
        func quoted(_ text: String) -> String {
            "\""
                + text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
                .replacing("\n", with: "\\n") + "\""
        }
        var lines = [
            "digraph reach {",
            "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, label=\"virt-macvtap reach: green reaches, orange only through a hairpin port, red never\", labelloc=b];",
            "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];",
            "  edge [fontname=\"Helvetica\", fontsize=9];",
        ]
        for (index, segment) in outcome.segments.enumerated() {
            lines.append("  subgraph cluster_\(index) {")
            lines.append("    label=\(quoted(title(segment))); style=rounded; color=\"#9e9e9e\";")
            for endpoint in segment.endpoints {
                let id = quoted("\(index):\(endpoint.name)")
                let label: String
                let fill: String
                switch endpoint.kind {
                case .guest:
                    label =
                        [endpoint.domain ?? endpoint.name, endpoint.mac, [endpoint.device, endpoint.mode?.rawValue].compactMap { $0 }.joined(separator: " ")]
                        .compactMap { $0 }.joined(separator: "\n") + (endpoint.linkDown ? "\nlink down" : "")
                    fill = endpoint.linkDown ? "#eeeeee" : "#e3f2fd"
                case .host:
                    label = "host"
                    fill = "#fff8e1"
                case .lan:
                    label = endpoint.name
                    fill = "#e8f5e9"
                }
                lines.append("    \(id) [label=\(quoted(label)), fillcolor=\(quoted(fill))];")
            }
            lines.append("  }")
            let byPair = Dictionary(segment.pairs.map { ("\($0.from)\u{0}\($0.to)", $0) }, uniquingKeysWith: { first, _ in first })
            let names = segment.endpoints.map(\.name)
            for (position, from) in names.enumerated() {
                for to in names.dropFirst(position + 1) {
                    guard let there = byPair["\(from)\u{0}\(to)"], let back = byPair["\(to)\u{0}\(from)"] else { continue }
                    let edges = there.verdict == back.verdict ? [(there, "both")] : [(there, "forward"), (back, "forward")]
                    for (pair, direction) in edges {
                        let (color, style) =
                            switch pair.verdict {
                            case .reaches: ("#2e7d32", "solid")
                            case .onlyThroughHairpin: ("#ef6c00", "dashed")
                            case .never: ("#c62828", "dotted")
                            }
                        let tooltip = direction == "both" ? "\(pair.from) ↔ \(pair.to): \(pair.reason)" : "\(pair.from) → \(pair.to): \(pair.reason)"
                        lines.append(
                            "  \(quoted("\(index):\(pair.from)")) -> \(quoted("\(index):\(pair.to)")) [dir=\(direction), color=\(quoted(color)), style=\(style), penwidth=\(pair.verdict == .reaches ? 2 : 1), tooltip=\(quoted(tooltip))];"
                        )
                    }
                }
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }
}

/// Drawing a DOT graph with Graphviz: its `dot` program, where it is installed.
public enum Graphviz {
    /// Why no picture could be drawn.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The `dot` program on `PATH`, if any.
    public static func dotProgram(environment: [String: String]? = nil) -> String? {
        let path = (environment ?? ProcessInfo.processInfo.environment)["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/dot" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// `dot` drawn as SVG, and which Graphviz drew it.
    public static func svg(_ dot: String) throws(Unavailable) -> (svg: String, renderer: String) {
        guard let program = dotProgram() else {
            throw Unavailable(description: "drawing SVG needs Graphviz's dot program, which is not installed: apt install graphviz (or use --format dot and draw it elsewhere)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("virt-macvtap-reach-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("reach.dot").path
        let output = directory.appendingPathComponent("reach.svg").path
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try FileIO.writeReplacingWithoutSync(atPath: input, bytes: Array(dot.utf8))
            let status = try ChildProcess.run([program, "-Tsvg", "-o", output, input])
            guard status == 0 else { throw Unavailable(description: "\(program) -Tsvg failed (exit status \(status))") }
            return (String(decoding: try FileIO.readFile(atPath: output), as: UTF8.self), "Graphviz's dot program (\(program))")
        } catch let error as Unavailable {
            throw error
        } catch {
            throw Unavailable(description: "drawing with \(program) failed: \(error)")
        }
    }
}
