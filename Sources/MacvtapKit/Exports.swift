@_exported public import MacvtapLint
@_exported public import MacvtapModel
