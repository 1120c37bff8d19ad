public import ArgumentParser
public import MacvtapKit

// Values are parsed once, at the edge, into their types; a bad value gets swift-argument-parser's
// own error (exit 2), which names the option and, for enumerations, the values it takes.

extension MACAddress: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }
}

/// `--libvirt-version`: a release whose schemas ship with the tool (`9.0`, `11.3`); any other
/// is argument-parser's usage error, which lists the bundled ones.
extension LibvirtRelease: ExpressibleByArgument {
    public init?(argument: String) {
        guard let release = LibvirtRelease(argument), LibvirtSchemas.bundledReleases()[release] != nil else { return nil }
        self = release
    }

    public static var allValueStrings: [String] { LibvirtSchemas.bundledReleases().keys.sorted().map(\.description) }
}

extension MacvtapMode: ExpressibleByArgument {}
extension LinkState: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}
extension LintFormat: ExpressibleByArgument {}
extension MACReports.Format: ExpressibleByArgument {}

/// `--mac`: a MAC, or `auto` (a free one chosen by the allocator).
enum MACChoice: ExpressibleByArgument, Equatable {
    case auto
    case address(MACAddress)

    init?(argument: String) {
        if argument == "auto" {
            self = .auto
        } else if let mac = MACAddress(argument) {
            self = .address(mac)
        } else {
            return nil
        }
    }

    var defaultValueDescription: String {
        switch self {
        case .auto: "auto"
        case .address(let mac): mac.description
        }
    }

    /// The address asked for; nil for `auto`.
    var address: MACAddress? {
        if case .address(let mac) = self { return mac }
        return nil
    }
}

/// `--vlan N`: an 802.1Q VLAN id, 1–4094 (0 and 4095 are reserved).
struct VLANID: ExpressibleByArgument, Equatable {
    var value: Int

    init?(argument: String) {
        guard let value = Int(argument), (1...4094).contains(value) else { return nil }
        self.value = value
    }
}

/// A non-negative, finite number of seconds (`--timeout`).
struct Seconds: ExpressibleByArgument, Equatable {
    var value: Double

    init(_ value: Double) {
        self.value = value
    }

    init?(argument: String) {
        guard let value = Double(argument), value >= 0, value.isFinite else { return nil }
        self.value = value
    }

    var defaultValueDescription: String { value == value.rounded() ? String(Int(value)) : String(value) }
    var duration: Duration { .milliseconds(Int(value * 1000)) }
}

/// `--persist auto|networkd|networkmanager|ifupdown`: nil stack = detect it.
struct PersistChoice: ExpressibleByArgument {
    var stack: NetworkStack?

    init?(argument: String) {
        if argument == "auto" {
            stack = nil
        } else if let stack = NetworkStack(rawValue: argument) {
            self.stack = stack
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { ["auto"] + NetworkStack.allCases.map(\.rawValue) }
}

/// `KEY=VALUE` options (`--host NAME=GLOB`, `--map SRC=DST`): both sides non-empty, split at
/// the first `=`.
protocol KeyValueArgument: ExpressibleByArgument {
    init(key: String, value: String)
}

extension KeyValueArgument {
    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(key: parts[0], value: parts[1])
    }
}

/// `--host NAME=GLOB`.
struct HostPattern: KeyValueArgument {
    var name: String
    var glob: String

    init(key: String, value: String) {
        name = key
        glob = value
    }
}

/// `--map SRC=DST`.
struct DeviceMapping: KeyValueArgument {
    var source: String
    var destination: String

    init(key: String, value: String) {
        source = key
        destination = value
    }
}

extension LedgerLocation: ExpressibleByArgument {
    public init?(argument: String) {
        guard !argument.isEmpty else { return nil }
        self.init(argument)
    }

    public var defaultValueDescription: String { description }
}
