import XCTest
import Glibc
@testable import Archive
@testable import Builder

/// Builds small multi-volume archives and damages them in controlled ways,
/// for the damage and fault-injection tests.
enum ArchiveDamage {
    /// A 3+-volume archive, half random files (RAW frames) and half text (LZ4X
    /// frames), so both codecs are hit; returns (source root, archive base).
    static func makeArchive(files: Int = 12, source: String, output: String) throws -> (String, String) {
        let f = TreeFixture(root: source)
        for i in 0..<files {
            f.file("f\(i).txt", i % 2 == 0 ? TreeFixture.random(20_000, seed: UInt64(i)) : TreeFixture.text(40_000, seed: UInt64(i)))
        }
        let out = output + "/arc"
        var options = BuildOptions()
        options.frameSize = 16 << 10
        options.volumeSize = 64 << 10
        options.threads = 2
        let stats = try ArchiveBuilder(sources: [f.root], output: out, options: options).run()
        XCTAssertGreaterThanOrEqual(stats.volumes.count, 3)
        XCTAssertGreaterThan(stats.framesCompressed, 0)
        XCTAssertGreaterThan(stats.framesRaw, 0)
        return (f.root, out)
    }

    static func flipByte(_ path: String, at offset: Int, with mask: UInt8 = 0x5A) {
        let fd = open(path, O_RDWR)
        var b: UInt8 = 0
        pread(fd, &b, 1, off_t(offset))
        b ^= mask
        pwrite(fd, &b, 1, off_t(offset))
        close(fd)
    }

    static func size(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : -1
    }

    enum RegionKind: String, CaseIterable { case volumeHeader, frameHeader, framePayload, index, footer }

    struct Region {
        let kind: RegionKind
        let volume: String
        let range: Range<Int>
        /// The frame a frame region belongs to.
        let frame: Int?
    }

    /// Every region of every volume, read from an intact archive's index.
    static func regions(_ reader: ArchiveReader) -> [Region] {
        let index = reader.index, paths = reader.volumes.textPaths
        var regions = paths.map { Region(kind: .volumeHeader, volume: $0, range: 0..<VolumeHeader.size, frame: nil) }
        for (i, f) in index.frames.enumerated() {
            let start = Int(f.offset), path = paths[Int(f.volume)]
            regions.append(Region(kind: .frameHeader, volume: path, range: start..<(start + FrameHeader.size), frame: i))
            regions.append(Region(kind: .framePayload, volume: path,
                                  range: (start + FrameHeader.size)..<(start + FrameHeader.size + Int(f.storedSize)), frame: i))
        }
        let last = paths.last!, end = size(last)
        let indexStart = Int(index.volumeSizes.last!)
        regions.append(Region(kind: .index, volume: last, range: indexStart..<(end - Footer.size), frame: nil))
        regions.append(Region(kind: .footer, volume: last, range: (end - Footer.size)..<end, frame: nil))
        return regions
    }

    /// A systematic sample of a region's offsets: every byte of small regions,
    /// else the first and last 8 bytes and `interior` evenly spaced ones.
    static func sample(_ range: Range<Int>, interior: Int = 16) -> [Int] {
        if range.count <= 48 { return Array(range) }
        let step = max(1, (range.count - 16) / interior)
        return Array(range.prefix(8)) + Array(stride(from: range.lowerBound + 8, to: range.upperBound - 8, by: step)) + Array(range.suffix(8))
    }

    /// Reads every regular file through `reader`. Files that read must match the
    /// source byte for byte; returns the inodes whose read failed, with messages.
    /// A file's bytes, opened by a path given as bytes (nil if it cannot be read).
    static func readFile(_ path: BytePath) -> [UInt8]? {
        let fd = path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { return nil }
            if n == 0 { return bytes }
            bytes += buffer[0..<n]
        }
    }

    static func readAll(_ reader: ArchiveReader, source: String, file: StaticString = #filePath, line: UInt = #line) -> [Int: String] {
        let paths = reader.index.bytePaths()
        var failed: [Int: String] = [:]
        for inode in reader.index.inodes.indices where reader.index.inodes[inode].kind == .regular {
            let expected = readFile(BytePath(source).appending(paths[inode]!))
            var got = [UInt8](repeating: 0, count: Int(reader.index.inodes[inode].size))
            do {
                var done = 0
                while done < got.count {
                    let n = try got.withUnsafeMutableBytes { try reader.read(inode: inode, offset: UInt64(done), count: min(64 << 10, $0.count - done), into: $0.baseAddress! + done) }
                    guard n > 0 else { break }
                    done += n
                }
                // Compared as a whole: XCTAssertEqual would print both arrays.
                XCTAssertTrue(got == expected, "WRONG BYTES in \(Escaped.text(paths[inode]!))", file: file, line: line)
            } catch {
                failed[inode] = "\(error)"
            }
        }
        return failed
    }

    /// An archive with volume `volume` (0-based, before the last) unusable: it
    /// still opens, names the volume's problem, every frame stored there fails
    /// naming the volume, exactly the files needing those frames fail, and
    /// every other file reads back exactly. Returns how many files were lost.
    @discardableResult
    static func assertOnlyVolumeLost(_ out: String, volume: Int, source: String, mentioning: String,
                                     file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let reader = try ArchiveReader(path: out + ".001", options: ReaderOptions(cacheBytes: 1 << 20, readAhead: false))
        let path = reader.volumes.textPaths[volume]
        XCTAssertEqual(Array(reader.volumes.problems.keys), [volume], file: file, line: line)
        let problem = reader.volumes.problems[volume].map { "\($0)" } ?? ""
        XCTAssertTrue(problem.contains(path) && (mentioning.isEmpty || problem.contains(mentioning)), problem, file: file, line: line)
        let inVolume = Set(reader.index.frames.indices.filter { reader.index.frames[$0].volume == volume })
        XCTAssertFalse(inVolume.isEmpty, file: file, line: line)
        for f in reader.index.frames.indices {
            do {
                try reader.checkFrame(f)
                XCTAssertFalse(inVolume.contains(f), "frame \(f) of \(path) checked out", file: file, line: line)
            } catch {
                XCTAssertTrue(inVolume.contains(f) && "\(error)".contains(path), "frame \(f): \(error)", file: file, line: line)
            }
        }
        let failed = readAll(reader, source: source, file: file, line: line)
        XCTAssertEqual(Set(failed.keys), Set(reader.files(touching: inVolume)), file: file, line: line)
        return failed.count
    }
}
