/// The kernel's rules for interface names (dev_valid_name).
enum LinuxInterfaceName {
    static func problem(with name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > 15 { return "is \(name.utf8.count) bytes; Linux interface names have at most 15" }
        if name == "." || name == ".." { return "is not a valid interface name" }
        if name.contains("/") { return "contains '/'" }
        if name.contains(where: \.isWhitespace) { return "contains whitespace" }
        if name.contains(":") { return "contains ':'" }
        return nil
    }
}
