public import MacvtapSystem
public import MacvtapXML

/// An edit worked out in memory, checked, and not yet written.
public struct DomainEditPlan: Sendable {
    public var path: String
    public var original: [UInt8]
    public var edited: [UInt8]
    /// One line for the user: what changed, where.
    public var summary: String
    /// The MAC of the interface added or removed.
    public var mac: MACAddress

    public func unifiedDiff() -> String {
        // git-style labels for relative paths, so `git apply` / `patch -p1` take the diff as is.
        let absolute = path.hasPrefix("/")
        return UnifiedDiff.make(
            original: original, edited: edited, originalName: absolute ? path : "a/" + path,
            editedName: absolute ? path : "b/" + path)
    }
}

/// `virt-macvtap edit`: add or remove a direct interface in a domain XML file in place.
public enum DomainFileEditor {
    public static func load(path: String) throws(DomainEditError) -> DomainDocument {
        let xml: XMLDocument
        do {
            xml = try XMLDocument(source: .file(path))
        } catch {
            switch error {
            case .file(let fileError): throw .file(fileError)
            case .malformed(let parseError): throw .document(.malformed(parseError))
            }
        }
        do { return try DomainDocument(xml) } catch { throw .document(error) }
    }

    /// Plans adding `spec`; without a MAC, picks a random one no interface in the file uses and
    /// `ledger` does not hold.
    public static func planAdd(
        _ request: DirectInterfaceSpec, to document: DomainDocument, path: String, ledger: LedgerLocation = .resolve(nil)
    ) throws(DomainEditError) -> DomainEditPlan {
        var spec: DirectInterfaceSpec
        do { spec = try request.validated() } catch { throw .invalidRequest(error) }
        let taken = Set(document.interfaces.compactMap(\.macAddress))
        if let mac = spec.mac, let clash = document.interfaces.first(where: { $0.macAddress == mac }) {
            throw .macInUse(file: path, mac: mac, position: clash.position)
        }
        let mac: MACAddress
        if let requested = spec.mac {
            mac = requested
        } else {
            do { mac = try MACAllocator.freeQEMUAddresses(count: 1, excluding: taken, ledger: ledger)[0] } catch { throw .ledger(error) }
        }
        spec = spec.with(mac: mac)
        let edited: [UInt8]
        do { edited = try document.addingInterface(spec.elementSpec) } catch { throw .document(error) }
        let reread = try verified(edited, path: path)
        guard let added = reread.directInterfaces(withMAC: mac).first,
            reread.interfaces.count == document.interfaces.count + 1
        else {
            throw .verificationFailed(file: path, reason: "the edited document does not show the new interface")
        }
        return DomainEditPlan(
            path: path, original: document.xml.source, edited: edited,
            summary: "added interface \(mac) (source \(spec.sourceDevice), mode \(spec.mode)) at "
                + "\(path):\(added.position.line)",
            mac: mac)
    }

    /// Plans removing the one direct interface with `mac`.
    public static func planRemove(
        mac: MACAddress, from document: DomainDocument, path: String
    ) throws(DomainEditError) -> DomainEditPlan {
        let matches = document.directInterfaces(withMAC: mac)
        guard let target = matches.first else {
            throw .document(.noSuchInterface(file: path, what: "type='direct' with MAC \(mac)"))
        }
        guard matches.count == 1 else {
            throw .document(
                .ambiguousInterface(
                    file: path, what: "type='direct' with MAC \(mac)", candidates: matches.map(\.position)))
        }
        let edited: [UInt8]
        do { edited = try document.removingInterface(target) } catch { throw .document(error) }
        let reread = try verified(edited, path: path)
        guard reread.directInterfaces(withMAC: mac).isEmpty,
            reread.interfaces.count == document.interfaces.count - 1
        else {
            throw .verificationFailed(file: path, reason: "the edited document still shows the interface")
        }
        return DomainEditPlan(
            path: path, original: document.xml.source, edited: edited,
            summary: "removed interface \(mac) from \(path):\(target.position.line)", mac: mac)
    }

    /// Writes the plan atomically; on failure the file is as it was.
    public static func apply(_ plan: DomainEditPlan) throws(DomainEditError) {
        do {
            let current = try FileIO.readFile(atPath: plan.path)
            guard current == plan.original else {
                throw DomainEditError.verificationFailed(
                    file: plan.path, reason: "the file changed while it was being edited; run the command again")
            }
            try FileIO.replaceAtomically(atPath: plan.path, with: plan.edited)
        } catch let error as FileError {
            throw .file(error)
        } catch let error as DomainEditError {
            throw error
        } catch {
            throw .verificationFailed(file: plan.path, reason: "\(error)")
        }
    }

    /// Never write what does not parse back as a domain.
    private static func verified(_ bytes: [UInt8], path: String) throws(DomainEditError) -> DomainDocument {
        do {
            return try DomainDocument(bytes: bytes, fileName: path)
        } catch {
            throw .verificationFailed(file: path, reason: "the edited document does not parse: \(error)")
        }
    }
}

/// Why an edit of a domain file was refused or failed; the file is unchanged in every case.
public enum DomainEditError: Error, Sendable, CustomStringConvertible {
    case file(FileError)
    case document(DomainDocumentError)
    case invalidRequest(InterfaceSpecError)
    case macInUse(file: String, mac: MACAddress, position: SourcePosition)
    case verificationFailed(file: String, reason: String)
    case ledger(LedgerError)

    public var description: String {
        switch self {
        case .file(let error): error.description
        case .document(let error): error.description
        case .invalidRequest(let error): error.description
        case .macInUse(let file, let mac, let position):
            "\(file):\(position.line): MAC \(mac) is already used by an interface in this domain; "
                + "choose another, or leave the MAC out"
        case .verificationFailed(let file, let reason): "\(file): \(reason); nothing was written"
        case .ledger(let error): error.description
        }
    }

    /// Whether the failure is the system's (I/O) rather than the input's.
    public var isSystemFailure: Bool {
        switch self {
        case .file, .ledger: true
        default: false
        }
    }

    /// Whether a value the user typed is invalid (a usage error, exit 2, in every command).
    public var isInvalidValue: Bool {
        if case .invalidRequest = self { return true }
        return false
    }
}
