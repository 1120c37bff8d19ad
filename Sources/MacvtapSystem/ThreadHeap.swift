#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#endif

/// glibc gives each secondary thread its own heap and makes it usable one `mprotect` at a time,
/// as small allocations need it: compiling libvirt's domain.rng (about 4 MB in small pieces) made
/// over 900 such calls, where the main thread's heap grows in a few 128 KB steps. Reserving
/// the room up front makes it one step per chunk, and glibc keeps the room usable after the
/// chunks are freed (it returns the pages, not the permission).
public enum ThreadHeap {
    /// Grows the calling thread's heap by about `bytes`, then frees it again.
    public static func reserve(bytes: Int) {
        // Below glibc's mmap threshold (128 KiB), so that the chunks come from the heap.
        let chunkSize = 120 << 10
        // Freed oldest first, so that they merge and the heap's top is trimmed once, at the end.
        var oldest: UnsafeMutableRawPointer?
        var newest: UnsafeMutableRawPointer?
        for _ in 0..<(bytes / chunkSize) {
            guard let chunk = malloc(chunkSize) else { break }
            chunk.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
            newest?.storeBytes(of: chunk, as: UnsafeMutableRawPointer?.self)
            if oldest == nil { oldest = chunk }
            newest = chunk
        }
        while let chunk = oldest {
            oldest = chunk.load(as: UnsafeMutableRawPointer?.self)
            free(chunk)
        }
    }
}
