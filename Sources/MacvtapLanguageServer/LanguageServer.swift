import FoundationEssentials
public import MacvtapKit
internal import MacvtapSystem
internal import Synchronization

/// A language server for libvirt domain and network XML: the same lint engine, rules and
/// positions as `virt-macvtap lint`, in-process, with diagnostics, fixes as code actions, hover
/// on findings and completion of `<source mode=…>` and `dev=…`.
///
/// The server does no I/O of its own: feed it what the client sent (`receive`), call `idle()`
/// when the client has been quiet for a while (that is when debounced diagnostics go out), and
/// write what either returns to the client. A message that cannot be read gets an error
/// response; nothing the client sends stops the server but `exit`.
public final class LanguageServer {
    /// How long a document must be left alone after a change before it is linted again.
    public static let debounce: Duration = .milliseconds(150)
    /// The command a deferred fix (one that needs a fresh MAC) runs when it is applied.
    static let applyFixCommand = "virt-macvtap.applyFix"
    /// Scans the configuration's hosts again.
    static let refreshHostsCommand = "virt-macvtap.refreshHosts"
    static let fixAllKind = "source.fixAll.virt-macvtap"

    private struct OpenDocument {
        var uri: String
        var path: String
        var version: Int
        var text: TextIndex
    }

    private var framing = MessageFraming()
    private var initialized = false
    private var shutdownRequested = false
    /// Set by `exit`: 0 after a `shutdown` request, 1 without one (LSP's rule).
    public private(set) var exitStatus: Int32?

    private var root: String?
    private var configuration = LintConfiguration()
    private var fleet = FleetHosts()
    private var linter: Linter?
    private var setupProblem: String?
    private let ledger: LedgerLocation?
    private let libvirtRelease: LibvirtRelease?

    private var documents: [String: OpenDocument] = [:]
    private var findings: [String: [Finding]] = [:]
    private var changedAt: ContinuousClock.Instant?
    private var lintPending = false
    private let hostScans = HostScans()
    private var nextRequest = 1
    private var output: [UInt8] = []

    /// `ledger` records the MACs fixes draw (nil: `$VIRT_MACVTAP_LEDGER`, else the SQLite
    /// default); `libvirtRelease` chooses bundled schemas as `lint --libvirt-version` does.
    public init(ledger: LedgerLocation? = nil, libvirtRelease: LibvirtRelease? = nil) {
        self.ledger = ledger
        self.libvirtRelease = libvirtRelease
    }

    /// True when a lint is waiting for the client to be quiet: call `idle()` soon.
    public var hasPendingWork: Bool { lintPending || hostScans.changed.load(ordering: .relaxed) }

    /// Takes bytes from the client; returns the bytes to send back (framed messages).
    public func receive(_ bytes: [UInt8]) -> [UInt8] {
        framing.append(bytes)
        while let message = framing.nextMessage() {
            switch message {
            case .body(let body): handle(body)
            case .malformedHeader(let header):
                send(ErrorResponseMessage(id: nil, error: .init(code: ErrorCode.parseError, message: "unreadable message header: \(header)")))
            }
        }
        return takeOutput()
    }

    /// The client has been quiet: lint what changed (once `debounce` has passed) and publish.
    public func idle(now: ContinuousClock.Instant = .now) -> [UInt8] {
        let hostsDidChange = hostScans.changed.exchange(false, ordering: .relaxed)
        if hostsDidChange || (lintPending && (changedAt.map { now - $0 >= Self.debounce } ?? true)) {
            lintAndPublish()
        }
        return takeOutput()
    }

    // MARK: - Messages

    private func handle(_ body: [UInt8]) {
        let data = Data(body)
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: data)
        } catch {
            send(ErrorResponseMessage(id: nil, error: .init(code: ErrorCode.parseError, message: "not a JSON-RPC message: \(error)")))
            return
        }
        guard let method = envelope.method else { return }  // a response to our request
        let id = envelope.id
        func params<P: Decodable>(_ type: P.Type) -> P? {
            do {
                return try JSONDecoder().decode(Incoming<P>.self, from: data).params
            } catch {
                if let id { send(ErrorResponseMessage(id: id, error: .init(code: ErrorCode.invalidParams, message: "\(method): \(error)"))) }
                return nil
            }
        }
        if !initialized, method != "initialize", method != "exit" {
            if let id { send(ErrorResponseMessage(id: id, error: .init(code: ErrorCode.serverNotInitialized, message: "initialize first"))) }
            return
        }
        switch method {
        case "initialize":
            guard let id, let given = params(InitializeParams.self) else { return }
            initialize(given)
            send(ResponseMessage(id: id, result: initializeResult()))
        case "initialized", "$/cancelRequest", "$/setTrace", "workspace/didChangeConfiguration":
            break
        case "shutdown":
            shutdownRequested = true
            if let id { send(ResponseMessage<Int>(id: id, result: nil)) }
        case "exit":
            exitStatus = shutdownRequested ? 0 : 1
        case "textDocument/didOpen":
            guard let given = params(DidOpenTextDocumentParams.self) else { return }
            let item = given.textDocument
            documents[item.uri] = OpenDocument(uri: item.uri, path: Self.path(of: item.uri), version: item.version, text: TextIndex(Array(item.text.utf8)))
            lintAndPublish()  // at once on open; changes wait for the client to pause
        case "textDocument/didChange":
            guard let given = params(DidChangeTextDocumentParams.self), var document = documents[given.textDocument.uri] else { return }
            for change in given.contentChanges {
                if let range = change.range {
                    var bytes = document.text.bytes
                    bytes.replaceSubrange(document.text.byteOffset(of: range.start)..<document.text.byteOffset(of: range.end), with: Array(change.text.utf8))
                    document.text = TextIndex(bytes)
                } else {
                    document.text = TextIndex(Array(change.text.utf8))
                }
            }
            document.version = given.textDocument.version ?? document.version + 1
            documents[document.uri] = document
            changedAt = .now
            lintPending = true
        case "textDocument/didSave":
            lintPending = true
        case "textDocument/didClose":
            guard let given = params(DidCloseTextDocumentParams.self) else { return }
            documents[given.textDocument.uri] = nil
            findings[given.textDocument.uri] = nil
            send(NotificationMessage(method: "textDocument/publishDiagnostics", params: PublishDiagnosticsParams(uri: given.textDocument.uri, diagnostics: [])))
        case "textDocument/codeAction":
            guard let id, let given = params(CodeActionParams.self) else { return }
            send(ResponseMessage(id: id, result: codeActions(given)))
        case "textDocument/hover":
            guard let id, let given = params(TextDocumentPositionParams.self) else { return }
            send(ResponseMessage(id: id, result: hover(given)))
        case "textDocument/completion":
            guard let id, let given = params(TextDocumentPositionParams.self) else { return }
            send(ResponseMessage(id: id, result: completion(given)))
        case "workspace/executeCommand":
            guard let id, let given = params(ExecuteCommandParams.self) else { return }
            executeCommand(given, id: id)
        default:
            if let id { send(ErrorResponseMessage(id: id, error: .init(code: ErrorCode.methodNotFound, message: "\(method) is not supported"))) }
        }
    }

    private func initialize(_ params: InitializeParams) {
        initialized = true
        root = (params.workspaceFolders?.first?.uri ?? params.rootUri).map(Self.path(of:)) ?? params.rootPath
        if let root, let path = LintConfiguration.discover(from: root) {
            do {
                if let loaded = try LintConfiguration.load(path: path) {
                    configuration = loaded
                    fleet = FleetHosts(loaded.hosts, relativeTo: String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]))
                }
            } catch {
                showMessage(type: 1, "virt-macvtap: \(error.description)")
            }
        }
        do {
            linter = try Linter(configuration: configuration, libvirtRelease: libvirtRelease)
        } catch {
            setupProblem = error.description
            showMessage(type: 1, "virt-macvtap cannot lint: \(error.description)")
        }
        scanHostsInBackground()
    }

    private func initializeResult() -> InitializeResult {
        InitializeResult(
            capabilities: .init(
                codeActionProvider: .init(codeActionKinds: ["quickfix", Self.fixAllKind]),
                completionProvider: .init(triggerCharacters: ["'", "\""]),
                executeCommandProvider: .init(commands: [Self.applyFixCommand, Self.refreshHostsCommand])),
            serverInfo: .init(name: "virt-macvtap", version: Versions.tool))
    }

    /// The hosts of `.virt-macvtap.json` that have a `uri`, scanned off the message loop; the
    /// next `idle()` lints with them.
    private func scanHostsInBackground() {
        let withURI = configuration.hosts.compactMap { name, host in host.uri.map { (name, $0) } }
        guard !withURI.isEmpty else { return }
        let scans = hostScans
        _ = DetachedThread.start {
            for (name, uri) in withURI {
                if let inventory = try? HostInventory.scan(uri: uri) {
                    scans.inventories.withLock { $0[name] = inventory }
                    scans.changed.store(true, ordering: .relaxed)
                }
            }
        }
    }

    // MARK: - Diagnostics

    private func lintAndPublish() {
        lintPending = false
        guard let linter else { return }
        let open = documents.values.sorted { $0.path < $1.path }
        let openPaths = Set(open.map(\.path))
        var sources = open.map { DocumentSource.memory($0.text.bytes, name: $0.path) }
        // Cross-file rules see the workspace's other files as they are on disk.
        if let root, let onDisk = try? LintInputs.expand([root]) {
            sources += onDisk.filter { source in
                guard case .file(let path) = source else { return false }
                return !openPaths.contains(URL(fileURLWithPath: path).standardized.path) && !path.contains("/.")
            }
        }
        let inventories = hostScans.inventories.withLock { $0 }
        guard let report = try? linter.lint(sources, fleet: fleet, hostInventories: inventories, currentDirectory: root) else { return }
        let byFile = Dictionary(grouping: report.findings, by: \.file)
        for document in open {
            let mine = byFile[document.path] ?? []
            findings[document.uri] = mine
            // A cross-file finding placed in a file that is not open still shows where this file
            // takes part in it (its related location), pointing back at the finding.
            let elsewhere = report.findings.filter { !openPaths.contains($0.file) }.flatMap { finding in
                (finding.related ?? []).filter { $0.file == document.path }.map { mirrored(finding, at: $0, in: document) }
            }
            send(
                NotificationMessage(
                    method: "textDocument/publishDiagnostics",
                    params: PublishDiagnosticsParams(
                        uri: document.uri, version: document.version, diagnostics: mine.map { diagnostic($0, in: document) } + elsewhere)))
        }
    }

    private func mirrored(_ finding: Finding, at place: RelatedLocation, in document: OpenDocument) -> Diagnostic {
        var shown = diagnostic(finding, in: document)
        shown.range = document.text.tokenRange(line: place.line, column: place.column)
        shown.message = "\(place.message): \(finding.message)" + (finding.fix.map { "\nfix (in \(finding.file)): \($0)" } ?? "")
        let position = Position(line: max(finding.line - 1, 0), character: max(finding.column - 1, 0))
        shown.relatedInformation = [
            .init(location: Location(uri: uri(ofPath: finding.file), range: Range(start: position, end: position)), message: finding.message)
        ]
        return shown
    }

    private func diagnostic(_ finding: Finding, in document: OpenDocument) -> Diagnostic {
        let severity: Int =
            switch finding.severity {
            case .error: 1
            case .warning: 2
            case .info: 3
            }
        let related = finding.related?.map { other in
            Diagnostic.RelatedInformation(
                location: Location(uri: uri(ofPath: other.file), range: relatedRange(other)), message: other.message)
        }
        return Diagnostic(
            range: document.text.tokenRange(line: finding.line, column: finding.column), severity: severity, code: finding.ruleID,
            message: finding.message + (finding.fix.map { "\nfix: \($0)" } ?? ""), relatedInformation: related)
    }

    private func relatedRange(_ other: RelatedLocation) -> Range {
        if let document = documents.values.first(where: { $0.path == other.file }) {
            return document.text.tokenRange(line: other.line, column: other.column)
        }
        let position = Position(line: max(other.line - 1, 0), character: max(other.column - 1, 0))
        return Range(start: position, end: position)
    }

    // MARK: - Code actions

    private func codeActions(_ params: CodeActionParams) -> [CodeActionItem] {
        guard let document = documents[params.textDocument.uri] else { return [] }
        let wanted = params.context.only
        func allows(_ kind: String) -> Bool { wanted.map { $0.contains { kind == $0 || kind.hasPrefix($0 + ".") } } ?? true }
        var actions: [CodeActionItem] = []
        if allows("quickfix") {
            for finding in findings[document.uri] ?? [] {
                guard let correction = finding.correction, correction.applicability != .displayOnly else { continue }
                let diagnostic = diagnostic(finding, in: document)
                guard diagnostic.range.overlaps(params.range) else { continue }
                let unsafe = correction.applicability == .unsafe
                if correction.isDeferred {
                    // A bare Command (the result may hold either): its MAC is drawn when it runs.
                    // As a CodeAction with `command`, some clients (lsprotocol) misread it.
                    actions.append(
                        .command(
                            Command(
                                title: "\(correction.message) (unsafe: a new MAC, recorded in the ledger)", command: Self.applyFixCommand,
                                arguments: [document.uri, finding.ruleID, String(finding.line), String(finding.column)])))
                } else {
                    actions.append(
                        .action(
                            CodeAction(
                                title: correction.message + (unsafe ? " (unsafe)" : ""), kind: "quickfix", diagnostics: [diagnostic],
                                isPreferred: !unsafe, edit: WorkspaceEdit(changes: [document.uri: textEdits(correction.edits, in: document, macs: [])]),
                                command: nil)))
                }
            }
        }
        if allows(Self.fixAllKind), let linter,
            let run = try? LintFixer.run([.memory(document.text.bytes, name: document.path)], linter: linter, unsafe: false),
            let change = run.changes.first
        {
            let whole = Range(start: Position(line: 0, character: 0), end: document.text.endPosition)
            actions.append(
                .action(
                    CodeAction(
                        title: "Apply virt-macvtap's safe fixes (\(run.fixesApplied))", kind: Self.fixAllKind, diagnostics: nil,
                        isPreferred: nil, edit: WorkspaceEdit(changes: [document.uri: [TextEdit(range: whole, newText: String(decoding: change.fixed, as: UTF8.self))]]),
                        command: nil)))
        }
        return actions
    }

    private func textEdits(_ edits: [MacvtapKit.TextEdit], in document: OpenDocument, macs: [MACAddress]) -> [TextEdit] {
        var fresh = macs.makeIterator()
        return edits.map { edit in
            TextEdit(
                range: Range(start: document.text.position(ofByte: edit.start), end: document.text.position(ofByte: edit.end)),
                newText: edit.freshMAC ? (fresh.next()?.description ?? "") : edit.replacement)
        }
    }

    private func executeCommand(_ params: ExecuteCommandParams, id: RequestID) {
        switch params.command {
        case Self.refreshHostsCommand:
            scanHostsInBackground()
            send(ResponseMessage<Int>(id: id, result: nil))
        case Self.applyFixCommand:
            let arguments = params.arguments ?? []
            guard arguments.count == 4, let document = documents[arguments[0]], let line = Int(arguments[2]), let column = Int(arguments[3]),
                let finding = findings[document.uri]?.first(where: { $0.ruleID == arguments[1] && $0.line == line && $0.column == column }),
                let correction = finding.correction
            else {
                send(ErrorResponseMessage(id: id, error: .init(code: ErrorCode.invalidParams, message: "that finding is gone; lint again")))
                return
            }
            // Only now, when the fix is applied, is a MAC drawn and recorded.
            let count = correction.edits.filter(\.freshMAC).count
            let macs: [MACAddress]
            do {
                macs = try allocateMACs(count, for: document.path)
            } catch {
                showMessage(type: 1, "virt-macvtap: no MAC for the fix: \(error)")
                send(ErrorResponseMessage(id: id, error: .init(code: ErrorCode.invalidRequest, message: "no MAC for the fix: \(error)")))
                return
            }
            let edit = WorkspaceEdit(changes: [document.uri: textEdits(correction.edits, in: document, macs: macs)])
            send(RequestMessage(id: .number(nextRequest), method: "workspace/applyEdit", params: ApplyWorkspaceEditParams(label: correction.message, edit: edit)))
            nextRequest += 1
            send(ResponseMessage<Int>(id: id, result: nil))
        default:
            send(ErrorResponseMessage(id: id, error: .init(code: ErrorCode.invalidParams, message: "unknown command \(params.command)")))
        }
    }

    /// MACs for a fix: none any open or workspace document uses, none the ledger holds; recorded
    /// in the ledger with the file as label.
    private func allocateMACs(_ count: Int, for path: String) throws -> [MACAddress] {
        var taken: Set<MACAddress> = []
        for document in documents.values {
            if let domain = try? DomainDocument(bytes: document.text.bytes, fileName: document.path) {
                taken.formUnion(domain.interfaces.compactMap(\.macAddress))
            }
        }
        for inventory in hostScans.inventories.withLock({ Array($0.values) }) {
            taken.formUnion(inventory.domains.flatMap { $0.interfaces.compactMap(\.macAddress) })
        }
        let location = LedgerLocation.resolve(ledger)
        guard let opened = try location.open(forWriting: true) else {
            throw LedgerError.cannotOpen(ledger: location.description, detail: "it does not exist")
        }
        let allocated = try opened.allocate(label: "lsp fix: \(path)", checkedAgainst: "virt-macvtap lsp") { reserved throws(AllocationError) in
            try MACAllocator(space: .qemuDefault).allocate(count: count, taken: taken.union(reserved))
        }
        return allocated.map(\.mac)
    }

    // MARK: - Hover and completion

    private func hover(_ params: TextDocumentPositionParams) -> Hover? {
        guard let document = documents[params.textDocument.uri] else { return nil }
        let here = (findings[document.uri] ?? []).filter { document.text.tokenRange(line: $0.line, column: $0.column).contains(params.position) }
        guard !here.isEmpty else { return nil }
        let text = here.map { finding -> String in
            guard let rule = RuleRegistry.all.first(where: { $0.id == finding.ruleID }) else { return finding.message }
            return """
                **\(rule.id)** (\(rule.severity.rawValue)) — \(rule.summary)

                \(rule.rationale)

                *libvirt:* \(rule.enforcement.rawValue). \(rule.reference)
                """
        }.joined(separator: "\n\n---\n\n")
        let first = here[0]
        return Hover(contents: MarkupContent(kind: "markdown", value: text), range: document.text.tokenRange(line: first.line, column: first.column))
    }

    private func completion(_ params: TextDocumentPositionParams) -> [CompletionItem] {
        guard let document = documents[params.textDocument.uri], document.text.openTagName(at: params.position) == "source" else { return [] }
        let prefix = document.text.linePrefix(upTo: params.position)
        if prefix.firstMatch(of: /\bmode\s*=\s*["'][A-Za-z]*$/) != nil {
            return MacvtapMode.allCases.map { mode in
                CompletionItem(label: mode.rawValue, kind: 12, detail: "macvtap mode", documentation: MarkupContent(kind: "markdown", value: Self.modeDocumentation(mode)))
            }
        }
        if prefix.firstMatch(of: /\bdev\s*=\s*["'][^"']*$/) != nil {
            let interfaces = hostScans.inventories.withLock { inventories in
                inventories.keys.sorted().flatMap { host in inventories[host]!.hostInterfaces.map { (host, $0) } }
            }
            var seen: Set<String> = []
            return interfaces.compactMap { host, interface in
                guard seen.insert(interface.name).inserted else { return nil }
                return CompletionItem(label: interface.name, kind: 12, detail: "interface of host \(host)", documentation: nil)
            }
        }
        return []
    }

    private static func modeDocumentation(_ mode: MacvtapMode) -> String {
        switch mode {
        case .vepa: "Every frame goes out to the switch; guests on this device reach each other only through a hairpin port. libvirt's default."
        case .bridge: "Guests on this device reach each other directly; the host still cannot reach them without a shim."
        case .private: "Guests on this device never reach each other, even through a hairpin switch."
        case .passthrough: "The guest owns the device (one guest per device; SR-IOV VFs)."
        }
    }

    // MARK: - Output

    private func send(_ message: some Encodable) {
        guard let body = try? JSONEncoder().encode(message) else { return }
        output += Array("Content-Length: \(body.count)\r\n\r\n".utf8)
        output += body
    }

    private func showMessage(type: Int, _ message: String) {
        send(NotificationMessage(method: "window/showMessage", params: ShowMessageParams(type: type, message: message)))
    }

    private func takeOutput() -> [UInt8] {
        defer { output = [] }
        return output
    }

    // MARK: - URIs

    /// The file path of a `file://` URI (percent-decoded); any other URI stands for itself.
    static func path(of uri: String) -> String {
        guard uri.hasPrefix("file://") else { return uri }
        var path = uri.dropFirst("file://".count)
        if !path.hasPrefix("/"), let slash = path.firstIndex(of: "/") { path = path[slash...] }  // file://host/path
        return URL(fileURLWithPath: percentDecoded(String(path))).standardized.path
    }

    private func uri(ofPath path: String) -> String {
        if let document = documents.values.first(where: { $0.path == path }) { return document.uri }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/".utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        for byte in path.utf8 {
            if allowed.contains(byte) {
                encoded.append(byte)
            } else {
                encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return "file://" + String(decoding: encoded, as: UTF8.self)
    }

    private static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "%"), input.count >= 2,
                let value = UInt8(String(decoding: input.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                input = input.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// What the background host scans found; shared with the scanning thread.
private final class HostScans: Sendable {
    let inventories = Mutex<[String: HostInventory]>([:])
    let changed = Atomic<Bool>(false)
}

/// Splits the client's byte stream into messages: `Content-Length: N` headers, a blank line,
/// then N bytes of JSON.
struct MessageFraming {
    enum Message {
        case body([UInt8])
        case malformedHeader(String)
    }

    private var buffer: [UInt8] = []

    mutating func append(_ bytes: [UInt8]) { buffer += bytes }

    mutating func nextMessage() -> Message? {
        let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        guard let headerEnd = firstIndex(of: separator) else { return nil }
        let header = String(decoding: buffer[..<headerEnd], as: UTF8.self)
        var length: Int?
        for line in header.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                length = Int(parts[1].filter { $0 != " " && $0 != "\t" })
            }
        }
        guard let length, length >= 0 else {
            buffer.removeSubrange(..<(headerEnd + 4))
            return .malformedHeader(header)
        }
        let bodyStart = headerEnd + 4
        guard buffer.count >= bodyStart + length else { return nil }
        let body = Array(buffer[bodyStart..<(bodyStart + length)])
        buffer.removeSubrange(..<(bodyStart + length))
        return .body(body)
    }

    private func firstIndex(of pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for index in 0...(buffer.count - pattern.count) where buffer[index] == pattern[0] {
            if Array(buffer[index..<(index + pattern.count)]) == pattern { return index }
        }
        return nil
    }
}
