import IKECore
import IKECrypto
import IKEWire

/// INFORMATIONAL exchanges (RFC 7296 §1.4): deletes both ways and liveness checks.
extension IKEv2Engine {
    /// `ike cmd=remove` and shutdown: deletes the tunnel's CHILD_SA (phase 2) or its whole
    /// IKE SA (phase 1), informing the peer. Our state goes at once; the request is
    /// retransmitted a few times, its answer is not waited for.
    public func delete(tunnel: UInt32, phase: Int, now: Instant) {
        let current = byTunnel[tunnel].flatMap { sas[$0] }
        defer {
            if let current { touch(current) }
            settle()
        }
        guard let spi = byTunnel[tunnel], let sa = sas[spi] else { return }
        guard sa.isEstablished else {
            remove(sa)
            return
        }
        let payload: IKEv2Payload
        if phase == 2 {
            guard sa.childEstablished else { return }
            payload = .delete(protocolID: SecurityProtocol.esp, spis: [sa.childInboundSPI.bigEndianBytes])
            sa.childEstablished = false
            sa.heldChild = nil
        } else {
            payload = .delete(protocolID: SecurityProtocol.ike, spis: [])
        }
        if phase == 1 {
            sendOnce(sa, [payload])
            remove(sa)
            return
        }
        let id = sa.nextRequestID
        do throws(IKEv2Error) {
            let bytes = try sa.seal(.informational, messageID: id, response: false, [payload])
            sa.nextRequestID = id &+ 1
            send(sa, bytes)
            sa.pending = IKESA.Pending(messageID: id, request: Retransmission(bytes, sentAt: now), isDelete: true)
        } catch {
            log(.error, "building a delete for \(sa.remote): \(error)")
        }
    }

    /// An INFORMATIONAL request sent once, for an SA that goes right after it (a delete of
    /// the IKE SA, or AUTHENTICATION_FAILED): its answer is not waited for.
    func sendOnce(_ sa: IKESA, _ payloads: [IKEv2Payload]) {
        let id = sa.nextRequestID
        do throws(IKEv2Error) {
            let bytes = try sa.seal(.informational, messageID: id, response: false, payloads)
            sa.nextRequestID = id &+ 1
            send(sa, bytes)
        } catch {
            log(.error, "building an INFORMATIONAL for \(sa.remote): \(error)")
        }
    }

    func informationalRequest(_ sa: IKESA, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) {
        guard let payloads = decrypt(sa, message, raw, now: now) else { return }
        let id = message.header.messageID
        if let problem = ExchangeRules.violation(.informationalRequest, payloads) {
            counters.malformed += 1
            log(.information, "\(problem) from \(sa.remote)")
            if let bytes = try? sa.seal(.informational, messageID: id, response: true, [.notify(NotifyPayload(.invalidSyntax))]) {
                respond(sa, bytes, to: id)
            }
            return
        }
        if let refusal = payloads.first(where: { if case let .notify(n) = $0 { return n.type == .authenticationFailed }; return false }),
           case let .notify(n) = refusal {
            // §2.21.2: the peer's checks of our authentication failed after IKE_AUTH; it
            // has dropped the SA, so ours and the tunnel's go too.
            respondEmpty(sa, to: id)
            fail(sa, phase: 1, "the peer refused our authentication after IKE_AUTH (\(n.type)): check local_id, remote_id and psk on both sides")
            return
        }
        var reply: [IKEv2Payload] = []
        var deleteIKE = false
        var deleteChild = false
        for p in payloads {
            guard case let .delete(protocolID, spis) = p else { continue }
            if protocolID == SecurityProtocol.ike {
                deleteIKE = true
            } else if protocolID == SecurityProtocol.esp, sa.childEstablished,
                      spis.contains(sa.childOutboundSPI.bigEndianBytes) {
                deleteChild = true
                // §1.4.1: answer with the SPI of our half of the pair.
                reply.append(.delete(protocolID: SecurityProtocol.esp, spis: [sa.childInboundSPI.bigEndianBytes]))
            } else if protocolID == SecurityProtocol.esp,
                      let i = sa.retiredChildren.firstIndex(where: { spis.contains($0.outbound.bigEndianBytes) }) {
                // The old half of a rekeyed CHILD_SA: expected, answered, reported to nobody.
                reply.append(.delete(protocolID: SecurityProtocol.esp, spis: [sa.retiredChildren[i].inbound.bigEndianBytes]))
                sa.retiredChildren.remove(at: i)
            }
        }
        if deleteIKE || reply.isEmpty {
            respondEmpty(sa, to: id)
        } else if let bytes = try? sa.seal(.informational, messageID: id, response: true, reply) {
            respond(sa, bytes, to: id)
        }
        if deleteIKE && sa.rekeyedTo != nil {
            log(.debug, "the peer deleted the rekeyed IKE SA \(Hex.prefixed(sa.localSPI))")
            remove(sa)
        } else if deleteIKE {
            log(.information, "the peer \(sa.remote) deleted IKE SA \(Hex.prefixed(sa.localSPI))")
            if let t = sa.tunnel { output.append(.report(.deleted(t, .one))) }
            remove(sa)
        } else if deleteChild {
            sa.childEstablished = false
            sa.heldChild = nil
            log(.information, "the peer \(sa.remote) deleted CHILD_SA \(Hex.prefixed(sa.childInboundSPI))")
            if let t = sa.tunnel { output.append(.report(.deleted(t, .two))) }
        }
    }

    func informationalResponse(_ sa: IKESA, _ message: IKEv2Message, _ raw: [UInt8], now: Instant) {
        guard decrypt(sa, message, raw, now: now) != nil else { return }
        sa.pending = nil
        // The answer to our delete of an IKE SA we rekeyed: it is gone on both sides.
        if sa.rekeyedTo != nil { remove(sa) }
    }
}
