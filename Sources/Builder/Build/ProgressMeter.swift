import Foundation
import Archive

/// A one-line progress bar on stderr (bytes, rate, ETA), redrawn at most ten
/// times a second. Only used when stderr is a terminal.
final class ProgressMeter {
    private let total: UInt64
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(total: UInt64) { self.total = total }

    func update(_ done: UInt64) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(done) / elapsed
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let eta = rate > 0 ? Double(total - min(done, total)) / rate : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = String(format: "\r[%@] %5.1f%% %@ / %@ %.1f MB/s ETA %.0fs ", bar, fraction * 100,
                          ByteSize.format(done), ByteSize.format(total), rate / 1e6, eta)
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
