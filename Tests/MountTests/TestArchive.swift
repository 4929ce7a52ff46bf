// Archives for the mount tests, made by the real builder with small frames so
// that ordinary test files span several frames.
@testable import Archive
import Builder
import Foundation

enum TestArchive {
    static let frameSize = 64 << 10

    /// Builds an archive of `source`; returns the path of its first volume.
    static func build(_ source: String, volumeSize: Int = 1 << 30) throws -> String {
        let out = try MountHarness.scratchDirectory("archive-\(abs(source.hashValue))") + "/arc"
        var options = BuildOptions()
        options.frameSize = frameSize
        options.volumeSize = volumeSize
        options.threads = 2
        _ = try ArchiveBuilder(sources: [source], output: out, options: options).run()
        return out + ".001"
    }

    /// An archive of a few files spread over several volumes.
    static func multiVolume() throws -> String {
        let source = try MountHarness.scratchDirectory("multi-volume-source")
        for i in 0..<4 { try SourceTree.write(source + "/f\(i).bin", SourceTree.bytes(count: 100_000, seed: UInt64(i))) }
        return try build(source, volumeSize: 128 << 10)
    }

    /// A small tree whose archive has one damaged frame, used by one file
    /// only; the other files read fine.
    static func withOneCorruptFile() throws -> (archive: String, source: String, victim: String, intact: [String]) {
        let source = try MountHarness.scratchDirectory("corrupt-source")
        try SourceTree.write(source + "/a-intact.txt", Array(String(repeating: "intact text\n", count: 10_000).utf8))
        try SourceTree.write(source + "/b-victim.bin", SourceTree.bytes(count: 6 * frameSize, seed: 9))
        try SourceTree.write(source + "/c-hello.txt", Array("hello\n".utf8))
        let archive = try build(source)
        let reader = try ArchiveReader(path: archive)
        let victim = reader.index.resolve(path: "b-victim.bin")!
        // A frame in the middle of the victim's content: no other file shares it.
        guard let frame = reader.index.frames.indices.first(where: { reader.files(touching: [$0]) == [victim] }) else {
            throw MountError(description: "no frame belongs to the victim alone")
        }
        let record = reader.index.frames[frame]
        let volume = reader.volumes.paths[Int(record.volume)].description
        try flipByte(volume, at: Int(record.offset) + FrameHeader.size + Int(record.storedSize) / 2)
        return (archive, source, "b-victim.bin", ["a-intact.txt", "c-hello.txt"])
    }

    static func flipByte(_ path: String, at offset: Int) throws {
        let fd = open(path, O_RDWR)
        guard fd >= 0 else { throw MountError(description: "cannot open \(path)") }
        defer { close(fd) }
        var byte: UInt8 = 0
        _ = pread(fd, &byte, 1, off_t(offset))
        byte ^= 0x5A
        _ = pwrite(fd, &byte, 1, off_t(offset))
    }
}
