/// A libvirt release as the bundled schemas are named: major and minor (`9.0`, `11.3`).
public struct LibvirtRelease: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// `9.0`, `11.3`, or a full version (`11.3.0`, whose micro number is dropped); nil otherwise.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count),
            let major = Int(parts[0]), let minor = Int(parts[1]), major >= 0, minor >= 0,
            parts.count == 2 || Int(parts[2]).map({ $0 >= 0 }) == true
        else { return nil }
        self.init(major: major, minor: minor)
    }

    /// From libvirt's version number (`virGetVersion`: major × 1,000,000 + minor × 1,000 + micro).
    public init(libraryVersion: UInt) {
        self.init(major: Int(libraryVersion / 1_000_000), minor: Int(libraryVersion / 1_000 % 1_000))
    }

    public var description: String { "\(major).\(minor)" }

    /// Written as text (`"11.3"`), as the configuration file has it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let release = LibvirtRelease(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a libvirt release (write it as \"11.3\")")
        }
        self = release
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The release whose verdicts the oracle's second host gives (where they differ from 9.0's).
    public static let libvirt11 = LibvirtRelease(major: 11, minor: 3)

    public static func < (lhs: LibvirtRelease, rhs: LibvirtRelease) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}
