// The lint engine speaks the model: its clients see both.
@_exported public import MacvtapModel
