import MacvtapKit
import MacvtapTestSupport
import MacvtapXML
import Testing

@Suite("DomainDocument and DirectInterface decoding")
struct DomainModelTests {
    static let rich = """
        <domain type='kvm'>
          <name>vm1</name>
          <uuid>8c6f1a4e-2b1d-4c5e-9f3a-0d7e6b5a4c31</uuid>
          <devices>
            <interface type='network'>
              <mac address='52:54:00:00:00:01'/>
              <source network='default'/>
            </interface>
            <interface type='direct' trustGuestRxFilters='yes'>
              <mac address='52:54:0:0:0:2' type='static'/>
              <mac address='52:54:00:00:00:99'/>
              <source dev='eth0' mod='bridge'/>
              <target dev='tap7' managed='yes'/>
              <model type='virtio'/>
              <alias name='ua-uplink'/>
              <virtualport type='802.1Qbg'>
                <parameters managerid='11' typeid='1193047' typeidversion='2'/>
              </virtualport>
              <vlan trunk='yes'><tag id='42' nativeMode='untagged'/><tag id='43'/></vlan>
              <link state='down'/>
              <mtu size='9000'/>
              <bandwidth><inbound average='1000'/></bandwidth>
              <driver name='vhost' queues='4'/>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
              <boot order='2'/>
              <rom bar='off'/>
              <acpi index='5'/>
              <filterref filter='clean-traffic'/>
              <coalesce><rx><frames max='7'/></rx></coalesce>
              <tune><sndbuf>1600</sndbuf></tune>
              <ip address='192.0.2.5' prefix='24'/>
              <frobnicate level='11'/>
            </interface>
          </devices>
        </domain>
        """

    @Test func decodesEveryField() throws {
        let document = try DomainDocument(bytes: Array(Self.rich.utf8), fileName: "vm1.xml")
        #expect(document.name?.value == "vm1")
        #expect(document.name?.position == SourcePosition(line: 2, column: 3))
        #expect(document.uuid?.value == "8c6f1a4e-2b1d-4c5e-9f3a-0d7e6b5a4c31")
        #expect(document.hypervisorType?.value == "kvm")
        #expect(document.interfaces.count == 2)
        #expect(document.interfaces[0].type?.value == "network")
        #expect(document.interfaces[0].direct == nil)
        #expect(document.interfaces[0].macAddress == MACAddress("52:54:00:00:00:01"))

        let nic = try #require(document.interfaces[1].direct)
        #expect(nic.position == SourcePosition(line: 9, column: 5))
        #expect(nic.trustGuestRxFilters?.value == "yes")
        #expect(nic.mac?.value == "52:54:0:0:0:2")
        #expect(nic.mac?.position == SourcePosition(line: 10, column: 12))
        #expect(nic.macAddress?.description == "52:54:00:00:00:02")
        #expect(nic.macType?.value == "static")
        #expect(nic.macElementCount == 2)
        #expect(nic.source?.dev?.value == "eth0")
        #expect(nic.source?.mode == nil)
        #expect(nic.effectiveMode == .vepa)
        #expect(nic.source?.unknownAttributes.map(\.name) == ["mod"])
        #expect(nic.source?.unknownAttributes.first?.position == SourcePosition(line: 12, column: 26))
        #expect(nic.targetDev?.value == "tap7")
        #expect(nic.targetManaged?.value == "yes")
        #expect(nic.model?.value == "virtio")
        #expect(nic.alias?.value == "ua-uplink")
        #expect(nic.virtualPort?.type?.value == "802.1Qbg")
        #expect(nic.virtualPort?.parameters["managerid"]?.value == "11")
        #expect(nic.vlan?.trunk?.value == "yes")
        #expect(nic.vlan?.tags.compactMap(\.id?.value) == ["42", "43"])
        #expect(nic.vlan?.tags.first?.nativeMode?.value == "untagged")
        #expect(nic.linkState?.value == "down")
        #expect(nic.mtu?.value == "9000")
        #expect(nic.bandwidth?.firstChild(named: "inbound")?.attribute("average")?.value == "1000")
        #expect(nic.driver?.attribute("queues")?.value == "4")
        #expect(nic.address?.attribute("slot")?.value == "0x03")
        #expect(nic.bootOrder?.value == "2")
        #expect(nic.rom?.attribute("bar")?.value == "off")
        #expect(nic.acpiIndex?.value == "5")
        #expect(nic.filterRef?.value == "clean-traffic")
        #expect(nic.coalesceRxFramesMax?.value == "7")
        #expect(nic.tuneSndbuf?.value == "1600")
        #expect(nic.otherChildren.map(\.name) == ["ip"])
        #expect(nic.unknownChildren.map(\.name) == ["frobnicate"])
        #expect(nic.unknownChildren.first?.position.line == 32)
    }

    @Test func refusesOtherRootElements() throws {
        let error = try #require(throws: DomainDocumentError.self) {
            try DomainDocument(bytes: Array("<network><name>n</name></network>".utf8), fileName: "net.xml")
        }
        #expect(error.description.contains("root element is <network>, expected <domain>"))
    }

    @Test func reportsMalformedInputWithPosition() throws {
        let error = try #require(throws: DomainDocumentError.self) {
            try DomainDocument(bytes: Array("<domain>\n<name>x</domain>".utf8), fileName: "bad.xml")
        }
        #expect(error.description.hasPrefix("bad.xml:2:"))
    }
}
