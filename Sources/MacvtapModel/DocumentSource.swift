public import MacvtapSystem
public import MacvtapXML

/// Where a document comes from: a file, standard input (`-`), or bytes already in memory.
public enum DocumentSource: Sendable, Hashable {
    case file(String)
    case standardInput
    case memory([UInt8], name: String)

    /// `-` means standard input, as in every Unix tool.
    public init(argument: String) {
        self = argument == "-" ? .standardInput : .file(argument)
    }

    /// The name used in messages and positions.
    public var displayName: String {
        switch self {
        case .file(let path): path
        case .standardInput: "<stdin>"
        case .memory(_, let name): name
        }
    }

    public func readBytes() throws(FileError) -> [UInt8] {
        switch self {
        case .file(let path): try FileIO.readFile(atPath: path)
        case .standardInput: try FileIO.readStandardInput()
        case .memory(let bytes, _): bytes
        }
    }
}

extension XMLDocument {
    /// Reads and parses a document from a file, standard input or memory.
    public convenience init(source: DocumentSource) throws(DocumentReadError) {
        let bytes: [UInt8]
        do { bytes = try source.readBytes() } catch { throw .file(error) }
        do { try self.init(bytes: bytes, fileName: source.displayName) } catch { throw .malformed(error) }
    }
}

/// Why a document could not be read: the file, or the XML in it.
public enum DocumentReadError: Error, Sendable, CustomStringConvertible {
    case file(FileError)
    case malformed(XMLParseError)

    public var description: String {
        switch self {
        case .file(let error): error.description
        case .malformed(let error): error.description
        }
    }
}
