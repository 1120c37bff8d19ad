@_exported public import MacvtapAllocation
@_exported public import MacvtapLint
@_exported public import MacvtapModel
