/// The fixed header shared by ISAKMP (IKEv1, RFC 2408 §3.1) and IKEv2 (RFC 7296 §3.1).
///
///                          1                   2                   3
///      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     |                       IKE SA Initiator's SPI                  |
///     |                                                               |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     |                       IKE SA Responder's SPI                  |
///     |                                                               |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     |                          Message ID                           |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///     |                            Length                             |
///     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// The broker reads only this header to route a datagram to the IKEv1 or IKEv2 engine.
public struct ISAKMPHeader: Equatable, Sendable {
    public static let size = 28
    /// ISAKMP's major version (RFC 2408 §3.1): IKEv1; the broker routes by it.
    public static let ikev1 = UInt8(1)
    /// IKEv2's (RFC 7296 §3.1).
    public static let ikev2 = UInt8(2)

    public var initiatorSPI: UInt64
    public var responderSPI: UInt64
    public var nextPayload: UInt8
    public var majorVersion: UInt8
    public var minorVersion: UInt8
    public var exchangeType: UInt8
    public var flags: UInt8
    public var messageID: UInt32
    public var length: UInt32

    public init(initiatorSPI: UInt64, responderSPI: UInt64, nextPayload: UInt8, majorVersion: UInt8,
                minorVersion: UInt8, exchangeType: UInt8, flags: UInt8, messageID: UInt32, length: UInt32) {
        self.initiatorSPI = initiatorSPI
        self.responderSPI = responderSPI
        self.nextPayload = nextPayload
        self.majorVersion = majorVersion
        self.minorVersion = minorVersion
        self.exchangeType = exchangeType
        self.flags = flags
        self.messageID = messageID
        self.length = length
    }

    /// Reads the header; the declared length must cover the header and fit the datagram
    /// (RFC 7296 §3.1: the length of the total message, header plus payloads).
    public init(from reader: inout ByteReader) throws(WireError) {
        let datagram = reader.remaining
        initiatorSPI = try reader.readUInt64("initiator SPI")
        responderSPI = try reader.readUInt64("responder SPI")
        nextPayload = try reader.readUInt8("next payload")
        let version = try reader.readUInt8("version")
        majorVersion = version >> 4
        minorVersion = version & 0x0f
        exchangeType = try reader.readUInt8("exchange type")
        flags = try reader.readUInt8("flags")
        messageID = try reader.readUInt32("message ID")
        length = try reader.readUInt32("length")
        guard length >= UInt32(ISAKMPHeader.size), length <= UInt32(datagram) else {
            throw .invalid(what: "message length", value: UInt64(length))
        }
    }

    public func write(to writer: inout ByteWriter) throws(WireError) {
        try writer.write(initiatorSPI)
        try writer.write(responderSPI)
        try writer.write(nextPayload)
        try writer.write(majorVersion << 4 | (minorVersion & 0x0f))
        try writer.write(exchangeType)
        try writer.write(flags)
        try writer.write(messageID)
        try writer.write(length)
    }
}
