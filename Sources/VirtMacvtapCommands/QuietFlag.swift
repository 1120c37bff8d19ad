import ArgumentParser

/// `--quiet` for the commands with long work.
struct QuietFlag: ParsableArguments {
    @Flag(name: .long, help: "No progress line on a terminal.")
    var quiet = false
}
