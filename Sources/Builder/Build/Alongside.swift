import Foundation

/// `work` run on a thread of its own while the caller goes on (the
/// previous archive's index is decoded while the sources are scanned);
/// `value()` waits for it and returns what it returned or rethrows.
final class Alongside<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, Error>?
    private(set) var seconds = 0.0

    init(_ work: @escaping () throws -> T) {
        Thread { [self] in
            let started = Date()
            result = Result(catching: work)
            seconds = Date().timeIntervalSince(started)
            done.signal()
        }.start()
    }

    func value() throws -> T {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
