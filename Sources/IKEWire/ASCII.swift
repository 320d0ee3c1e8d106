extension StringProtocol {
    /// The text with A–Z mapped to a–z and every other byte kept: for keywords, DNS names
    /// and DN attribute types, which are ASCII. Unlike `lowercased()` it does not pull
    /// Unicode's case-mapping tables into the Embedded binary.
    public var asciiLowercased: String {
        String(decoding: utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// True when the text is one or more of 0–9 and nothing else. Unlike
    /// `Character.isNumber` it knows no other scripts' digits and needs no Unicode tables.
    public var isASCIIDigits: Bool {
        !isEmpty && utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
