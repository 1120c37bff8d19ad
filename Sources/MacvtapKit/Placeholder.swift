public enum MacvtapKitPlaceholder {}
