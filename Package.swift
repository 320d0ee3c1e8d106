// swift-tools-version: 6.2
// The module layout of ../shared/docs/design.md. Arrows point one way:
// IKEWire <- IKECrypto <- IKEv1/IKEv2 <- TunnelManager; Kernel <- Netlink;
// UCI, Kernel <- TunnelManager; Platform is used by the executable, the Broker (iked)
// and Netlink only, never by the protocol cores.
// The shipped binary is built by scripts/build-static in Embedded Swift from these
// same sources; keep them in the Embedded subset (README, "Contributing").
import PackageDescription

let embeddedRules: [SwiftSetting] = [
    .treatWarning("EmbeddedRestrictions", as: .error),
]

let package = Package(
    name: "ike",
    products: [
        .executable(name: "ike", targets: ["ike"]),
        .executable(name: "ike-bench", targets: ["ike-bench"]),
    ],
    targets: [
        // C libraries, reached only through these adapter targets.
        .target(name: "CLibc", path: "Sources/CLibc"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .systemLibrary(name: "CNetlink", path: "Sources/CNetlink", pkgConfig: "libnl-xfrm-3.0"),

        // Protocol cores: no I/O, no Platform, no Netlink, no Foundation.
        .target(name: "IKEWire", swiftSettings: embeddedRules),
        .target(name: "IKECrypto", dependencies: ["IKEWire", "COpenSSL"], swiftSettings: embeddedRules),
        .target(name: "IKECore", dependencies: ["IKEWire", "IKECrypto"], swiftSettings: embeddedRules),
        .target(name: "IKEv1", dependencies: ["IKEWire", "IKECrypto", "IKECore"], swiftSettings: embeddedRules),
        .target(name: "IKEv2", dependencies: ["IKEWire", "IKECrypto", "IKECore"], swiftSettings: embeddedRules),
        .target(name: "CertificateProxy", dependencies: ["IKEWire", "IKECrypto", "IKECore", "COpenSSL"], swiftSettings: embeddedRules),

        // The kernel boundary and the components around the cores.
        .target(name: "Kernel", dependencies: ["IKEWire", "IKECrypto"], swiftSettings: embeddedRules),
        .target(name: "Platform", dependencies: ["CLibc", "IKEWire"], swiftSettings: embeddedRules),
        .target(name: "Netlink", dependencies: ["Kernel", "IKECrypto", "IKEWire", "Platform", "CNetlink"], swiftSettings: embeddedRules),
        .target(name: "UCI", dependencies: ["IKEWire"], swiftSettings: embeddedRules),
        // `ike import`: strongSwan configurations (swanctl.conf, ipsec.conf, OpenWrt's) as /etc/config/ike.
        .target(name: "Import", dependencies: ["UCI", "IKEWire"], swiftSettings: embeddedRules),
        .target(
            name: "TunnelManager",
            dependencies: ["UCI", "Kernel", "IKECore"],
            swiftSettings: embeddedRules),
        .target(name: "Control", dependencies: ["IKECore", "IKEWire", "UCI", "TunnelManager", "CertificateProxy"], swiftSettings: embeddedRules),
        .target(name: "Broker", dependencies: ["IKEWire", "Platform"], swiftSettings: embeddedRules),

        // The executable that wires the components together.
        .executableTarget(
            name: "ike",
            dependencies: ["Platform", "Broker", "Netlink", "TunnelManager", "Control", "Import", "CertificateProxy", "IKECore", "IKECrypto", "IKEWire", "IKEv1", "IKEv2"],
            swiftSettings: embeddedRules),

        // Benchmarks: a malloc counter interposed in a separate executable, never shipped.
        .target(name: "CAllocCounter", path: "Benchmarks/CAllocCounter"),
        .executableTarget(
            name: "ike-bench",
            dependencies: ["Platform", "Broker", "IKECore", "IKECrypto", "IKEWire", "IKEv1", "IKEv2", "Kernel", "TunnelManager", "UCI", "CAllocCounter"],
            path: "Benchmarks/ike-bench"),

        // Fuzzing (scripts/fuzz): the targets, replayed by FuzzReplayTests; the libFuzzer
        // executable joins the package only when scripts/fuzz sets IKE_FUZZ.
        .target(
            name: "FuzzTargets",
            dependencies: ["Broker", "CertificateProxy", "Control", "IKECore", "IKECrypto", "IKEWire", "IKEv1", "IKEv2", "Netlink", "Platform", "UCI"],
            path: "Fuzz/FuzzTargets"),
        .testTarget(name: "FuzzReplayTests", dependencies: ["FuzzTargets"]),

        .testTarget(name: "PlatformTests", dependencies: ["Platform", "CLibc", "CTestSupport"]),
        .testTarget(name: "IKEWireTests", dependencies: ["IKEWire"]),
        .testTarget(name: "IKECryptoTests", dependencies: ["IKECrypto", "IKEWire"]),
        .target(name: "PKITestSupport", dependencies: ["CertificateProxy", "IKECore", "IKEWire"], path: "Tests/PKITestSupport"),
        .testTarget(name: "IKEv2Tests", dependencies: ["IKEv2", "IKECore", "IKECrypto", "IKEWire", "CertificateProxy", "PKITestSupport"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "IKEv1Tests", dependencies: ["IKEv1", "IKECore", "IKECrypto", "IKEWire", "CertificateProxy", "PKITestSupport"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "CertificateProxyTests", dependencies: ["CertificateProxy", "IKECore", "IKEWire", "PKITestSupport"]),
        .testTarget(name: "UCITests", dependencies: ["UCI", "IKEWire"]),
        .testTarget(name: "ImportTests", dependencies: ["Import", "UCI", "IKEWire"]),
        .testTarget(name: "TunnelManagerTests", dependencies: ["TunnelManager", "Kernel", "UCI", "IKECore", "IKEWire", "IKECrypto", "IKEv2"], swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "ControlTests", dependencies: ["Control", "TunnelManager", "Kernel", "UCI", "IKECore", "IKEWire", "IKECrypto"], swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(name: "CTestSupport", path: "Tests/CTestSupport"),
        .testTarget(name: "NetlinkTests", dependencies: ["CTestSupport", "Netlink", "Kernel", "IKECrypto", "IKEWire", "UCI"], swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "BrokerTests", dependencies: ["Broker", "Platform"]),
        .testTarget(name: "ikeTests", dependencies: ["ike", "PKITestSupport"], swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)

if Context.environment["IKE_FUZZ"] != nil {
    package.targets.append(.executableTarget(
        name: "ike-fuzz", dependencies: ["FuzzTargets"], path: "Fuzz/ike-fuzz",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
}
