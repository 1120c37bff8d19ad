/// What libvirt's RelaxNG grammar (`domaincommon.rng`, define `interface`, group `direct`, and
/// `interface-options`) allows in a direct interface, with values to try for each: valid ones,
/// boundaries, and invalid ones. The oracle turns each into one change to a good interface.
/// `OracleTests` checks that every element the installed grammar allows in an interface has a
/// point here, so the table cannot silently fall behind libvirt's schema.
public enum OracleGrammar {
    /// One change to the good interface.
    public struct Mutation: Sendable {
        /// Extra attributes on `<interface>`.
        var interfaceAttributes = ""
        /// The whole `<source>` element; `{mode}` is replaced by the mode under test; nil = good one.
        var source: String?
        /// The whole `<mac>` element; "" = none; nil = the good one.
        var mac: String?
        /// The whole `<model>` element; "" = none; nil = virtio.
        var model: String?
        /// Children added after `<model>`.
        var child = ""
        /// Devices added after the interface.
        var beside = ""

        func devices(_ mode: String) -> String {
            let sourceElement = (source ?? "<source dev='eth0' mode='{mode}'/>").replacing("{mode}", with: mode)
            let parts = [mac ?? "<mac address='52:54:00:0a:00:01'/>", sourceElement, model ?? "<model type='virtio'/>", child]
            let body = parts.filter { !$0.isEmpty }.joined(separator: "\n      ")
            let attributes = interfaceAttributes.isEmpty ? "" : " " + interfaceAttributes
            let interface = "    <interface type='direct'\(attributes)>\n      \(body)\n    </interface>"
            return beside.isEmpty ? interface : interface + "\n" + beside
        }
    }

    /// An element or attribute of the grammar, and the values tried for it.
    public struct Point: Sendable {
        public var name: String
        /// The grammar elements the point exercises (for the coverage check).
        public var elements: [String]
        var mutations: [Mutation]
    }

    static func child(_ text: String) -> Mutation { Mutation(child: text) }
    static func source(_ text: String) -> Mutation { Mutation(source: text) }
    static func mac(_ text: String) -> Mutation { Mutation(mac: text) }
    static func model(_ text: String) -> Mutation { Mutation(model: text) }
    static func beside(_ text: String) -> Mutation { Mutation(beside: text) }

    static let secondNIC = "    <interface type='direct'>\n      <mac address='52:54:00:0a:00:02'/>\n      <source dev='eth1' mode='bridge'/>\n      <model type='virtio'/>\n"

    public static let points: [Point] = [
        Point(
            name: "interface@trustGuestRxFilters", elements: ["interface"],
            mutations: [
                Mutation(interfaceAttributes: "trustGuestRxFilters='yes'"), Mutation(interfaceAttributes: "trustGuestRxFilters='no'"),
                Mutation(interfaceAttributes: "trustGuestRxFilters='maybe'"),
                Mutation(interfaceAttributes: "trustGuestRxFilters='yes'", model: "<model type='e1000'/>"),
            ]),
        Point(
            name: "source@dev", elements: ["source"],
            mutations: [
                source("<source dev='eth1' mode='{mode}'/>"), source("<source dev='' mode='{mode}'/>"),
                source("<source dev='a-name-of-16chrs' mode='{mode}'/>"), source("<source dev='eth0/x' mode='{mode}'/>"),
                source("<source mode='{mode}'/>"), source("<source dev='lo' mode='{mode}'/>"),
                source("<source dev='nosuchdev0' mode='{mode}'/>"),
            ]),
        Point(
            name: "source@mode", elements: ["source"],
            mutations: [
                source("<source dev='eth0'/>"), source("<source dev='eth0' mode='VEPA'/>"), source("<source dev='eth0' mode='source'/>"),
                source("<source dev='eth0' mode=''/>"),
            ]),
        Point(
            name: "source@other", elements: ["source"],
            mutations: [
                source("<source dev='eth0' mod='bridge'/>"), source("<source dev='eth0' mode='{mode}' network='lan'/>"),
                source("<source dev='eth0' mode='{mode}' network='lan' portgroup='web'/>"),
            ]),
        Point(name: "source-missing", elements: ["source"], mutations: [source("")]),
        Point(
            name: "source-twice", elements: ["source"],
            mutations: [
                source("<source dev='eth0' mode='{mode}'/>\n      <source dev='eth1' mode='{mode}'/>")
            ]),
        Point(
            name: "mac@address", elements: ["mac"],
            mutations: [
                mac("<mac address='52:54:0:a:0:1'/>"), mac("<mac address='53:54:00:0a:00:01'/>"), mac("<mac address='ff:ff:ff:ff:ff:ff'/>"),
                mac("<mac address='00:00:00:00:00:00'/>"), mac("<mac address='fe:54:00:0a:00:01'/>"), mac("<mac address='52-54-00-0a-00-01'/>"),
                mac("<mac address='52:54:00:0A:00:01'/>"), mac("<mac address='00:16:3e:0a:00:01'/>"), mac("<mac address='00:1a:4a:0a:00:01'/>"),
                mac("<mac address='zz'/>"), mac("<mac address='52:54:00:0a:00:01:02'/>"), mac(""),
            ]),
        Point(
            name: "mac@other", elements: ["mac"],
            mutations: [
                mac("<mac address='52:54:00:0a:00:01' type='static'/>"), mac("<mac address='52:54:00:0a:00:01' check='no'/>"),
                mac("<mac address='52:54:00:0a:00:01' type='bogus'/>"), mac("<mac address='52:54:00:0a:00:01' colour='blue'/>"),
                mac("<mac address='52:54:00:0a:00:01'/>\n      <mac address='52:54:00:0a:00:09'/>"),
            ]),
        Point(
            name: "model@type", elements: ["model"],
            mutations: [
                model("<model type='e1000'/>"), model("<model type='rtl8139'/>"), model("<model type='e1000e'/>"),
                model("<model type='virtio net'/>"), model("<model type='virtio-net-pci'/>"), model("<model type='bogus'/>"),
                model(""),
            ]),
        Point(
            name: "virtualport", elements: ["virtualport", "parameters"],
            mutations: [
                child("<virtualport type='802.1Qbg'><parameters managerid='11' typeid='1193047' typeidversion='2'/></virtualport>"),
                child("<virtualport type='802.1Qbg'><parameters managerid='11' typeidversion='2'/></virtualport>"),
                child("<virtualport type='802.1Qbg'><parameters managerid='256' typeid='1193047' typeidversion='2'/></virtualport>"),
                child("<virtualport type='802.1Qbg'><parameters managerid='0' typeid='1193047' typeidversion='2'/></virtualport>"),
                child("<virtualport type='802.1Qbh'><parameters profileid='finance'/></virtualport>"),
                child("<virtualport type='802.1Qbh'><parameters profileid='a-profile-id-that-is-forty-characters-x'/></virtualport>"),
                child("<virtualport type='802.1Qbh'><parameters profileid='finance' managerid='1'/></virtualport>"),
                child("<virtualport type='openvswitch'/>"),
                child("<virtualport type='midonet'><parameters interfaceid='0b3e8a2c-5f33-4dbc-b3a6-0b0f7a0a3f8e'/></virtualport>"),
                child("<virtualport><parameters profileid='finance'/></virtualport>"), child("<virtualport type='bogus'/>"),
            ]),
        Point(
            name: "vlan", elements: ["vlan", "tag"],
            mutations: [
                child("<vlan><tag id='42'/></vlan>"), child("<vlan><tag id='4095'/></vlan>"), child("<vlan><tag id='4096'/></vlan>"),
                child("<vlan trunk='yes'><tag id='42'/><tag id='43'/></vlan>"), child("<vlan><tag id='42'/><tag id='43'/></vlan>"),
                child("<vlan trunk='no'><tag id='42'/></vlan>"), child("<vlan trunk='yes'><tag id='42' nativeMode='untagged'/><tag id='43'/></vlan>"),
                child("<vlan/>"),
            ]),
        Point(
            name: "bandwidth", elements: ["bandwidth", "inbound", "outbound"],
            mutations: [
                child("<bandwidth><inbound average='1000' peak='5000' burst='1024'/><outbound average='128'/></bandwidth>"),
                child("<bandwidth><inbound peak='5000'/></bandwidth>"), child("<bandwidth><inbound average='1000' floor='200'/></bandwidth>"),
                child("<bandwidth><inbound average='0'/></bandwidth>"),
            ]),
        Point(
            name: "link@state", elements: ["link"],
            mutations: [
                child("<link state='up'/>"), child("<link state='down'/>"), child("<link state='default'/>"),
            ]),
        Point(name: "mtu", elements: ["mtu"], mutations: [child("<mtu size='1500'/>"), child("<mtu size='x'/>")]),
        Point(
            name: "coalesce", elements: ["coalesce", "rx", "frames"],
            mutations: [
                child("<coalesce><rx><frames max='7'/></rx></coalesce>")
            ]),
        Point(
            name: "target", elements: ["target"],
            mutations: [
                child("<target dev='guest-net0'/>"), child("<target dev='macvtap7'/>"), child("<target dev='vnet3'/>"),
                child("<target dev='macvlan%d'/>"), child("<target dev='a-name-of-16chrs'/>"), child("<target dev='guest-net0' managed='no'/>"),
                child("<target dev='a/b'/>"),
            ]),
        Point(name: "guest", elements: ["guest"], mutations: [child("<guest dev='eth7'/>"), child("<guest actual='eth7'/>")]),
        Point(
            name: "alias", elements: ["alias"],
            mutations: [
                child("<alias name='ua-net0'/>"), child("<alias name='net0'/>"), child("<alias name='ua-a.b'/>"),
            ]),
        Point(
            name: "acpi@index", elements: ["acpi"],
            mutations: [
                child("<acpi index='1'/>"), child("<acpi index='0'/>"), child("<acpi index='16383'/>"), child("<acpi index='16384'/>"),
            ]),
        Point(
            name: "address", elements: ["address"],
            mutations: [
                child("<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>"), child("<address type='pci'/>"),
                child("<address type='pci' domain='0x0000' bus='0x00' slot='0x00' function='0x0'/>"),
                child("<address type='pci' domain='0x0000' bus='0x00' slot='0x20' function='0x0'/>"),
                child("<address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>"),
            ]),
        Point(name: "boot@order", elements: ["boot"], mutations: [child("<boot order='1'/>"), child("<boot order='0'/>")]),
        Point(
            name: "rom", elements: ["rom"],
            mutations: [
                child("<rom bar='off'/>"), child("<rom enabled='no'/>"), child("<rom enabled='no' bar='on'/>"),
                child("<rom file='/usr/share/ipxe/does-not-exist.rom'/>"),
            ]),
        Point(
            name: "driver", elements: ["driver", "host", "guest"],
            mutations: [
                child("<driver name='vhost' queues='4'/>"), child("<driver name='qemu'/>"), child("<driver name='vhost' txmode='iothread'/>"),
                child("<driver rx_queue_size='256' tx_queue_size='256'/>"), child("<driver rx_queue_size='255'/>"),
                child("<driver iommu='on'/>"), child("<driver packed='on'/>"), child("<driver><host csum='off'/></driver>"),
                child("<driver name='vfio'/>"), child("<driver name='bogus'/>"),
                Mutation(model: "<model type='e1000'/>", child: "<driver iommu='on'/>"),
            ]),
        Point(
            name: "driver@queues", elements: ["driver"],
            mutations: [
                child("<driver queues='1'/>"), child("<driver queues='0'/>"), child("<driver name='vhost' queues='8'/>"),
                child("<driver queues='x'/>"), child("<driver rss='on'/>"), child("<driver event_idx='off' ioeventfd='on'/>"),
                child("<driver><host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off'/><guest csum='off'/></driver>"),
            ]),
        Point(
            name: "model@virtio-variants", elements: ["model"],
            mutations: [
                model("<model type='virtio-transitional'/>"), model("<model type='virtio-non-transitional'/>"),
                model("<model type='vmxnet3'/>"),
            ]),
        Point(
            name: "source@dev-vlan-subinterface", elements: ["source"],
            mutations: [
                source("<source dev='eth0.42' mode='{mode}'/>")
            ]),
        Point(name: "boot@loadparm", elements: ["boot"], mutations: [child("<boot order='1' loadparm='SYSTEM1'/>")]),
        Point(
            name: "link+mode", elements: ["link", "mac"],
            mutations: [
                Mutation(mac: "<mac address='02:00:00:0a:00:01'/>", child: "<link state='down'/>"),
                Mutation(mac: "<mac address='52:54:00:0a:00:01' type='generated'/>", child: "<alias name='ua-lan'/>"),
            ]),
        Point(
            name: "bandwidth@boundary", elements: ["bandwidth", "outbound"],
            mutations: [
                child("<bandwidth><outbound average='1'/></bandwidth>"),
                child("<bandwidth><outbound average='1000' burst='0'/></bandwidth>"),
            ]),
        Point(
            name: "target+alias", elements: ["target", "alias"],
            mutations: [
                child("<target dev='web01-lan'/><alias name='ua-web01-lan'/>"),
                child("<target dev='lan%d'/>"),
            ]),
        Point(
            name: "acpi+address", elements: ["acpi", "address"],
            mutations: [
                child("<acpi index='7'/><address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>"),
                child("<address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x1'/>"),
            ]),
        Point(
            name: "tune", elements: ["tune", "sndbuf"],
            mutations: [
                child("<tune><sndbuf>1600</sndbuf></tune>"), child("<tune><sndbuf>0</sndbuf></tune>"), child("<tune><sndbuf>x</sndbuf></tune>"),
            ]),
        Point(name: "filterref", elements: ["filterref"], mutations: [child("<filterref filter='clean-traffic'/>")]),
        Point(name: "ip", elements: ["ip"], mutations: [child("<ip address='192.0.2.5' prefix='24'/>")]),
        Point(name: "route", elements: ["route"], mutations: [child("<route family='ipv4' address='198.51.100.0' prefix='24' gateway='192.0.2.1'/>")]),
        Point(
            name: "script", elements: ["script", "downscript"],
            mutations: [
                child("<script path='/etc/qemu-ifup'/>"), child("<downscript path='/etc/qemu-ifdown'/>"),
            ]),
        Point(name: "port", elements: ["port"], mutations: [child("<port isolated='yes'/>"), child("<port isolated='no'/>")]),
        Point(
            name: "teaming", elements: ["teaming"],
            mutations: [
                child("<teaming type='persistent'/>"), child("<teaming type='transient' persistent='ua-net0'/>"),
                Mutation(model: "<model type='e1000'/>", child: "<teaming type='persistent'/>"),
            ]),
        Point(
            name: "backend", elements: ["backend"],
            mutations: [
                child("<backend tap='/dev/net/tun' vhost='/dev/vhost-net'/>"), child("<backend type='passt'/>"),
            ]),
        Point(name: "backenddomain", elements: ["backenddomain"], mutations: [child("<backenddomain name='dom0'/>")]),
        Point(
            name: "portForward", elements: ["portForward", "range"],
            mutations: [
                child("<portForward proto='tcp'><range start='2022' to='22'/></portForward>")
            ]),
        Point(name: "unknown-element", elements: [], mutations: [child("<foo/>")]),
        Point(
            name: "beside: boot order", elements: ["boot"],
            mutations: [
                Mutation(child: "<boot order='1'/>", beside: "    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/><boot order='1'/></disk>"),
                Mutation(child: "<boot order='1'/>", beside: "    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/><boot order='2'/></disk>"),
            ]),
        Point(
            name: "beside: alias", elements: ["alias"],
            mutations: [
                Mutation(child: "<alias name='ua-net0'/>", beside: secondNIC + "      <alias name='ua-net0'/>\n    </interface>"),
                Mutation(child: "<alias name='ua-net0'/>", beside: "    <input type='tablet' bus='usb'><alias name='ua-net0'/></input>"),
            ]),
        Point(
            name: "beside: acpi index", elements: ["acpi"],
            mutations: [
                Mutation(child: "<acpi index='1'/>", beside: secondNIC + "      <acpi index='1'/>\n    </interface>"),
                Mutation(child: "<acpi index='1'/>", beside: secondNIC + "      <acpi index='2'/>\n    </interface>"),
            ]),
        Point(
            name: "beside: pci address", elements: ["address"],
            mutations: [
                Mutation(
                    child: "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>",
                    beside: secondNIC + "      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>\n    </interface>"),
                Mutation(child: "<address type='pci'/>", beside: secondNIC + "      <address type='pci'/>\n    </interface>"),
                Mutation(
                    child: "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>",
                    beside: "    <sound model='ich6'><address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></sound>"),
            ]),
        Point(
            name: "beside: mac", elements: ["mac"],
            mutations: [
                Mutation(beside: "    <interface type='user'><mac address='52:54:00:0a:00:01'/><model type='virtio'/></interface>"),
                Mutation(beside: "    <interface type='direct'><mac address='52:54:00:0a:00:01'/><source dev='eth1' mode='bridge'/><model type='virtio'/></interface>"),
                Mutation(beside: "    <interface type='direct'><mac address='52:54:00:0a:00:01'/><source dev='eth0' mode='bridge'/><model type='virtio'/></interface>"),
            ]),
        Point(
            name: "beside: target", elements: ["target"],
            mutations: [
                Mutation(child: "<target dev='guest-net0'/>", beside: secondNIC + "      <target dev='guest-net0'/>\n    </interface>")
            ]),
        // Boundary values of one attribute: empty, blanks, case, punctuation in names, the largest
        // accepted value and one past it (libvirt often takes empty or zero as "absent").
        Point(
            name: "boundary: source@dev", elements: ["source"],
            mutations: [
                source("<source dev=' eth0' mode='{mode}'/>"), source("<source dev='eth0 ' mode='{mode}'/>"),
                source("<source dev='eth0:1' mode='{mode}'/>"), source("<source dev='eth0@x' mode='{mode}'/>"),
                source("<source dev='ETH0' mode='{mode}'/>"), source("<source dev='a-name-of-15chr' mode='{mode}'/>"),
            ]),
        Point(
            name: "boundary: source@mode", elements: ["source"],
            mutations: [
                source("<source dev='eth0' mode=' bridge'/>"), source("<source dev='eth0' mode='Bridge'/>"),
                source("<source dev='eth0' mode='PASSTHROUGH'/>"),
            ]),
        Point(
            name: "boundary: values", elements: ["link", "acpi", "boot", "driver", "model", "mac"],
            mutations: [
                child("<link state=''/>"), child("<link state='UP'/>"), child("<acpi index=''/>"), child("<boot order=''/>"),
                child("<driver queues=''/>"), child("<driver rx_queue_size='1024'/>"), child("<driver rx_queue_size='2048'/>"),
                child("<driver tx_queue_size='1024'/>"), child("<driver tx_queue_size='2048'/>"), child("<driver queues='1024'/>"),
                child("<driver queues='1025'/>"), model("<model type=''/>"), model("<model type='VIRTIO'/>"),
                mac("<mac address=' 52:54:00:0a:00:01'/>"), mac("<mac address=''/>"),
                Mutation(interfaceAttributes: "trustGuestRxFilters='YES'"), Mutation(interfaceAttributes: "trustGuestRxFilters=''"),
            ]),
        // Names libvirt owns: dropped at define and chosen anew at start (vif only for Xen).
        Point(
            name: "target: owned names", elements: ["target"],
            mutations: [
                child("<target dev='VNET7'/>"), child("<target dev='vif3'/>"), child("<target dev='macvtap'/>"), child("<target dev=''/>"),
                child("<target dev='vnet-a-name-longer-than-15'/>"),
            ]),
        Point(
            name: "beside: owned target", elements: ["target"],
            mutations: ["vnet7", "macvtap9", "macvlan2", "vif3", "VNET7"].map { name in
                Mutation(child: "<target dev='\(name)'/>", beside: secondNIC + "      <target dev='\(name)'/>\n    </interface>")
            }),
        // Other interface types without the <source> they require, beside the direct NIC.
        Point(
            name: "beside: no source", elements: ["source"],
            mutations: [
                beside("    <interface type='bridge'><model type='virtio'/></interface>"),
                beside("    <interface type='network'><model type='virtio'/></interface>"),
                beside("    <interface type='network'><source portgroup='web'/><model type='virtio'/></interface>"),
                beside("    <interface type='bridge'><source/><model type='virtio'/></interface>"),
                beside("    <interface type='vhostuser'><model type='virtio'/></interface>"),
                beside("    <interface type='udp'><model type='virtio'/></interface>"),
                beside("    <interface type='user'><model type='virtio'/></interface>"),
            ]),
        // Two and three NICs on one source device, in every combination of modes.
        Point(
            name: "beside: shared device", elements: ["source"],
            mutations: ["bridge", "vepa", "private", "passthrough"].map { other in
                beside("    <interface type='direct'><mac address='52:54:00:0a:00:02'/><source dev='eth0' mode='\(other)'/><model type='virtio'/></interface>")
            }
                + [["bridge", "vepa"], ["passthrough", "bridge"], ["private", "private"]].map { pair in
                    beside(
                        pair.enumerated().map { index, other in
                            "    <interface type='direct'><mac address='52:54:00:0a:00:0\(index + 2)'/><source dev='eth0' mode='\(other)'/><model type='virtio'/></interface>"
                        }.joined(separator: "\n"))
                }),
        // Every address type on every common model.
        Point(
            name: "address on models", elements: ["address", "model"],
            mutations: [
                "<address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>", "<address type='usb' bus='0' port='1'/>",
                "<address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0002'/>", "<address type='isa' iobase='0x300' irq='5'/>",
                "<address type='virtio-mmio'/>", "<address type='spapr-vio' reg='0x3000'/>",
                "<address type='drive' controller='0' bus='0' target='0' unit='1'/>", "<address type='virtio-serial' controller='0' bus='0' port='2'/>",
            ].flatMap { address in
                ["virtio", "e1000", "rtl8139", "e1000e"].map { Mutation(model: "<model type='\($0)'/>", child: address) }
            }),
        Point(
            name: "beside: passthrough", elements: ["source"],
            mutations: [
                Mutation(beside: "    <interface type='direct'><mac address='52:54:00:0a:00:02'/><source dev='eth0' mode='passthrough'/><model type='virtio'/></interface>")
            ]),
    ]
}
