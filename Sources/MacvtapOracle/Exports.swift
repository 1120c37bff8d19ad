// The oracle judges the whole library.
@_exported public import MacvtapKit
