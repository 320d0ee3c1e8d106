import IKEWire

func hex(_ text: String) -> [UInt8] {
    Hex.decode(text.filter { !$0.isWhitespace })!
}
