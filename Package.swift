// swift-tools-version: 6.0
import PackageDescription

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "gpuarc",
    products: [
        .executable(name: "gpuarc-build", targets: ["gpuarc-build"]),
        .executable(name: "gpuarc-extract", targets: ["gpuarc-extract"]),
        .executable(name: "gpuarc-mount", targets: ["gpuarc-mount"]),
        .executable(name: "gpuarc-repair", targets: ["gpuarc-repair"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System-library shims.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // libdeflate: inflates the index (zlib streams) four times as fast as zlib.
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "COpenCL", path: "Sources/COpenCL"),
        .systemLibrary(name: "CFuse3", path: "Sources/CFuse3", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        // OpenSSL libcrypto: SHA-256 of chunks for exact chunk dedup.
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        // Header only: software prefetch for the LZ4X encoder's hash tables.
        .systemLibrary(name: "CPrefetch", path: "Sources/CPrefetch"),
        // Intel ISA-L: Reed-Solomon for parity volumes.
        .systemLibrary(name: "CISAL", path: "Sources/CISAL", providers: [.apt(["libisal-dev"])]),
        // libzstd: the zstd frame codec (decoder in Archive, encoder in ArchiveWriter).
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", providers: [.apt(["libzstd-dev"])]),
        // Header only: the *xattrat system calls and SEEK_DATA/SEEK_HOLE.
        .systemLibrary(name: "CSysCalls", path: "Sources/CSysCalls"),

        // The reader: format, decoders (CPU and OpenCL), volumes, index,
        // parity reconstruction, frame loader and cache, extraction. It links
        // no encoder: what mount and extract need, and nothing else.
        .target(name: "Archive", dependencies: ["CZlib", "CDeflate", "COpenCL", "CSysCalls", "CISAL", "CZstd"]),
        // What writes archive bytes and a reader never needs: the LZ4X
        // encoder, the OpenCL compressor and hasher and their calibration,
        // parity volumes and repair.
        .target(name: "ArchiveWriter", dependencies: ["Archive", "CPrefetch", "CISAL", "CZstd"]),
        // Scan, dedup, chunking, similarity and delta, ordering, frame packing, volume writer.
        .target(name: "Builder", dependencies: ["Archive", "ArchiveWriter", "CCrypto", "CSysCalls"]),
        // The FUSE driver over Archive's reader (low-level libfuse3 API).
        .target(name: "Mount", dependencies: ["Archive", "CFuse3"]),

        // Thin executables: argument parsing and wiring only.
        .executableTarget(name: "gpuarc-build", dependencies: ["Builder", "Archive", "ArchiveWriter", argumentParser]),
        .executableTarget(name: "gpuarc-extract", dependencies: ["Archive", argumentParser]),
        .executableTarget(name: "gpuarc-repair", dependencies: ["Archive", "ArchiveWriter", argumentParser]),
        .executableTarget(name: "gpuarc-bench", dependencies: ["Archive", "ArchiveWriter"]),
        // OpenCL kernel throughput (docs/GPU.md).
        .executableTarget(name: "gpuarc-clbench", dependencies: ["Archive", "ArchiveWriter"]),
        .executableTarget(name: "gpuarc-mount", dependencies: ["Mount", "Archive"]),

        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "ArchiveWriter"]),
        .testTarget(name: "BuilderTests", dependencies: ["Builder", "Archive", "ArchiveWriter", "CSysCalls"]),
        .testTarget(name: "OpenCLTests", dependencies: ["Archive", "ArchiveWriter"]),
        // Real mounts of archives made by the builder; the driver binary must be built.
        .testTarget(name: "MountTests", dependencies: ["Mount", "Archive", "Builder", "CFuse3"]),
    ],
    swiftLanguageModes: [.v5]
)
