internal import CSystem
import Dispatch

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#endif

/// Runs work on a new detached POSIX thread that starts at once, on another CPU.
///
/// Linux places a new thread on its creator's CPU and moves it only later: on a 2-CPU machine a
/// thread created while the process was busy starting waited 2–4 ms before it ran, longer than
/// the head start it was meant to give. So the thread is created pinned to another CPU the
/// process may use, and unpins itself as it starts.
public enum DetachedThread {
    /// Starts `body` on a new thread; false if the system would not create one.
    @discardableResult
    public static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        final class Work {
            let body: @Sendable () -> Void
            let pinned: Bool
            init(_ body: @escaping @Sendable () -> Void, pinned: Bool) {
                self.body = body
                self.pinned = pinned
            }
        }
        var attributes = pthread_attr_t()
        guard pthread_attr_init(&attributes) == 0 else { return false }
        defer { pthread_attr_destroy(&attributes) }
        let otherCPU = virt_macvtap_other_allowed_cpu(virt_macvtap_current_cpu())
        let pinned = otherCPU >= 0 && virt_macvtap_attr_pin(&attributes, otherCPU) == 0
        let work = Unmanaged.passRetained(Work(body, pinned: pinned)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, &attributes,
            { argument in
                let work = Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue()
                if work.pinned { _ = virt_macvtap_unpin_current_thread() }
                work.body()
                return nil
            }, work)
        guard created == 0 else {
            Unmanaged<Work>.fromOpaque(work).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}

/// Work a process starts on threads of their own and must wait for before it ends (a cache
/// written while the command goes on, a library loaded while arguments are parsed): a detached
/// thread is not waited for by `exit`, which would end it half done.
public final class BackgroundWork: Sendable {
    private let running = DispatchGroup()

    public init() {}

    /// Runs `body` on a new thread (`DetachedThread`), or on this one when none can be made.
    public func start(_ body: @escaping @Sendable () -> Void) {
        running.enter()
        let work: @Sendable () -> Void = { [running] in
            body()
            running.leave()
        }
        if !DetachedThread.start(work) { work() }
    }

    /// Blocks until everything `start` began is done.
    public func wait() {
        running.wait()
    }
}

/// Pauses the calling thread (a short back-off between retries; no run loop needed).
public func sleepThread(milliseconds: Int) {
    var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
    nanosleep(&request, nil)
}
