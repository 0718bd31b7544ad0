// swift-tools-version:5.9
// The Fieldwork core for iOS (and macOS): the generated UniFFI Swift (`FieldworkFFI`) over the
// Rust library packed as an XCFramework, plus the idiomatic `Fieldwork` layer apps use.
// Run ./build-xcframework.sh first: it produces build/fieldwork_ffiFFI.xcframework and
// Sources/FieldworkFFI/FieldworkFFI.swift from the current Rust sources (neither is committed).

import PackageDescription

let package = Package(
    name: "Fieldwork",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Fieldwork", targets: ["Fieldwork"]),
    ],
    targets: [
        // Static libraries for devices, simulators and macOS, with the C header and modulemap of
        // the `fieldwork_ffiFFI` module the generated Swift imports.
        .binaryTarget(name: "fieldwork_ffiFFI", path: "build/fieldwork_ffiFFI.xcframework"),
        // The generated bindings, copied in by build-xcframework.sh.
        .target(name: "FieldworkFFI", dependencies: ["fieldwork_ffiFFI"], path: "Sources/FieldworkFFI"),
        // async/await and AsyncStream on top of the generated API.
        .target(name: "Fieldwork", dependencies: ["FieldworkFFI"], path: "Sources/Fieldwork"),
        .testTarget(name: "FieldworkTests", dependencies: ["Fieldwork"], path: "Tests/FieldworkTests"),
    ]
)
