import Foundation
import Glibc
import XCTest
@testable import Archive

/// The command-line tools as a backup user drives them, with the inputs that
/// used to lose data silently: arguments that are not UTF-8 (bash's $'\xe9'
/// quoting passes them as raw bytes), `.` as SRC, a FIFO named like a volume,
/// a file-descriptor limit of 64, sockets, special mode bits, another build
/// holding OUT, and a user without the rights to set every attribute. Trees
/// are compared by an independent checker (Tests/Tools/treecmp.py: Python's
/// os functions on bytes paths) as well as by the suite's own snapshot.
final class CaptureCommandLineTests: ScratchTestCase {
    /// The directory of the built tools (next to the test bundle).
    var tools: String { Bundle.main.bundleURL.path }

    /// Runs `script` with bash in `directory`, the tools first on PATH, each
    /// command bounded by `timeout` (so a hang fails the test instead of the run).
    @discardableResult
    func shell(_ script: String, in directory: String, timeout: Int = 120,
               file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = tools + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["TREECMP"] = treecmp
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { kill(-p.processIdentifier, SIGKILL); p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(timeout), execute: killer)
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Tests/Tools/treecmp.py of this checkout.
    var treecmp: String {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.path + "/Tests/Tools/treecmp.py") {
            dir = dir.deletingLastPathComponent()
        }
        return dir.path + "/Tests/Tools/treecmp.py"
    }

    func assertOK(_ result: (status: Int32, out: String, err: String), _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 0, "\(what)\nstdout: \(result.out)\nstderr: \(result.err)", file: file, line: line)
    }

    /// SRC, OUT, DEST, MOUNTPOINT and --json given as Latin-1 bytes, holding
    /// names in Latin-1 next to their U+FFFD look-alikes: built, listed,
    /// extracted and mounted as themselves.
    func testArgumentsAndNamesThatAreNotUTF8() throws {
        let dir = temp("argv")
        assertOK(try shell("""
            set -e
            mkdir -p $'src\\xe9/d\\xff' $'src\\xe9/d\\xef\\xbf\\xbd' $'out\\xe9' $'mnt\\xe9'
            printf 'latin-1\\n' > $'src\\xe9/caf\\xe9.txt'
            printf 'in 0xff\\n' > $'src\\xe9/d\\xff/f'
            printf 'in U+FFFD\\n' > $'src\\xe9/d\\xef\\xbf\\xbd/f'
            ln -s $'caf\\xe9.txt' $'src\\xe9/link\\xe9'
            gpuarc-build -q --no-progress --compressor cpu --json $'out\\xe9/stats\\xe9.json' $'src\\xe9' $'out\\xe9/arc\\xff'
            test -s $'out\\xe9/stats\\xe9.json'
            gpuarc-extract $'out\\xe9/arc\\xff.001' --list > list.txt
            gpuarc-extract --decoder cpu $'out\\xe9/arc\\xff.001' $'dest\\xe9' > /dev/null
            python3 "$TREECMP" $'src\\xe9' $'dest\\xe9'
            M=$'mnt\\xe9'
            gpuarc-mount $'out\\xe9/arc\\xff.001' "$M" -o auto_unmount --decoder cpu
            trap 'fusermount3 -u -z "$M"' EXIT
            python3 "$TREECMP" $'src\\xe9' "$M"
            """, in: dir), "round trip with byte arguments")
        let list = try String(contentsOfFile: dir + "/list.txt", encoding: .utf8)
        XCTAssertTrue(list.contains(" caf\\351.txt") && list.contains(" d\\377/") && list.contains(" d\u{FFFD}/"), list)
        XCTAssertTrue(list.contains("link\\351 -> caf\\351.txt"), list)
        let snapshot = TreeSnapshot(dir + "/src\u{E9}")
        XCTAssertTrue(snapshot.entries.isEmpty, "the source is not reachable by its UTF-8 look-alike")
    }

    /// `gpuarc-build . ../out` and SRCs spelled `v1/.`, `v2/` and `x/../v3`:
    /// each stands for the directory it is, with that directory's name.
    func testDotAndDotDotSourcesAreTheDirectoriesTheyName() throws {
        let dir = temp("dots")
        assertOK(try shell("""
            set -e
            mkdir -p v1/sub v2 v3 x out
            echo one > v1/sub/a; echo two > v2/b; echo three > v3/c
            (cd v1 && gpuarc-build -q --no-progress --compressor cpu . ../out/single)
            gpuarc-extract out/single.001 dest-single > /dev/null
            python3 "$TREECMP" v1 dest-single
            gpuarc-build -q --no-progress --compressor cpu v1/. v2/ x/../v3 out/versions
            gpuarc-extract out/versions.001 dest-versions > /dev/null
            for v in v1 v2 v3; do python3 "$TREECMP" $v dest-versions/$v; done
            """, in: dir), "dot sources")
        let index = try ArchiveReader(path: dir + "/out/versions.001").index
        XCTAssertEqual(index.entryRange(ofDirectory: 0).map { index.name(of: index.entries[$0]) }, ["v1", "v2", "v3"])
    }

    /// A FIFO named like a volume makes extract and mount refuse at once,
    /// naming it, instead of waiting forever for a writer.
    func testAFifoNamedLikeAVolumeIsRefusedNotWaitedOn() throws {
        let dir = temp("fifo")
        let result = try shell("""
            mkfifo arc.001; mkdir mnt
            timeout 20 gpuarc-extract arc.001 --list; echo "list=$?"
            timeout 20 gpuarc-extract arc.001 dest; echo "extract=$?"
            timeout 20 gpuarc-mount arc.001 mnt -o auto_unmount; echo "mount=$?"
            """, in: dir)
        for tool in ["list", "extract", "mount"] { XCTAssertTrue(result.out.contains("\(tool)=1"), "\(tool): \(result.out) \(result.err)") }
        XCTAssertTrue(result.err.contains("arc.001 is not a regular file (a FIFO)"), result.err)
    }

    /// Under a limit of 64 open files, a tree of 3000 files in 60
    /// directories and one 120 levels deep is built and restored whole.
    func testALowFileDescriptorLimit() throws {
        let dir = temp("fds")
        assertOK(try shell("""
            set -e
            mkdir src
            for d in $(seq 60); do mkdir src/d$d; for f in $(seq 50); do echo "file $d $f" > src/d$d/f$f; done; done
            deep=src/deep; for i in $(seq 120); do deep=$deep/level-$i; done; mkdir -p $deep; echo bottom > $deep/file
            prlimit --nofile=64:64 gpuarc-build -q --no-progress --compressor cpu src out
            prlimit --nofile=64:64 gpuarc-extract --decoder cpu out.001 dest > /dev/null
            python3 "$TREECMP" src dest
            """, in: dir, timeout: 300), "build and extract with 64 descriptors")
    }

    /// A socket is restored as a socket, and --list shows setuid, setgid
    /// and sticky bits as ls does.
    func testSocketsAndSpecialModeBits() throws {
        let dir = temp("special")
        assertOK(try shell("""
            set -e
            mkdir -p src/shared src/group
            python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind('src/control.sock')"
            echo x > src/setuid; chmod 4755 src/setuid
            echo y > src/setuid-noexec; chmod 4644 src/setuid-noexec
            chmod 2755 src/group; chmod 1777 src/shared
            gpuarc-build -q --no-progress --compressor cpu src out
            gpuarc-extract out.001 --list > list.txt
            gpuarc-extract out.001 dest > /dev/null
            test -S dest/control.sock
            python3 "$TREECMP" src dest
            """, in: dir), "special files")
        let list = try String(contentsOfFile: dir + "/list.txt", encoding: .utf8)
        for expected in ["-rwsr-xr-x 0/0", "-rwSr--r-- 0/0", "drwxr-sr-x 0/0", "drwxrwxrwt 0/0", "srwxr-xr-x 0/0"] {
            XCTAssertTrue(list.contains(expected), "\(expected) in\n\(list)")
        }
    }

    /// While another process holds OUT's lock (as a running build does), a
    /// build to OUT fails at once with a message naming it, and nothing at
    /// OUT changes.
    func testABuildIsRefusedWhileOutputIsLocked() throws {
        let dir = temp("locked")
        let result = try shell("""
            mkdir src; echo a > src/a
            gpuarc-build -q --no-progress --compressor cpu src out || exit 9
            before=$(sha256sum out.001)
            exec 9> out.lock; flock -x 9
            timeout 20 gpuarc-build -q --no-progress --compressor cpu src out; echo "status=$?"
            test "$before" = "$(sha256sum out.001)" && echo unchanged
            """, in: dir)
        XCTAssertTrue(result.out.contains("status=1") && result.out.contains("unchanged"), result.out + result.err)
        XCTAssertTrue(result.err.contains("another gpuarc-build, append or repair is writing"), result.err)
    }

    /// Restored by an ordinary user: the attributes that user may set are
    /// set (user.*), the others are named in one warning each, exit 2, and
    /// the bytes are all there.
    func testExtractAsAUserSetsWhatItMayAndNamesTheRest() throws {
        let dir = temp("user")
        chmod(dir, 0o755)
        let result = try shell("""
            set -e
            mkdir src; echo data > src/file; echo more > src/other
            python3 -c "import os; [os.setxattr(f, 'user.note', b'kept') for f in ('src/file', 'src/other')]; os.setxattr('src/file', 'trusted.secret', b'root only')"
            gpuarc-build -q --no-progress --compressor cpu src out
            chmod 644 out.001; mkdir dest; chown 65534:65534 dest
            set +e
            setpriv --reuid=65534 --regid=65534 --clear-groups gpuarc-extract --decoder cpu out.001 dest/r; echo "status=$?"
            set -e
            python3 -c "import os; print('note=' + os.getxattr('dest/r/file', 'user.note').decode())"
            cmp src/file dest/r/file && cmp src/other dest/r/other && echo bytes-ok
            """, in: dir)
        XCTAssertTrue(result.out.contains("status=2"), result.out + result.err)
        XCTAssertTrue(result.out.contains("note=kept") && result.out.contains("bytes-ok"), result.out + result.err)
        XCTAssertTrue(result.err.contains("trusted.secret") && result.err.contains("1 entry"), result.err)
    }
}
