@_exported public import MacvtapModel
