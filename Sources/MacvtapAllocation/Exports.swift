// The ledgers work on the model's MAC addresses: their clients see both.
@_exported public import MacvtapModel
