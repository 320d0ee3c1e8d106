extension StringProtocol {
    /// The text with A–Z mapped to a–z and every other byte kept: for keywords, DNS names
    /// and DN attribute types, which are ASCII. Unlike `lowercased()` it does not pull
    /// Unicode's case-mapping tables into the Embedded binary.
    public var asciiLowercased: String {
        String(decoding: utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}
