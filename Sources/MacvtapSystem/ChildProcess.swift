#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#endif

/// Runs another program in the foreground with this process's standard input, output and error
/// (an editor, for `edit-guard`), and waits for it.
public enum ChildProcess {
    /// A program could not be started or waited for.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var program: String
        public var errno: Int32

        public var description: String { "cannot run \(program): \(String(cString: strerror(errno)))" }
    }

    /// Runs `arguments` (the first one looked up in `PATH`) and returns its exit status, or 128 +
    /// the signal that ended it.
    public static func run(_ arguments: [String]) throws(Failure) -> Int32 {
        precondition(!arguments.isEmpty, "no program to run")
        var pid = pid_t()
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let spawned = posix_spawnp(&pid, arguments[0], nil, nil, &argv, environ)
        guard spawned == 0 else { throw Failure(program: arguments[0], errno: spawned) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure(program: arguments[0], errno: errno) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
