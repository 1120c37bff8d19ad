/// Every rule, in documentation order. Adding a rule = one type + one line here.
public enum RuleRegistry {
    public static let documentRules: [any DocumentRule.Type] = [
        MACUnparsableRule.self, MACMulticastRule.self, MACAllZeroRule.self, MACGloballyAdministeredRule.self,
        MACForeignOUIRule.self, MACFEPrefixRule.self, MACNonCanonicalRule.self, MACUnknownAttributeRule.self,
        MACDuplicateInDomainRule.self,
        SourceMissingRule.self, SourceDeviceNameRule.self, SourceModeInvalidRule.self, SourceUnknownAttributeRule.self,
        DuplicateChildElementRule.self,
        VirtualPortRule.self, VirtualPortIgnoredRule.self, VLANRule.self, VLANWithoutPassthroughRule.self,
        BandwidthRule.self, LinkStateRule.self, ModelRule.self, ModelMissingRule.self, UnsupportedOnDirectRule.self,
        TargetNameRule.self, TargetNameUnusableRule.self, AliasRule.self, NumericAttributeRule.self, ROMAndPCIRule.self, AddressTypeRule.self, VirtioOptionsRule.self,
        TeamingRule.self, UnknownElementRule.self, TrustRxFiltersNoEffectRule.self, TrustRxFiltersSecurityRule.self,
        AttributeValueRule.self, ModelUnknownRule.self, HotplugRefusedRule.self, PCIAddressBusRule.self, VhostUserSharedMemoryRule.self,
        LiveDumpRule.self, AliasDuplicateRule.self, TargetDuplicateRule.self, BootOrderRule.self, ACPIIndexDuplicateRule.self,
        PCIAddressDuplicateRule.self,
        ExternalEntityRule.self, DocumentTypeRule.self,
    ]

    /// Rules for `<network>` documents (macvtap forward modes); `VEPARule` speaks for networks too.
    public static let networkRules: [any NetworkRule.Type] = [
        NetworkForwardModeRule.self, NetworkForwardPoolRule.self, NetworkMacvtapUnsupportedRule.self, NetworkNoDeviceRule.self,
        VEPARule.self,
    ]

    public static let crossDocumentRules: [any CrossDocumentRule.Type] = [
        MACDuplicateAcrossFilesRule.self, PassthroughSharedRule.self, MixedModesRule.self, TargetDuplicateAcrossDomainsRule.self,
        HostGuestUnreachableRule.self, NetworkUnknownRule.self, VEPARule.self,
    ]

    public static let liveHostRules: [any LiveHostRule.Type] = [
        MACInUseOnHostRule.self, SourceDeviceOnHostRule.self, MixedModesOnHostRule.self, NetworkOnHostRule.self,
        NetworkPoolExhaustedRule.self, NetworkPoolDeviceInUseRule.self, TargetNameOnHostRule.self,
    ]

    public static let engineRules: [any Rule.Type] = [
        XMLMalformedRule.self, LibvirtSchemaRule.self, InterfaceSchemaRule.self, UnsupportedDocumentRule.self,
        LibvirtDefineRule.self, LibvirtNotJudgedRule.self, LibvirtNetworkSchemaRule.self,
    ]

    public static var all: [RuleDescription] {
        var seen: Set<String> = []
        return
            (engineRules.map { $0.description } + documentRules.map { $0.description }
            + networkRules.map { $0.description } + crossDocumentRules.map { $0.description }
            + liveHostRules.map { $0.description })
            .filter { seen.insert($0.id).inserted }
    }

    public static func description(forID id: String) -> RuleDescription? {
        all.first { $0.id == id }
    }
}
