import IKECore
import Testing

/// An index's values under one key: the first held in the dictionary, the others apart.
@Suite struct MultiIndexTests {
    @Test func valuesComeAndGoUnderTheirKeys() {
        var index = MultiIndex<String, UInt32>()
        index.insert(1, under: "a")
        index.insert(1, under: "a")
        #expect(index.elements(under: "a") == [1])
        index.insert(2, under: "a")
        index.insert(3, under: "a")
        index.insert(9, under: "b")
        #expect(index.elements(under: "a").sorted() == [1, 2, 3] && index.elements(under: "b") == [9])
        #expect(index.first(under: "a", where: { $0 > 1 }).map { $0 > 1 } == true)
        // The first goes: another takes its place, and the rest stay.
        index.remove(1, under: "a")
        #expect(index.elements(under: "a").sorted() == [2, 3])
        index.remove(3, under: "a")
        #expect(index.elements(under: "a") == [2])
        index.remove(7, under: "a")
        #expect(index.elements(under: "a") == [2])
        index.remove(2, under: "a")
        #expect(!index.contains("a") && index.elements(under: "a").isEmpty && index.first(under: "a", where: { _ in true }) == nil)
        #expect(index.contains("b"))
    }
}
