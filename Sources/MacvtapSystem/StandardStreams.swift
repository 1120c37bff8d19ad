import Synchronization

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#endif

/// Writing to the process's standard output and error, for the command-line layer.
public enum StandardStream: Sendable {
    case output, error

    /// When set (an in-process run of the tool, in tests), writes on this task go here instead.
    @TaskLocal public static var capture: OutputCapture?

    private var descriptor: Int32 { self == .output ? STDOUT_FILENO : STDERR_FILENO }

    /// Writes all of `bytes`, retrying short writes; a closed pipe ends the output silently.
    public func write(_ bytes: [UInt8]) {
        if let capture = Self.capture {
            capture.append(bytes, to: self)
            return
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    public func write(_ text: String) {
        write(Array(text.utf8))
    }

    /// Whether the stream is a terminal (colour only then); a capture never is.
    public var isTerminal: Bool { Self.capture == nil && isatty(descriptor) == 1 }
}

/// What an in-process run wrote to each stream.
public final class OutputCapture: Sendable {
    private let streams = Mutex<(output: [UInt8], error: [UInt8])>(([], []))

    public init() {}

    func append(_ bytes: [UInt8], to stream: StandardStream) {
        streams.withLock { if stream == .output { $0.output += bytes } else { $0.error += bytes } }
    }

    /// Everything written to `stream`, as UTF-8 text.
    public func text(of stream: StandardStream) -> String {
        String(decoding: streams.withLock { stream == .output ? $0.output : $0.error }, as: UTF8.self)
    }
}

/// Ends the process now with `status`.
public func exitProcess(_ status: Int32) -> Never {
    exit(status)
}
