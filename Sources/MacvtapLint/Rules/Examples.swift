/// Builders for rule examples, so each example shows only what it is about.
package enum Example {
    /// A whole QEMU/KVM domain whose `<devices>` holds `devices`.
    package static func domain(_ devices: String, type: String = "kvm", name: String = "vm1", uuid: String? = nil) -> String {
        let uuidLine = uuid.map { "\n  <uuid>\($0)</uuid>" } ?? ""
        return """
            <domain type='\(type)'>
              <name>\(name)</name>\(uuidLine)
              <memory unit='MiB'>512</memory>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices>
            \(devices)
              </devices>
            </domain>
            """
    }

    /// A domain with one direct interface whose children are `body`; `markInterface` puts the
    /// finding marker (`↓`) on the `<interface>` element itself.
    package static func nic(_ body: String, attributes: String = "", type: String = "kvm", name: String = "vm1", markInterface: Bool = false) -> String {
        domain(directInterface(body, attributes: attributes, markInterface: markInterface), type: type, name: name)
    }

    package static func directInterface(_ body: String, attributes: String = "", markInterface: Bool = false) -> String {
        "    \(markInterface ? "↓" : "")<interface type='direct'\(attributes.isEmpty ? "" : " " + attributes)>\n      \(body)\n    </interface>"
    }

    /// Where a finding about `goodBody` points: the MAC's address or the source's device.
    package enum Mark { case mac, source }

    /// A well-formed direct interface body with a MAC, to which an example adds one thing.
    package static func goodBody(mac: String = "52:54:00:00:00:01", dev: String = "eth0", mode: String = "bridge", mark: Mark? = nil) -> String {
        "<mac \(mark == .mac ? "↓" : "")address='\(mac)'/><source \(mark == .source ? "↓" : "")dev='\(dev)' mode='\(mode)'/><model type='virtio'/>"
    }
}
