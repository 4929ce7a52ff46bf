import Foundation

/// Parses sizes such as `16M`, `1G`, `512K`, `4096` (binary units) for every
/// command line option that takes a size.
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let last = trimmed.last else { return nil }
        var digits = trimmed
        var multiplier = 1
        switch last {
        case "k", "K": multiplier = 1 << 10
        case "m", "M": multiplier = 1 << 20
        case "g", "G": multiplier = 1 << 30
        case "t", "T": multiplier = 1 << 40
        default: break
        }
        if multiplier != 1 { digits.removeLast() }
        if digits.hasSuffix("i") || digits.hasSuffix("I") { return nil }
        guard let value = Int(digits), value >= 0 else { return nil }
        let (result, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : result
    }

    /// Human form for summaries: 1.5 MiB, 23.4 GiB.
    public static func format(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
