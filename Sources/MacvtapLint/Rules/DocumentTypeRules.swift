import MacvtapXML

/// External entities and DTDs: the classic XXE vector. Neither libvirt nor virt-macvtap loads
/// them (both parse with XML_PARSE_NONET and without entity loading), so each reference reads
/// as empty text: what the author meant is lost, whatever it pointed at.
public struct XMLExternalEntityRule: DocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "xml-external-entity", name: "External entity or DTD",
        summary: "The DOCTYPE names an external DTD or declares an entity whose content is in another file or URL.",
        rationale: "libvirt parses with no network and no entity loading, and so does virt-macvtap: nothing is "
            + "fetched or read, and every reference to such an entity becomes empty text (a <name>&x;</name> "
            + "is an empty name). The resource is never named in our output either.",
        severity: .error, enforcement: .silentlyDropped, reference: "—",
        triggering: [
            "↓<!DOCTYPE domain [ <!ENTITY host SYSTEM 'file:///etc/hostname'> ]>\n"
                + Example.nic(Example.goodBody()),
            "↓<!DOCTYPE domain SYSTEM 'http://192.0.2.1/domain.dtd'>\n" + Example.nic(Example.goodBody()),
            "↓<!DOCTYPE domain [ <!ENTITY % p SYSTEM 'file:///etc/hostname'> %p; ]>\n"
                + Example.nic(Example.goodBody()),
        ],
        nonTriggering: [
            Example.nic(Example.goodBody()),
            "<!DOCTYPE domain [ <!ENTITY dev 'eth0'> ]>\n" + Example.nic(Example.goodBody()),
        ])

    public func check(_ document: LintDocument) -> [Violation] {
        guard let declaration = document.domain.xml.documentTypeDeclaration else { return [] }
        var violations: [Violation] = []
        if declaration.hasExternalSubset {
            violations.append(
                Violation(
                    at: declaration.position, "the DOCTYPE names an external DTD, which is never loaded",
                    fix: "remove the DOCTYPE: libvirt does not use DTDs"))
        }
        for entity in declaration.entities where entity.isExternal {
            let kind = entity.isParameter ? "parameter entity '%\(entity.name);'" : "entity '&\(entity.name);'"
            violations.append(
                Violation(
                    at: declaration.position,
                    "\(kind) refers to an external resource, which is never loaded; every reference to it is empty",
                    fix: "write the value itself where the entity is used, and remove the DOCTYPE"))
        }
        return violations
    }
}

/// An internal DTD subset: harmless to parse, but libvirt keeps none of it.
public struct XMLDoctypeRule: DocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "xml-doctype", name: "DOCTYPE in domain XML",
        summary: "The document has a <!DOCTYPE> with an internal subset (entity or element declarations).",
        rationale: "libvirt ignores DTDs: after define, virsh dumpxml shows neither the declarations nor the entity "
            + "references, only libvirt's own rendering of the values. Files that rely on entities drift from what "
            + "the host runs.",
        severity: .warning, enforcement: .silentlyDropped, reference: "—",
        triggering: ["↓<!DOCTYPE domain [ <!ENTITY dev 'eth0'> ]>\n" + Example.nic(Example.goodBody())],
        nonTriggering: [
            Example.nic(Example.goodBody()),
            "<!DOCTYPE domain SYSTEM 'http://192.0.2.1/domain.dtd'>\n" + Example.nic(Example.goodBody()),
        ])

    public func check(_ document: LintDocument) -> [Violation] {
        guard let declaration = document.domain.xml.documentTypeDeclaration,
            !declaration.hasExternalSubset, !declaration.entities.contains(where: \.isExternal)
        else { return [] }
        return [
            Violation(
                at: declaration.position, "libvirt ignores the DOCTYPE and keeps none of its declarations",
                fix: "write the values themselves and remove the DOCTYPE")
        ]
    }
}
