import ArgumentParser
import Dispatch
import MacvtapSystem
import Synchronization

/// Progress of long work on one stderr line, redrawn in place (at most ten times a second), and
/// cleared when the work ends. Silent unless stderr is a terminal, and with `--quiet`.
final class ProgressLine: Sendable {
    private struct State {
        var lastDraw: UInt64 = 0
        var drawn = false
    }

    private let enabled: Bool
    private let state = Mutex(State())

    /// `applies`: the work is long enough to be worth it (many files, hosts, NICs, addresses).
    init(quiet: Bool, applies: Bool) {
        enabled = applies && !quiet && StandardStream.error.isTerminal
    }

    func update(_ text: String) {
        guard enabled else { return }
        state.withLock { state in
            let now = DispatchTime.now().uptimeNanoseconds
            guard !state.drawn || now - state.lastDraw >= 100_000_000 else { return }
            state.lastDraw = now
            state.drawn = true
            StandardStream.error.write("\r\u{1B}[K" + text)
        }
    }

    /// `done` of `total` as `what N/M`, for a caller's callback.
    func counter(_ what: String) -> @Sendable (Int, Int) -> Void {
        { [self] done, total in update("\(what) \(done)/\(total)") }
    }

    func finish() {
        guard enabled else { return }
        state.withLock { state in
            if state.drawn { StandardStream.error.write("\r\u{1B}[K") }
            state.drawn = false
        }
    }
}
