internal import CLibvirt
import Dispatch
import Synchronization

#if canImport(Glibc)
    internal import Glibc
#endif

/// libvirt's default event loop, run on one background thread for the life of the process.
/// Must be registered before a connection that wants events is opened.
enum LibvirtEventLoop {
    static let started: Result<Void, LibvirtError> = start()

    private static func start() -> Result<Void, LibvirtError> {
        guard case .success(let api) = LibvirtAPI.shared else {
            return .failure(LibvirtError(code: LibvirtError.Code.notLoaded.rawValue, domain: 0, message: "libvirt is not loaded", operation: "starting libvirt's event loop"))
        }
        guard api.eventRegisterDefaultImpl() == 0 else {
            return .failure(LibvirtError.last(operation: "starting libvirt's event loop"))
        }
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { _ in
                guard case .success(let api) = LibvirtAPI.shared else { return nil }
                while true { _ = api.eventRunDefaultImpl() }
            }, nil)
        guard created == 0 else {
            return .failure(LibvirtError(code: LibvirtError.Code.notLoaded.rawValue, domain: 0, message: "cannot start a thread (errno \(created))", operation: "starting libvirt's event loop"))
        }
        pthread_detach(thread)
        return .success(())
    }
}

/// What became of a live device removal.
public enum DeviceRemovalOutcome: Sendable, Equatable {
    /// libvirt's VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED: the guest released it.
    case removed
    /// VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED: the guest refused.
    case removalFailed
    /// The connection to libvirt closed while waiting (libvirtd stopped, network lost).
    case connectionClosed
    /// Neither event within the time allowed.
    case timedOut
}

/// Listens for device-removed and removal-failed events of one domain, from before the detach
/// request is sent (so an event that arrives first is not lost) until `cancel()` or `deinit`.
public final class DeviceRemovalWatch {
    private let connection: LibvirtConnection
    private let events: RemovalEvents
    private var callbackIDs: [Int32] = []
    private var closeCallbackRegistered = false

    init(connection: LibvirtConnection, domain: LibvirtDomain) throws(LibvirtError) {
        self.connection = connection
        let events = RemovalEvents()
        self.events = events
        let api = try LibvirtAPI.get(operation: "watching device removal")
        try connection.withPointer { (connectionPointer) throws(LibvirtError) in
            try domain.withPointer { (domainPointer) throws(LibvirtError) in
                for (eventID, callback) in [
                    (VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED.rawValue, deviceRemovedCallback),
                    (VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED.rawValue, deviceRemovalFailedCallback),
                ] {
                    let opaque = Unmanaged.passRetained(events).toOpaque()
                    let id = api.connectDomainEventRegisterAny(
                        connectionPointer, domainPointer, Int32(eventID),
                        unsafeBitCast(callback, to: virConnectDomainEventGenericCallback.self), opaque, releaseEvents)
                    guard id >= 0 else {
                        Unmanaged<RemovalEvents>.fromOpaque(opaque).release()
                        let error = LibvirtError.last(operation: "registering for device-removed events of domain '\(domain.name)'")
                        cancel()
                        throw error
                    }
                    callbackIDs.append(id)
                }
            }
            // A lost connection must end the wait, not leave it to the timeout.
            let opaque = Unmanaged.passRetained(events).toOpaque()
            if api.connectRegisterCloseCallback(connectionPointer, connectionClosedCallback, opaque, releaseEvents) == 0 {
                closeCallbackRegistered = true
            } else {
                Unmanaged<RemovalEvents>.fromOpaque(opaque).release()
                api.resetLastError()
            }
        }
    }

    deinit {
        cancel()
    }

    /// Waits until the device with this alias is reported removed or failed, the connection
    /// closes, or `timeout` passes.
    public func wait(forAlias alias: String, timeout: Duration) -> DeviceRemovalOutcome {
        let components = max(timeout, .zero).components
        let nanoseconds = UInt64(components.seconds) * 1_000_000_000 + UInt64(components.attoseconds / 1_000_000_000)
        let deadline = DispatchTime(uptimeNanoseconds: DispatchTime.now().uptimeNanoseconds &+ min(nanoseconds, UInt64(Int64.max)))
        while true {
            if let outcome = events.outcome(forAlias: alias) { return outcome }
            if events.signal.wait(timeout: deadline) == .timedOut {
                return events.outcome(forAlias: alias) ?? .timedOut
            }
        }
    }

    /// Stops listening; the callbacks' references are released by libvirt.
    public func cancel() {
        guard case .success(let api) = LibvirtAPI.shared else { return }
        try? connection.withPointer { connectionPointer in
            for id in callbackIDs { _ = api.connectDomainEventDeregisterAny(connectionPointer, id) }
            if closeCallbackRegistered { _ = api.connectUnregisterCloseCallback(connectionPointer, connectionClosedCallback) }
        }
        callbackIDs = []
        closeCallbackRegistered = false
    }
}

/// Shared between the waiting thread and libvirt's event thread.
private final class RemovalEvents: Sendable {
    private struct State {
        var removed: Set<String> = []
        var failed: Set<String> = []
        var connectionClosed = false
    }
    private let state = Mutex(State())
    let signal = DispatchSemaphore(value: 0)

    func record(removed alias: String) {
        state.withLock { _ = $0.removed.insert(alias) }
        signal.signal()
    }

    func record(failed alias: String) {
        state.withLock { _ = $0.failed.insert(alias) }
        signal.signal()
    }

    func recordConnectionClosed() {
        state.withLock { $0.connectionClosed = true }
        signal.signal()
    }

    func outcome(forAlias alias: String) -> DeviceRemovalOutcome? {
        state.withLock { state in
            if state.removed.contains(alias) { return .removed }
            if state.failed.contains(alias) { return .removalFailed }
            if state.connectionClosed { return .connectionClosed }
            return nil
        }
    }
}

private typealias DeviceAliasCallback =
    @convention(c) (
        virConnectPtr?, virDomainPtr?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?
    ) -> Void

private let deviceRemovedCallback: DeviceAliasCallback = { _, _, alias, opaque in
    guard let alias, let opaque else { return }
    Unmanaged<RemovalEvents>.fromOpaque(opaque).takeUnretainedValue().record(removed: String(cString: alias))
}

private let deviceRemovalFailedCallback: DeviceAliasCallback = { _, _, alias, opaque in
    guard let alias, let opaque else { return }
    Unmanaged<RemovalEvents>.fromOpaque(opaque).takeUnretainedValue().record(failed: String(cString: alias))
}

private let connectionClosedCallback: virConnectCloseFunc = { _, _, opaque in
    guard let opaque else { return }
    Unmanaged<RemovalEvents>.fromOpaque(opaque).takeUnretainedValue().recordConnectionClosed()
}

private let releaseEvents: virFreeCallback = { opaque in
    guard let opaque else { return }
    Unmanaged<RemovalEvents>.fromOpaque(opaque).release()
}
