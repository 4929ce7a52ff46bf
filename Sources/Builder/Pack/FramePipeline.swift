import Archive
import Foundation

/// The bounded read -> compress -> write pipeline. The caller (the reader)
/// fills frame slots with stored bytes; worker threads compress them; one writer
/// thread puts them on disk in frame order. A fixed pool of slots bounds memory
/// whatever the input size: the reader waits for a free slot when the disk or
/// the compressors fall behind.
///
/// Memory: `slotCount(workers:)` slots of one frame each, plus one
/// compression buffer per worker. A worker compresses a slot's bytes into its
/// own buffer and copies the (smaller) result back over them, so a slot
/// holds one frame's worth whether it goes to disk RAW or compressed:
/// (2 x workers + 1) frames in all, 80 MiB with two workers and 16 MiB frames
/// (it was 2 x (workers + 2), 128 MiB).
final class FramePipeline: @unchecked Sendable {
    final class Slot: @unchecked Sendable {
        /// The frame's bytes, then (for compressed frames) its compressed bytes.
        let buffer: UnsafeMutableRawBufferPointer
        var number = 0
        var used = 0
        var stored = 0
        var codec = FrameCodec.raw
        /// Source bytes read while the frame filled (its level may follow them).
        var sourceBytes = 0
        var level: Int?
        var compressedBy = ""
        var decodedHash: UInt64 = 0
        var payloadHash: UInt64 = 0

        /// What goes to disk: the compressed bytes, or the frame's for RAW frames.
        var payload: UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: buffer[0..<(codec == .raw ? used : stored)])
        }

        init(frameSize: Int) { buffer = FramePipeline.allocateFrame(frameSize) }
        deinit { buffer.deallocate() }
    }

    /// One worker's compression output.
    final class Output: @unchecked Sendable {
        let buffer: UnsafeMutableRawBufferPointer
        init(frameSize: Int) { buffer = FramePipeline.allocateFrame(LZ4X.compressBound(frameSize)) }
        deinit { buffer.deallocate() }
    }

    /// Slots besides one per worker: the one the reader fills while every
    /// worker compresses one. The writer writes a slot while the next ones
    /// compress; a second spare slot (for the writer) made no difference to
    /// build times on 2 cores beyond the noise (4 alternating runs each on
    /// ten Django releases and on a system tree), and cost 16 MiB.
    static let spareSlots = 1

    static func slotCount(workers: Int) -> Int { workers + spareSlots }

    /// A frame buffer, in ordinary pages. Marked for transparent huge pages
    /// (as they were, for the encoder's TLB misses: 1.03-1.3x in
    /// gpuarc-bench), their first use made the kernel compact memory for
    /// them in the page fault, which on this 2-core VM took 7 to 175 ms for
    /// 80 MiB, run to run, while the packer waited; 4 KiB pages took 31-42
    /// ms. Whole builds of a 313 MiB system tree went from a median of 0.91
    /// to 0.81 s (7 alternating runs each); the encoder's speed was the same
    /// within the noise. Populating the buffers ahead on a thread of their
    /// own (MADV_POPULATE_WRITE) held the packer's page faults up behind it
    /// as well, and bought nothing once the pages were small.
    static func allocateFrame(_ bytes: Int) -> UnsafeMutableRawBufferPointer {
        .allocate(byteCount: bytes, alignment: 64)
    }

    let frameSize: Int
    private let free = BlockingQueue<Slot>()
    private let toCompress = BlockingQueue<Slot>()
    private let toWrite = BlockingQueue<Slot>()
    private let writer: VolumeWriter
    private let lock = NSLock()
    private var failure: Error?
    private var nextNumber = 0
    private let firstFrame: Int
    private(set) var frames: [FrameRecord] = []
    /// Frames written, by device ("cpu", ...) and codec name.
    private(set) var framesByDevice: [String: [String: Int]] = [:]
    /// Frames compressed by a compressor with levels, by level.
    private(set) var framesByLevel: [Int: Int] = [:]

    private let workersDone = DispatchGroup()
    private let writerDone = DispatchGroup()

    /// Frame slots in the pool (`slotCount(workers:)`).
    let slots: Int

    /// `firstNumber`: the number of the first frame (an append's continue the archive's).
    init(frameSize: Int, workers: Int, writer: VolumeWriter, firstNumber: Int = 0, makeCompressor: FrameCompressorFactory) {
        self.frameSize = frameSize
        nextNumber = firstNumber
        firstFrame = firstNumber
        self.writer = writer
        let pool = (0..<Self.slotCount(workers: workers)).map { _ in Slot(frameSize: frameSize) }
        slots = pool.count
        for slot in pool { free.put(slot) }
        let outputs = (0..<workers).map { _ in Output(frameSize: frameSize) }
        for w in 0..<workers {
            let compressor = makeCompressor(w)
            let output = outputs[w]
            workersDone.enter()
            Thread.detachNewThread { [self] in
                compressLoop(compressor, output: output.buffer)
                workersDone.leave()
            }
        }
        writerDone.enter()
        Thread.detachNewThread { [self] in
            writeLoop()
            writerDone.leave()
        }
    }

    /// The first error any stage hit (the reader checks it to stop early).
    var error: Error? {
        lock.lock(); defer { lock.unlock() }
        return failure
    }

    private func fail(_ error: Error) {
        lock.lock()
        if failure == nil { failure = error }
        lock.unlock()
    }

    /// A free slot to fill, numbered as the next frame. Waits while all are busy.
    func takeSlot() -> Slot {
        let slot = free.take()!
        slot.number = nextNumber
        slot.used = 0
        slot.sourceBytes = 0
        slot.level = nil
        nextNumber += 1
        return slot
    }

    func submit(_ slot: Slot) { toCompress.put(slot) }

    /// Waits for every submitted frame to be written; returns the frame table.
    func finish() throws -> [FrameRecord] {
        toCompress.close()
        workersDone.wait()
        toWrite.close()
        writerDone.wait()
        if let failure = error { throw failure }
        return frames
    }

    /// Compresses slots into `output` (this worker's), then copies what
    /// shrank back into the slot. Checksums are computed here, in parallel,
    /// not on the writer thread; the decoded one before the bytes go.
    private func compressLoop(_ compressor: FrameCompressor, output: UnsafeMutableRawBufferPointer) {
        while let slot = toCompress.take() {
            let input = UnsafeRawBufferPointer(rebasing: slot.buffer[0..<slot.used])
            slot.decodedHash = XXHash64.hash(input)
            // After a failure, frames are only drained, not compressed.
            let (size, level) = error == nil
                ? compressor.compress(input, into: UnsafeMutableRawBufferPointer(rebasing: output[0..<slot.used]), standingFor: slot.sourceBytes)
                : (nil, nil)
            slot.level = level
            if let n = size {
                slot.buffer.baseAddress!.copyMemory(from: output.baseAddress!, byteCount: n)
                slot.codec = compressor.codec
                slot.stored = n
            } else {
                slot.codec = .raw
                slot.stored = slot.used
            }
            slot.compressedBy = compressor.deviceName
            slot.payloadHash = slot.codec == .raw ? slot.decodedHash : XXHash64.hash(slot.payload)
            toWrite.put(slot)
        }
    }

    private func writeLoop() {
        var pending: [Int: Slot] = [:]
        var expected = firstFrame
        while let slot = toWrite.take() {
            pending[slot.number] = slot
            while let ready = pending.removeValue(forKey: expected) {
                write(ready)
                expected += 1
                free.put(ready)
            }
        }
    }

    private func write(_ slot: Slot) {
        guard error == nil else { return }
        let header = FrameHeader(codec: slot.codec, number: UInt32(slot.number), storedSize: UInt32(slot.stored),
                                 decodedSize: UInt32(slot.used), payloadHash: slot.payloadHash,
                                 decodedHash: slot.decodedHash)
        do {
            let (volume, offset) = try writer.append(header: header, payload: slot.payload)
            frames.append(FrameRecord(volume: volume, offset: offset, storedSize: header.storedSize,
                                      decodedSize: header.decodedSize, codec: slot.codec,
                                      payloadHash: header.payloadHash, decodedHash: header.decodedHash))
            framesByDevice[slot.compressedBy, default: [:]][slot.codec.name, default: 0] += 1
            if let level = slot.level, slot.codec != .raw { framesByLevel[level, default: 0] += 1 }
        } catch {
            fail(error)
        }
    }
}
