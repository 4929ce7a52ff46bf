import XCTest
import Archive

/// The reader and the writer are separate modules: gpuarc-mount and
/// gpuarc-extract link the decoders only (choosing a decoder once built the
/// GPU compressor and the CPU encoder to calibrate). Checked on the built
/// binaries' symbol tables, so a dependency slipping back in fails here.
final class ReaderLinksNoEncoderTests: XCTestCase {
    static let writerTypes = ["LZ4XEncoder", "GPULZ4XCompressor", "GPUFNVHasher", "ParityWriter", "CompressCalibration"]

    /// The symbol names of a built executable that mention `types`, by type.
    func symbols(of tool: String, mentioning types: [String]) throws -> [String: Int] {
        let binary = Bundle.main.bundleURL.appendingPathComponent(tool).path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary), "\(tool) not built at \(binary)")
        let nm = Process()
        nm.executableURL = URL(fileURLWithPath: "/usr/bin/nm")
        nm.arguments = [binary]
        let out = Pipe()
        nm.standardOutput = out
        try nm.run()
        let listing = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        nm.waitUntilExit()
        XCTAssertEqual(nm.terminationStatus, 0, "nm \(binary)")
        var counts: [String: Int] = [:]
        for line in listing.split(separator: "\n") {
            // Swift mangles an identifier as its length then its name.
            for type in types where line.contains("\(type.utf8.count)\(type)") { counts[type, default: 0] += 1 }
        }
        return counts
    }

    func testMountAndExtractLinkNoEncoder() throws {
        for tool in ["gpuarc-mount", "gpuarc-extract"] {
            XCTAssertEqual(try symbols(of: tool, mentioning: Self.writerTypes), [:], "\(tool) links writer code")
            XCTAssertGreaterThan(try symbols(of: tool, mentioning: ["LZ4XDecoder"])["LZ4XDecoder", default: 0], 0, tool)
        }
        // The same look finds them where they belong.
        let build = try symbols(of: "gpuarc-build", mentioning: Self.writerTypes)
        XCTAssertGreaterThan(build["LZ4XEncoder", default: 0], 0, "\(build)")
        XCTAssertGreaterThan(build["GPULZ4XCompressor", default: 0], 0, "\(build)")
    }
}
