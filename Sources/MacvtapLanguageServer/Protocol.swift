// The parts of the Language Server Protocol 3.17 the server speaks, as Codable types
// (https://microsoft.github.io/language-server-protocol/specifications/lsp/3.17/specification/).
// Names follow the specification's, so a field can be looked up there.

/// A JSON-RPC request id: a number or a string.
enum RequestID: Codable, Sendable, Hashable {
    case number(Int)
    case string(String)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            self = .number(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let number): try container.encode(number)
        case .string(let string): try container.encode(string)
        }
    }
}

/// What every incoming message has: a request (id and method), a notification (method only) or
/// a response to one of our requests (id only).
struct Envelope: Decodable {
    var id: RequestID?
    var method: String?
}

/// The `params` of a message, decoded once its method is known.
struct Incoming<Params: Decodable>: Decodable {
    var params: Params
}

struct ResponseMessage<Result: Encodable>: Encodable {
    var id: RequestID
    var result: Result?

    enum CodingKeys: String, CodingKey { case jsonrpc, id, result }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("2.0", forKey: .jsonrpc)
        try container.encode(id, forKey: .id)
        try container.encode(result, forKey: .result)  // null when there is none, as LSP wants
    }
}

struct ErrorResponseMessage: Encodable {
    struct ResponseError: Encodable {
        var code: Int
        var message: String
    }

    var jsonrpc = "2.0"
    var id: RequestID?
    var error: ResponseError

    enum CodingKeys: String, CodingKey { case jsonrpc, id, error }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(jsonrpc, forKey: .jsonrpc)
        try container.encode(id, forKey: .id)
        try container.encode(error, forKey: .error)
    }
}

struct NotificationMessage<Params: Encodable>: Encodable {
    var jsonrpc = "2.0"
    var method: String
    var params: Params
}

struct RequestMessage<Params: Encodable>: Encodable {
    var jsonrpc = "2.0"
    var id: RequestID
    var method: String
    var params: Params
}

/// JSON-RPC and LSP error codes.
enum ErrorCode {
    static let parseError = -32700
    static let invalidRequest = -32600
    static let methodNotFound = -32601
    static let invalidParams = -32602
    static let serverNotInitialized = -32002
}

// MARK: - Basic structures

struct Position: Codable, Sendable, Hashable, Comparable {
    /// 0-based line.
    var line: Int
    /// 0-based, in UTF-16 code units (the protocol's default position encoding).
    var character: Int

    init(line: Int, character: Int) {
        self.line = line
        self.character = character
    }

    static func < (lhs: Position, rhs: Position) -> Bool { (lhs.line, lhs.character) < (rhs.line, rhs.character) }
}

struct Range: Codable, Sendable, Hashable {
    var start: Position
    var end: Position

    func contains(_ position: Position) -> Bool { start <= position && position <= end }
    func overlaps(_ other: Range) -> Bool { start <= other.end && other.start <= end }
}

struct Location: Codable, Hashable {
    var uri: String
    var range: Range
}

struct TextDocumentIdentifier: Codable {
    var uri: String
}

struct VersionedTextDocumentIdentifier: Codable {
    var uri: String
    var version: Int?
}

struct TextDocumentItem: Codable {
    var uri: String
    var languageId: String?
    var version: Int
    var text: String
}

struct TextEdit: Codable, Hashable {
    var range: Range
    var newText: String
}

struct WorkspaceEdit: Codable {
    var changes: [String: [TextEdit]]
}

struct Command: Codable {
    var title: String
    var command: String
    var arguments: [String]?
}

struct MarkupContent: Codable {
    var kind: String
    var value: String
}

// MARK: - Lifecycle

struct WorkspaceFolder: Codable {
    var uri: String
    var name: String?
}

struct InitializeParams: Decodable {
    var rootUri: String?
    var rootPath: String?
    var workspaceFolders: [WorkspaceFolder]?
}

struct InitializeResult: Encodable {
    struct ServerInfo: Encodable {
        var name: String
        var version: String
    }

    struct Capabilities: Encodable {
        struct SaveOptions: Encodable { var includeText = false }
        struct TextDocumentSync: Encodable {
            var openClose = true
            /// 1: the whole document on every change.
            var change = 1
            var save = SaveOptions()
        }
        struct CodeActionOptions: Encodable { var codeActionKinds: [String] }
        struct CompletionOptions: Encodable { var triggerCharacters: [String] }
        struct ExecuteCommandOptions: Encodable { var commands: [String] }

        var positionEncoding = "utf-16"
        var textDocumentSync = TextDocumentSync()
        var codeActionProvider: CodeActionOptions
        var hoverProvider = true
        var completionProvider: CompletionOptions
        var executeCommandProvider: ExecuteCommandOptions
    }

    var capabilities: Capabilities
    var serverInfo: ServerInfo
}

// MARK: - Documents

struct DidOpenTextDocumentParams: Decodable { var textDocument: TextDocumentItem }

struct DidChangeTextDocumentParams: Decodable {
    struct Change: Decodable {
        var range: Range?
        var text: String
    }

    var textDocument: VersionedTextDocumentIdentifier
    var contentChanges: [Change]
}

struct DidCloseTextDocumentParams: Decodable { var textDocument: TextDocumentIdentifier }

struct DidSaveTextDocumentParams: Decodable { var textDocument: TextDocumentIdentifier }

// MARK: - Diagnostics

struct Diagnostic: Codable {
    struct RelatedInformation: Codable {
        var location: Location
        var message: String
    }

    var range: Range
    /// 1 error, 2 warning, 3 information, 4 hint.
    var severity: Int
    var code: String
    var source = "virt-macvtap"
    var message: String
    var relatedInformation: [RelatedInformation]?
}

struct PublishDiagnosticsParams: Encodable {
    var uri: String
    var version: Int?
    var diagnostics: [Diagnostic]
}

// MARK: - Code actions, hover, completion, commands

struct CodeActionParams: Decodable {
    struct Context: Decodable {
        var diagnostics: [Diagnostic]
        var only: [String]?
    }

    var textDocument: TextDocumentIdentifier
    var range: Range
    var context: Context
}

struct CodeAction: Encodable {
    var title: String
    var kind: String
    var diagnostics: [Diagnostic]?
    var isPreferred: Bool?
    var edit: WorkspaceEdit?
    var command: Command?
}

/// One entry of a code-action result: `(Command | CodeAction)[]`.
enum CodeActionItem: Encodable {
    case action(CodeAction)
    case command(Command)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .action(let action): try container.encode(action)
        case .command(let command): try container.encode(command)
        }
    }
}

struct TextDocumentPositionParams: Decodable {
    var textDocument: TextDocumentIdentifier
    var position: Position
}

struct Hover: Encodable {
    var contents: MarkupContent
    var range: Range?
}

struct CompletionItem: Encodable {
    var label: String
    /// 12: value, 5: field.
    var kind: Int
    var detail: String?
    var documentation: MarkupContent?
}

struct ExecuteCommandParams: Decodable {
    var command: String
    var arguments: [String]?
}

struct ApplyWorkspaceEditParams: Encodable {
    var label: String
    var edit: WorkspaceEdit
}

struct ShowMessageParams: Encodable {
    /// 1 error, 2 warning, 3 info.
    var type: Int
    var message: String
}
