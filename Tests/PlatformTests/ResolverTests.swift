import IKEWire
import Platform
import Testing

/// The stub resolver's codec and files, on bytes a real server would send.
@Suite struct DNSMessageTests {
    @Test func aQueryAsksOneRecursiveQuestion() {
        let q = DNSMessage.query(id: 0xbeef, name: "gw.example.org", type: DNSMessage.typeA)
        #expect(q == [0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                      2, 0x67, 0x77, 7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 3, 0x6f, 0x72, 0x67, 0,
                      0, 1, 0, 1])
    }

    /// An answer as dnsmasq sends it: the question, then a CNAME and an A record whose
    /// names are compression pointers.
    static func answer(id: UInt16, rcode: UInt8 = 0, address: [UInt8] = [192, 0, 2, 2]) -> [UInt8] {
        var m: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x81, 0x80 | rcode, 0, 1, 0, 2, 0, 0, 0, 0]
        m += [2, 0x67, 0x77, 7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 3, 0x6f, 0x72, 0x67, 0, 0, 1, 0, 1]
        m += [0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 0x78, 0xc0, 15]  // CNAME x.example.org
        m += [0xc0, 28, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + address
        return m
    }

    @Test func theAddressOfAnAnswerIsFoundPastPointersAndOtherRecords() {
        #expect(DNSMessage.parse(DNSMessageTests.answer(id: 7), id: 7, type: DNSMessage.typeA) == .addresses([IPAddress("192.0.2.2")!]))
        #expect(DNSMessage.parse(DNSMessageTests.answer(id: 7), id: 7, type: DNSMessage.typeAAAA) == .addresses([]))
        #expect(DNSMessage.parse(DNSMessageTests.answer(id: 7, rcode: 3), id: 7, type: DNSMessage.typeA) == .noSuchName)
        #expect(DNSMessage.parse(DNSMessageTests.answer(id: 7, rcode: 2), id: 7, type: DNSMessage.typeA) == .failure(2))
    }

    @Test func aSpoofedTruncatedOrLoopingAnswerIsIgnored() {
        let good = DNSMessageTests.answer(id: 7)
        #expect(DNSMessage.parse(good, id: 8, type: DNSMessage.typeA) == nil)
        for cut in [0, 5, 12, 20, 40, good.count - 1] {
            #expect(DNSMessage.parse(Array(good.prefix(cut)), id: 7, type: DNSMessage.typeA) == nil)
        }
        var query = good
        query[2] = 0x01  // not a response
        #expect(DNSMessage.parse(query, id: 7, type: DNSMessage.typeA) == nil)
        var labels = good
        labels[12] = 0x80  // a reserved label type
        #expect(DNSMessage.parse(labels, id: 7, type: DNSMessage.typeA) == nil)
    }

    @Test func hostsAndResolvConfAreReadAsGlibcReadsThem() {
        let hosts = "127.0.0.1 localhost\n# 192.0.2.9 gw.example.org\n192.0.2.2\tGW.example.org gw # the gateway\n2001:db8::2 gw.example.org\r\n"
        #expect(ResolverFiles.hosts(hosts, name: "gw.example.org") == [IPAddress("192.0.2.2")!, IPAddress("2001:db8::2")!])
        #expect(ResolverFiles.hosts(hosts, name: "other.example.org").isEmpty)
        let conf = "search lan\nnameserver 10.53.0.1\nnameserver fd00::53 ; comment\nnameserver bogus\nnameserver 1.1.1.1\nnameserver 9.9.9.9\n"
        #expect(ResolverFiles.nameservers(conf) == [IPAddress("10.53.0.1")!, IPAddress("fd00::53")!, IPAddress("1.1.1.1")!])
    }
}
