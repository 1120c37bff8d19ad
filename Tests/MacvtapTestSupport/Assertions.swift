// Built only where Swift Testing is (the test build): a release build of the package compiles
// this module empty.
#if canImport(Testing)
    package import MacvtapKit
    package import MacvtapXML
    import Testing

    /// Checks shared by the unit tests and the corpus tests.
    package enum EditAssertions {
        package static let spec = DirectInterfaceSpec(
            sourceDevice: "eth0", mode: .bridge, mac: MACAddress("52:54:00:ab:cd:ef"), alias: "ua-test")

        /// Adds, checks the diff only adds lines, removes, and checks the bytes are the original's.
        /// Documents without a `<devices>` element get one on add, so they are covered by
        /// `addsIntoUnusualLayouts` instead.
        package static func assertAddThenRemoveRestores(_ bytes: [UInt8], name: String) throws {
            let document = try DomainDocument(bytes: bytes, fileName: name)
            let mac = try #require(MACAddress("02:fe:ed:00:00:01"))
            guard document.interfaces.allSatisfy({ $0.macAddress != mac }) else { return }
            guard let devices = document.xml.root?.firstChild(named: "devices"), !devices.children.isEmpty else { return }
            let added = try document.addingInterface(spec.with(mac: mac).elementSpec)
            let diff = UnifiedDiff.make(original: bytes, edited: added, originalName: "a", editedName: "b")
            let changed = diff.split(separator: "\n").dropFirst(3).filter { !$0.hasPrefix(" ") }
            #expect(changed.allSatisfy { $0.hasPrefix("+") }, "\(name): the add changed existing lines:\n\(diff)")
            #expect(changed.count == 6, "\(name): expected six added lines:\n\(diff)")

            let withNew = try DomainDocument(bytes: added, fileName: name)
            let entry = try #require(withNew.directInterfaces(withMAC: mac).first)
            #expect(withNew.interfaces.count == document.interfaces.count + 1)
            #expect(entry.direct?.source?.mode?.value == "bridge")
            let restored = try withNew.removingInterface(entry)
            let identical = restored == bytes
            #expect(identical, "\(name): add then remove did not give back the original bytes")
        }
    }

    package enum SpanAssertions {
        /// Every element's byte span starts with its tag and ends with `>`.
        package static func assertSpansMatchNames(_ document: XMLDocument) throws {
            var stack = [try #require(document.root)]
            while let element = stack.popLast() {
                let range = try #require(element.byteRange, "\(document.fileName): \(element.qualifiedName) has no span")
                let bytes = document.source[range]
                let name = Array(("<" + element.qualifiedName).utf8)
                #expect(bytes.starts(with: name), "\(document.fileName):\(element.position): span does not start with its tag")
                #expect(bytes.last == UInt8(ascii: ">"), "\(document.fileName):\(element.position): span does not end with >")
                let tag = try #require(element.startTagRange)
                #expect(document.source[tag.upperBound - 1] == UInt8(ascii: ">"))
                stack.append(contentsOf: element.children)
            }
        }
    }
#endif
