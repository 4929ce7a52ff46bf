/// Host memory with a stable address for asynchronous transfers: a queued
/// read or write keeps using the pointer after the call returns, which a
/// Swift array's storage does not promise to outlive.
package final class OpenCLHostArray<Element> {
    private(set) var buffer: UnsafeMutableBufferPointer<Element>

    package init() { buffer = UnsafeMutableBufferPointer(start: nil, count: 0) }

    deinit { buffer.deallocate() }

    /// Replaces the contents (the old memory must no longer be in a transfer).
    package func set(_ values: [Element]) {
        buffer.deallocate()
        buffer = .allocate(capacity: max(values.count, 1))
        _ = buffer.initialize(from: values)
        buffer = UnsafeMutableBufferPointer(rebasing: buffer[0..<values.count])
    }

    package subscript(i: Int) -> Element { buffer[i] }
    package var count: Int { buffer.count }
    package var raw: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(buffer) }
}
