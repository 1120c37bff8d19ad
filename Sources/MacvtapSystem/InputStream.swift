#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#endif

/// Reads standard input as it arrives, waiting at most a given time: a server's loop (`lsp`)
/// does its deferred work when the client is quiet.
public enum StandardInputStream {
    /// What one wait gave.
    public enum Chunk: Sendable, Equatable {
        /// Bytes the client sent (at most 64 KiB).
        case bytes([UInt8])
        /// Nothing within the time.
        case quiet
        /// The client closed its end.
        case end
    }

    /// Waits up to `milliseconds` for input and returns what has arrived.
    public static func next(waitingAtMost milliseconds: Int32) throws(FileError) -> Chunk {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw FileError(path: "<stdin>", operation: "wait for it", errno: errno)
            }
            if ready == 0 { return .quiet }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw FileError(path: "<stdin>", operation: "read it", errno: errno)
            }
            if count == 0 { return .end }
            return .bytes(Array(buffer[..<count]))
        }
    }
}
