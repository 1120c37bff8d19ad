#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#endif

/// A file operation failed; keeps the path, what we were doing and the system's reason.
public struct FileError: Error, Sendable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case notFound, permissionDenied, isDirectory, notARegularFile, noSpace, readOnlyFileSystem
        case tooLarge(limit: Int)
        case other(errno: Int32)
    }

    public var path: String
    public var operation: String
    public var reason: Reason
    public var systemMessage: String

    public var description: String {
        let advice: String =
            switch reason {
            case .notFound: "check the path"
            case .permissionDenied: "check the file's permissions or run with enough privileges"
            case .isDirectory: "give a file, or pass the directory to a command that walks directories"
            case .notARegularFile: "give a regular file (not a FIFO, socket or device)"
            case .noSpace: "free some space; the original file was not changed"
            case .readOnlyFileSystem: "the file system is read-only; the original file was not changed"
            case .tooLarge(let limit):
                "virt-macvtap reads at most \(limit >> 20) MiB, and libvirt itself takes at most 4 MiB of XML "
                    + "(its RPC limit): this cannot be a domain libvirt accepts"
            case .other: "the original file was not changed"
            }
        return "\(path): cannot \(operation): \(systemMessage); \(advice)"
    }

    init(path: String, operation: String, errno code: Int32) {
        self.path = path
        self.operation = operation
        self.systemMessage = String(cString: strerror(code))
        self.reason =
            switch code {
            case ENOENT, ENOTDIR: .notFound
            case EACCES, EPERM: .permissionDenied
            case EISDIR: .isDirectory
            case ENOSPC, EDQUOT: .noSpace
            case EROFS: .readOnlyFileSystem
            default: .other(errno: code)
            }
    }

    init(path: String, operation: String, reason: Reason, message: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
        self.systemMessage = message
    }
}

/// Whole-file reads and crash-safe replacement.
public enum FileIO {
    /// The most any command reads from one file or from standard input, so that memory stays
    /// bounded whatever the input: four times libvirt's own limit on an XML string.
    public static let maximumReadSize = 16 << 20

    /// Reads a regular file. Directories, FIFOs, sockets and devices are refused before any
    /// read, so a FIFO cannot block the caller; so is a file over `maximumReadSize`.
    public static func readFile(atPath path: String) throws(FileError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileError(path: path, operation: "open it", errno: errno) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FileError(path: path, operation: "stat it", errno: errno) }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR:
            throw FileError(path: path, operation: "read it", reason: .isDirectory, message: "it is a directory")
        default:
            throw FileError(
                path: path, operation: "read it", reason: .notARegularFile, message: "it is not a regular file")
        }
        guard status.st_size <= maximumReadSize else { throw tooLarge(path, size: Int(status.st_size)) }
        return try readAll(descriptor, path: path, sizeHint: Int(status.st_size))
    }

    /// `size` is nil when the input is a stream and only its first part was read.
    private static func tooLarge(_ path: String, size: Int?) -> FileError {
        let shown = size.map { "it is \($0 >> 20) MiB" } ?? "it is larger than \(maximumReadSize >> 20) MiB"
        return FileError(path: path, operation: "read it", reason: .tooLarge(limit: maximumReadSize), message: shown)
    }

    /// Reads standard input to its end.
    public static func readStandardInput() throws(FileError) -> [UInt8] {
        try readAll(STDIN_FILENO, path: "<stdin>", sizeHint: 0)
    }

    /// Replaces the file at `path` with `bytes` so that a reader sees either the old or the new
    /// content, never a mix: write a temporary file beside it, flush it to disk, rename it over
    /// the original. On any failure the original is untouched and the temporary file removed.
    /// The original's permission bits (and, when we may, its owner) carry over. With `creating`,
    /// a missing file is created the same way, with `newFileMode` (readable by all by default).
    public static func replaceAtomically(
        atPath path: String, with bytes: [UInt8], creating: Bool = false, newFileMode: UInt32 = 0o644
    ) throws(FileError) {
        var original = stat()
        if stat(path, &original) != 0 {
            guard creating, errno == ENOENT else { throw FileError(path: path, operation: "stat it", errno: errno) }
            original.st_mode = S_IFREG | mode_t(newFileMode)
            original.st_uid = geteuid()
            original.st_gid = getegid()
        }
        guard original.st_mode & S_IFMT == S_IFREG else {
            throw FileError(
                path: path, operation: "replace it", reason: .notARegularFile, message: "it is not a regular file")
        }
        let (directory, name) = split(path)
        var template = Array("\(directory)/.\(name).virt-macvtap-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw FileError(path: path, operation: "create a temporary file in \(directory)", errno: errno)
        }
        let temporaryPath = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var committed = false
        defer {
            if !committed { unlink(temporaryPath) }
        }
        do {
            defer { close(descriptor) }
            try writeAll(descriptor, bytes, path: path)
            guard fchmod(descriptor, original.st_mode & 0o7777) == 0 else {
                throw FileError(path: path, operation: "copy its permissions", errno: errno)
            }
            if geteuid() == 0 { _ = fchown(descriptor, original.st_uid, original.st_gid) }
            guard fsync(descriptor) == 0 else { throw FileError(path: path, operation: "flush it to disk", errno: errno) }
        }
        guard rename(temporaryPath, path) == 0 else {
            throw FileError(path: path, operation: "replace it", errno: errno)
        }
        committed = true
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    private static func readAll(_ descriptor: Int32, path: String, sizeHint: Int) throws(FileError) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(sizeHint + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return result }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "read it", errno: errno)
            }
            // A file that grew after fstat, or standard input, is held to the same limit.
            guard result.count + count <= maximumReadSize else { throw tooLarge(path, size: nil) }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(FileError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "write the new content", errno: errno)
            }
            offset += written
        }
    }

    private static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}

extension FileIO {
    /// Whether anything exists at `path` (without following a final symlink's target).
    public static func exists(atPath path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// A new directory `prefix` + six random characters in the first of `parents` that takes
    /// one (mkdtemp: mode 0700, never an existing path); its path.
    public static func makeTemporaryDirectory(inOneOf parents: [String], prefix: String) throws(FileError) -> String {
        var lastError = FileError(path: parents.first ?? "/tmp", operation: "create a temporary directory", errno: ENOENT)
        for parent in parents {
            var template = Array("\(parent)/\(prefix)XXXXXX".utf8CString)
            if template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil {
                return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            lastError = FileError(path: parent, operation: "create a temporary directory in it", errno: errno)
        }
        throw lastError
    }

    /// Where the symbolic link at `path` points (readlink), or nil when it is not one.
    public static func symbolicLinkDestination(atPath path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes the file at `path`; a file already gone is not an error.
    public static func removeFile(atPath path: String) throws(FileError) {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw FileError(path: path, operation: "remove it", errno: errno)
        }
    }

    /// Removes the directory at `path` when it is empty; otherwise leaves it.
    public static func removeDirectoryIfEmpty(atPath path: String) {
        _ = rmdir(path)
    }

    /// A symbolic link at `path` that points to `destination`.
    public static func createSymbolicLink(atPath path: String, to destination: String) throws(FileError) {
        guard symlink(destination, path) == 0 else { throw FileError(path: path, operation: "create a symbolic link", errno: errno) }
    }

    /// `mkdir -p` with `mode` for the directories it creates.
    public static func createDirectories(atPath path: String, mode: UInt32 = 0o700) throws(FileError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode_t(mode)) != 0, errno != EEXIST {
                throw FileError(path: current, operation: "create the directory", errno: errno)
            }
        }
    }
}

/// What `stat` says of a file that a cache can trust to mean "unchanged" (git's and Ruff's rule).
public struct FileStatus: Sendable, Hashable {
    public var size: UInt64
    public var modificationNanoseconds: UInt64
    public var inode: UInt64
    public var device: UInt64

    public init(size: UInt64, modificationNanoseconds: UInt64, inode: UInt64, device: UInt64) {
        self.size = size
        self.modificationNanoseconds = modificationNanoseconds
        self.inode = inode
        self.device = device
    }
}

extension FileIO {
    /// The status of the regular file at `path`, or nil (missing, not a regular file).
    public static func status(atPath path: String) -> FileStatus? {
        var information = stat()
        guard stat(path, &information) == 0, information.st_mode & S_IFMT == S_IFREG else { return nil }
        let nanoseconds = UInt64(information.st_mtim.tv_sec) &* 1_000_000_000 &+ UInt64(information.st_mtim.tv_nsec)
        return FileStatus(
            size: UInt64(information.st_size), modificationNanoseconds: nanoseconds, inode: UInt64(information.st_ino),
            device: UInt64(information.st_dev))
    }

    /// Writes `bytes` to `path` through a temporary file and a rename, without flushing to disk:
    /// for caches, whose readers see the old file or the new one and may lose both in a crash.
    public static func writeReplacingWithoutSync(atPath path: String, bytes: [UInt8]) throws(FileError) {
        let (directory, name) = split(path)
        var template = Array("\(directory)/.\(name).XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw FileError(path: path, operation: "create a temporary file in \(directory)", errno: errno) }
        let temporaryPath = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            defer { close(descriptor) }
            _ = fchmod(descriptor, 0o644)
            try writeAll(descriptor, bytes, path: path)
        } catch {
            unlink(temporaryPath)
            throw error
        }
        guard rename(temporaryPath, path) == 0 else {
            unlink(temporaryPath)
            throw FileError(path: path, operation: "replace it", errno: errno)
        }
    }
}
