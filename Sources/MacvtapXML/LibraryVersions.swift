/// Versions of the C libraries this process is linked against, for `--version` and reports.
public enum XMLLibrary {
    public static var version: String { LibXML2Runtime.versionString }
}
