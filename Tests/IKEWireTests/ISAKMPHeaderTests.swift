import IKEWire
import Testing

/// Parses a header from `bytes`. (A `throws(WireError)` closure passed to
/// withUnsafeBytes crashes the 6.3.1 compiler's IRGen, hence the Result.)
func parseHeader(_ bytes: [UInt8]) -> Result<ISAKMPHeader, WireError> {
    bytes.withUnsafeBytes { raw in
        var reader = ByteReader(raw)
        do throws(WireError) {
            return .success(try ISAKMPHeader(from: &reader))
        } catch {
            return .failure(error)
        }
    }
}

@Suite struct ISAKMPHeaderTests {
    /// An IKEv2 IKE_SA_INIT request header, as strongSwan sends it (RFC 7296 §3.1).
    let sample: [UInt8] = [
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,  // initiator SPI
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // responder SPI
        0x21, 0x20, 0x22, 0x08,                          // SA, 2.0, IKE_SA_INIT, Initiator
        0x00, 0x00, 0x00, 0x00,                          // message ID
        0x00, 0x00, 0x00, 0x1c,                          // length 28
    ]

    @Test func readsEveryField() throws {
        let header = try parseHeader(sample).get()
        #expect(header.initiatorSPI == 0x1122_3344_5566_7788)
        #expect(header.responderSPI == 0)
        #expect(header.nextPayload == 33)
        #expect(header.majorVersion == 2)
        #expect(header.minorVersion == 0)
        #expect(header.exchangeType == 34)
        #expect(header.flags == 0x08)
        #expect(header.length == 28)
    }

    @Test func reencodesByteForByte() throws {
        let header = try parseHeader(sample).get()
        var out = [UInt8](repeating: 0, count: 32)
        let written: Result<Int, WireError> = out.withUnsafeMutableBytes { buffer in
            var writer = ByteWriter(buffer)
            do throws(WireError) {
                try header.write(to: &writer)
                return .success(writer.count)
            } catch {
                return .failure(error)
            }
        }
        #expect(try written.get() == 28)
        #expect(Array(out[0..<28]) == sample)
    }

    @Test func truncatedHeadersSayWhatIsMissing() {
        guard case let .failure(error) = parseHeader(Array(sample[0..<20])) else {
            Issue.record("a 20-byte header parsed")
            return
        }
        #expect(error.description == "truncated message ID: need 4 bytes, 0 left")
    }

    @Test(arguments: [UInt32(27), 29, 0xffff_ffff])
    func lengthMustCoverTheHeaderAndFitTheDatagram(length: UInt32) {
        var bytes = sample
        bytes[24] = UInt8(length >> 24)
        bytes[25] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[26] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[27] = UInt8(truncatingIfNeeded: length)
        guard case let .failure(error) = parseHeader(bytes) else {
            Issue.record("length \(length) accepted")
            return
        }
        #expect(error == .invalid(what: "message length", value: UInt64(length)))
    }

    @Test func writerRefusesToOverrun() {
        var small = [UInt8](repeating: 0, count: 3)
        small.withUnsafeMutableBytes { buffer in
            var writer = ByteWriter(buffer)
            do throws(WireError) {
                try writer.write(UInt32(1))
                Issue.record("wrote 4 bytes into 3")
            } catch {
                #expect(error == .noSpace(needed: 4, available: 3))
            }
            #expect(writer.count == 0)
        }
    }
}
