import CertificateProxy
import Foundation
import IKECore
import IKEWire

/// The PKI of scripts/test-pki, made once per test run with the openssl command (for
/// the cpsd, IKEv1 and IKEv2 certificate tests, and the daemons' in ikeTests), and
/// removed when the test process exits.
public enum TestPKI {
    public static let directory: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ike-pki-\(UUID().uuidString)").path
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/test-pki").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: script)
        p.arguments = [dir]
        p.standardOutput = FileHandle.nullDevice
        try! p.run()
        p.waitUntilExit()
        precondition(p.terminationStatus == 0, "scripts/test-pki failed")
        atexit { try? FileManager.default.removeItem(atPath: TestPKI.directory) }
        return dir
    }()

    public static func path(_ name: String) -> String { directory + "/" + name }

    /// Files as cpsd reads them, from the real file system.
    nonisolated(unsafe) public static let files = FileAccess(
        read: { path in
            guard let data = FileManager.default.contents(atPath: path) else { return .failure(CredentialFileError("No such file or directory")) }
            return .success(Array(data))
        },
        mode: { path in
            (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).map { UInt32($0.uint32Value & 0o7777) }
        },
        list: { path in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
            return try? FileManager.default.contentsOfDirectory(atPath: path)
        })

    public static func spec(_ leaf: String, tunnel: String = "t", crl: Bool = true) -> CredentialSpec {
        CredentialSpec(tunnel: tunnel, certificate: path("\(leaf)-chain.pem"), privateKey: path("\(leaf).key"),
                       caCertificates: [path("ca")], crls: crl ? [path("crl.pem")] : [])
    }

    /// A store with `leaf` loaded as credential 0.
    public static func store(_ leaf: String) throws -> (CredentialStore, PublicKeyCredential) {
        let store = CredentialStore(files: files)
        let result = store.load([spec(leaf)])
        return (store, try result[0].get())
    }

    public static func der(_ name: String) -> [UInt8] {
        let pem = try! String(contentsOfFile: path(name), encoding: .utf8)
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Array(Data(base64Encoded: body)!)
    }
}
