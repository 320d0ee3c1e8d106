import IKECore
import IKECrypto
import IKEWire
import Testing
@testable import IKEv1

/// What an established ISAKMP SA keeps (the engine-core issue: memory per tunnel, and
/// no Diffie-Hellman private key held for the SA's lifetime).
@Suite struct HeldStateTests {
    @Test func phase1KeepsOnlyWhatQuickModesNeed() throws {
        let p = Pair()
        p.up()
        let sas = Array(p.a.sas.values) + Array(p.b.sas.values)
        #expect(sas.count == 2)
        for sa in sas {
            // Established: the handshake (DH key, public values, nonces, SA and ID bodies) is gone.
            #expect(sa.isEstablished && sa.child != nil)
            let keys = try #require(sa.keys)
            #expect(keys.skeyid.count == 0 && keys.e.count == 0 && keys.d.count == 32 && keys.a.count == 32)
            let child = try #require(sa.child?.sa)
            #expect(child.inbound.encryption.count == 0 && child.outbound.encryption.count == 0)
            #expect(sa.answers.count <= 2)
        }
        // The Quick Modes still work on what is left: a rekey of phase 2 comes up.
        p.aEvents = []
        p.a.rekey(tunnel: 1, phase: 2, now: p.now)
        p.run()
        #expect(p.aEvents.contains { if case .report(.phase2Rekeyed) = $0 { return true }; return false })
    }

    /// The responder's answers serve retransmitted requests while the peer may still
    /// send them, then go.
    @Test func answersGoAfterThePeersSilence() throws {
        let p = Pair()
        p.up(dpd: 0)
        #expect(p.bEvents.contains { if case .report(.negotiated(5, _, _, _)) = $0 { return true }; return false })
        let sa = try #require(p.b.sas.values.first)
        #expect(!sa.answers.isEmpty)
        p.b.tick(now: p.now + .seconds(299))
        #expect(!sa.answers.isEmpty)
        p.b.tick(now: p.now + Retransmission.answerKept)
        #expect(sa.answers.isEmpty && p.b.sas.count == 1)
    }

    /// The responder finds an SA by its first message (Main Mode's, by CKY-I and address)
    /// through Quick Mode, which follows at once while a delayed copy may still come; once
    /// an Informational comes (a liveness check here) it no longer does, and holds nothing
    /// for it.
    @Test func theFirstMessageIsForgottenAtTheFirstInformational() throws {
        let p = Pair()
        p.up(dpd: 10)
        let responder = try #require(p.b.sas.values.first)
        let a = IPAddress("192.0.2.1")!
        #expect(responder.isEstablished && responder.firstAddress == a)
        #expect(p.b.responders.responder(initiatorSPI: responder.cookieI, from: a) == responder.cookieR)
        p.now = p.now + .seconds(10)
        p.tickAndDeliver { _, _ in false }
        #expect(p.b.responders.responder(initiatorSPI: responder.cookieI, from: a) == nil)
        #expect(p.b.sas.count == 1 && p.b.responders.halfOpen == 0)
    }
}
