import Glibc
import MacvtapSystem

#if FUZZING
    /// libFuzzer's driver, from the runtime that `-sanitize=fuzzer` links. SwiftPM renames an
    /// executable's `main`, so libFuzzer's own `main` cannot be used; we start its driver instead.
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    /// What libFuzzer calls for every input (the runtime's own `main` refers to it too).
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        FuzzHarness.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }

    @main
    struct FuzzLint {
        static func main() {
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
        }
    }
#else
    /// Without libFuzzer: replays the inputs given as files (the committed corpus and every crash
    /// found so far), so CI checks them with the same invariants.
    @main
    struct ReplayFuzzInputs {
        static func main() {
            let paths = CommandLine.arguments.dropFirst()
            for path in paths {
                do {
                    FuzzHarness.run(try FileIO.readFile(atPath: path))
                } catch {
                    StandardStream.error.write("virt-macvtap-fuzz: \(error)\n")
                    exit(2)
                }
            }
            StandardStream.output.write("virt-macvtap-fuzz: \(paths.count) inputs replayed, every invariant held\n")
        }
    }
#endif
