/// A whole-frame LZ4X decoder that replaces the CPU's resumable one in the
/// frame cache (the OpenCL decoder implements it: a GPU decodes whole frames,
/// so a frame is decoded completely at its first read). It must throw on a
/// block that does not decode to exactly `output.count` bytes.
public protocol FrameDecoding: Sendable {
    func decode(_ block: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws
}
