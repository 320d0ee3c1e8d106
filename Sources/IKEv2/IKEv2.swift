import IKEWire
import IKECore
/// The IKEv2 engine (ikev2d of the AIX flow): RFC 7296, sans-I/O.
public enum IKEv2 {
    /// IKE major version 2 (RFC 7296 §3.1); the broker routes these datagrams here.
    public static let majorVersion = ISAKMPHeader.ikev2
}
