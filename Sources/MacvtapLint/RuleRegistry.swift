/// Every rule, in documentation order. Adding a rule = one type + one line here.
public enum RuleRegistry {
    public static let documentRules: [any DocumentRule.Type] = [
        MACUnparsableRule.self, MACMulticastRule.self, MACAllZeroRule.self, MACNotLocallyAdministeredRule.self,
        MACForeignOUIRule.self, MACFEPrefixRule.self, MACNotCanonicalRule.self, MACUnknownAttributeRule.self,
        MACDuplicateInDomainRule.self,
        SourceMissingRule.self, SourceDevInvalidRule.self, SourceModeInvalidRule.self, SourceUnknownAttributeRule.self,
        DuplicateElementRule.self,
        VirtualPortInvalidRule.self, VirtualPortIgnoredRule.self, VLANInvalidRule.self, VLANWithoutPassthroughRule.self,
        BandwidthInvalidRule.self, LinkStateInvalidRule.self, ModelInvalidRule.self, ModelMissingRule.self, UnsupportedOnDirectRule.self,
        TargetDevInvalidRule.self, TargetDevUnusableRule.self, AliasNotUserRule.self, NumericValueInvalidRule.self, PCIOnlyOptionRule.self, AddressTypeUnsupportedRule.self,
        VirtioOptionWithoutVirtioRule.self,
        TeamingInvalidRule.self, UnknownElementRule.self, TrustRxFiltersNoEffectRule.self, TrustRxFiltersSecurityRule.self,
        AttributeValueInvalidRule.self, ModelUnknownRule.self, HotplugRefusedRule.self, PCIAddressBusMissingRule.self, VhostUserSharedMemoryRule.self,
        LiveDumpRule.self, AliasDuplicateRule.self, TargetDuplicateRule.self, BootOrderConflictRule.self, ACPIIndexDuplicateRule.self,
        PCIAddressDuplicateRule.self,
        XMLExternalEntityRule.self, XMLDoctypeRule.self,
    ]

    /// Rules for `<network>` documents (macvtap forward modes); `VEPANeedsHairpinRule` speaks for networks too.
    public static let networkRules: [any NetworkRule.Type] = [
        NetworkForwardModeInvalidRule.self, NetworkForwardPoolRule.self, NetworkUnsupportedInMacvtapModeRule.self, NetworkNoDeviceRule.self,
        VEPANeedsHairpinRule.self,
    ]

    public static let crossDocumentRules: [any CrossDocumentRule.Type] = [
        MACDuplicateAcrossDomainsRule.self, PassthroughSharedRule.self, MixedModesRule.self, TargetDuplicateAcrossDomainsRule.self,
        HostGuestUnreachableRule.self, NetworkUnknownRule.self, VEPANeedsHairpinRule.self,
    ]

    public static let liveHostRules: [any LiveHostRule.Type] = [
        MACInUseOnHostRule.self, SourceDevOnHostRule.self, MixedModesOnHostRule.self, NetworkOnHostRule.self,
        NetworkPoolExhaustedRule.self, NetworkPoolDeviceInUseRule.self, TargetDevOnHostRule.self, SourceDevEnslavedRule.self,
        SourceDevBondModeRule.self, SourceDevDownRule.self, SourceDevMtuRule.self, MacvtapStaleRule.self,
    ]

    public static let engineRules: [any Rule.Type] = [
        XMLMalformedRule.self, LibvirtSchemaRule.self, InterfaceSchemaRule.self, NotADomainRule.self,
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
