import Dispatch
import Synchronization

/// Work spread over all cores with results kept in order: linting files, parsing a host's
/// domains, scanning a fleet of hosts.
package enum Concurrently {
    /// `transform(index)` for every index in `0..<count`, run in parallel; results in index order.
    package static func map<Element: Sendable>(_ count: Int, _ transform: @Sendable (Int) -> Element) -> [Element] {
        let results = Mutex<[Element?]>(Array(repeating: nil, count: count))
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let element = transform(index)
            results.withLock { $0[index] = element }
        }
        return results.withLock { $0 }.map { $0! }
    }

    /// Like `map`, for work that can fail: the first failure (in index order) is thrown.
    package static func map<Element: Sendable, Failure: Error>(
        _ count: Int, _ transform: @Sendable (Int) throws(Failure) -> Element
    ) throws(Failure) -> [Element] {
        let results = map(count) { index -> Result<Element, Failure> in
            do throws(Failure) {
                return .success(try transform(index))
            } catch {
                return .failure(error)
            }
        }
        return try results.map { (result) throws(Failure) in try result.get() }
    }
}

/// A value made on a worker thread and handed whole to the thread that joins the work (a parsed
/// document, say): never used by two threads at once, so its type need not be `Sendable`.
package struct Handover<Value>: @unchecked Sendable {
    package let value: Value

    package init(_ value: Value) {
        self.value = value
    }
}
