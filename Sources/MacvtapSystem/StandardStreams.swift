#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#endif

/// Writing to the process's standard output and error, for the command-line layer.
public enum StandardStream: Sendable {
    case output, error

    private var descriptor: Int32 { self == .output ? STDOUT_FILENO : STDERR_FILENO }

    /// Writes all of `bytes`, retrying short writes; a closed pipe ends the output silently.
    public func write(_ bytes: [UInt8]) {
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

    /// Whether the stream is a terminal (colour only then).
    public var isTerminal: Bool { isatty(descriptor) == 1 }
}

/// Ends the process now with `status`.
public func exitProcess(_ status: Int32) -> Never {
    exit(status)
}
