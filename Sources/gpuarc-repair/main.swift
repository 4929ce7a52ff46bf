import ArgumentParser
import Archive
import ArchiveWriter
import Foundation

@main
struct RepairCommand: ParsableCommand {
    /// Arguments reach the parser with non-UTF-8 bytes kept (`RawArguments`).
    /// SIGINT, SIGTERM and SIGHUP remove what the repair wrote and its lock (`Interruption`).
    static func main() {
        Interruption.install(program: "gpuarc-repair")
        main(RawArguments.forParser())
    }

    static let configuration = CommandConfiguration(
        commandName: "gpuarc-repair",
        abstract: "Check a gpuarc archive's volumes against its parity and rebuild the missing or damaged ones.",
        discussion: """
            Every data and parity volume is checked block by block against the \
            checksums its parity volumes hold (OUT.p01, ...; written by gpuarc-build \
            --parity N). Damaged or missing volumes are rebuilt into new files, checked, \
            and committed into place all at once, with the index copy when it is missing \
            or out of date (also without parity). Exit status: 0 intact or fully \
            repaired, 1 damage that could not be (or, with --verify, was not) \
            repaired, named on stderr, 128 + N stopped by signal N (nothing changed).
            """)

    @Argument(help: ArgumentHelp("Any volume of the archive, e.g. OUT.001.", valueName: "ARCHIVE"))
    var archive: String

    @Flag(help: "Only check: report the damage and whether it can be repaired; write nothing.")
    var verify = false

    func run() throws {
        let path = RawArguments.path(archive)
        do {
            if verify {
                let (damage, _) = try ArchiveRepair.check(path)
                describe(damage)
                if damage.isIntact { print("intact: every block of every volume matches its checksum"); return }
                print(damage.isRepairable ? "repairable: run gpuarc-repair without --verify" : "NOT fully repairable")
                throw ExitCode(1)
            }
            let report = try ArchiveRepair.repair(path)
            describe(report.damage)
            for volume in report.rebuilt { print("rebuilt \(volume)") }
            if report.indexCopyRewritten { print("rewrote the index copy \(VolumeNaming.base(of: path).withSuffix(".idx"))") }
            if report.volumesUnchecked {
                print("the archive has no parity volumes, so its volumes were not checked: gpuarc-extract --verify checks every frame")
            }
            if report.damage.isIntact && !report.indexCopyRewritten { print("intact: nothing to repair") }
            guard report.damage.isRepairable else {
                let why = report.damage.unrepairableStripes.isEmpty
                    ? "the data volumes are damaged and no parity volume remains"
                    : "stripes \(ranges(report.damage.unrepairableStripes)) lost more blocks than the \(report.damage.parityCount) parity volume(s) cover"
                fail("beyond repair: \(report.damage.beyondRepair.map(\.description).joined(separator: ", ")) (\(why))")
                throw ExitCode(1)
            }
        } catch let error as ArchiveError {
            fail(error.description)
            throw ExitCode(1)
        }
    }

    private func describe(_ damage: ArchiveRepair.Damage) {
        for (volume, stripes) in damage.blocks {
            let what = stripes.isEmpty ? "missing, damaged or of the wrong size" : "\(stripes.count) damaged or missing block(s) (stripes \(ranges(stripes)))"
            fail("\(volume): \(what)")
        }
    }

    /// "0-3, 7, 9-10".
    private func ranges(_ values: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < values.count {
            var j = i
            while j + 1 < values.count && values[j + 1] == values[j] + 1 { j += 1 }
            parts.append(i == j ? "\(values[i])" : "\(values[i])-\(values[j])")
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }

    private func fail(_ message: String) {
        FileHandle.standardError.write(Data("gpuarc-repair: \(message)\n".utf8))
    }
}
