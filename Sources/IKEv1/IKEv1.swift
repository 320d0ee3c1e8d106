import IKEWire
import IKECore
/// The IKEv1 engine (isakmpd of the AIX flow): RFC 2407, 2408, 2409, sans-I/O.
public enum IKEv1 {
    /// ISAKMP major version 1 (RFC 2408 §3.1); the broker routes these datagrams here.
    public static let majorVersion = ISAKMPHeader.ikev1
}
