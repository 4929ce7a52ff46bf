import Archive
import XCTest
@testable import Builder

/// A directory scanned the way a build scans it, with the `SourceFiles`
/// that read its files: for testing the stages after the scan on their own.
struct ScannedSource {
    let roots: SourceRoots
    let tree: ScannedTree
    let files: SourceFiles

    init(_ root: String, afterRead: (@Sendable (ReadPurpose, [UInt8]) -> Void)? = nil) throws {
        roots = try SourceRoots([BytePath(root)])
        tree = try TreeScanner.scan(roots)
        files = SourceFiles(tree: tree, roots: roots, afterRead: afterRead)
    }

    /// The node of the entry at `relative` below the root ("dir/file").
    func node(_ relative: String) -> Int {
        tree.nodes.indices.first { tree.relativePath($0) == Array(relative.utf8) && !tree.sourceRoots.contains($0) }!
    }
}
