/// Helpers for the array convenience APIs, which lend byte arrays to the
/// pointer-based batch APIs. They copy, which is fine for tests and small
/// callers; the build pipeline hands in its own buffers.

/// Calls `body` with stable copies of `arrays`, freed afterwards.
package func withRawPointers<R>(_ arrays: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) throws -> R) throws -> R {
    let copies = arrays.map { array -> UnsafeMutableRawBufferPointer in
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(array.count, 1), alignment: 16)
        array.withUnsafeBytes { copy.copyMemory(from: $0) }
        return copy
    }
    defer { copies.forEach { $0.deallocate() } }
    return try body(zip(copies, arrays).map { UnsafeRawBufferPointer(rebasing: $0[..<$1.count]) })
}

/// Scratch outputs of the given sizes; the caller frees them.
package func allocateOutputs(_ sizes: [Int]) -> [UnsafeMutableRawBufferPointer] {
    sizes.map { UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer.allocate(byteCount: max($0, 1), alignment: 16)[..<$0]) }
}
