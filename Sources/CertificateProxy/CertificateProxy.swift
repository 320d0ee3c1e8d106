/// The certificate proxy (cpsd of the AIX flow): trust store, chain validation and
/// private-key operations on request, so the engines never hold a private key.
public enum CertificateProxy {}
