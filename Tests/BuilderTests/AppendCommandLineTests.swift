import Foundation
import XCTest

/// `gpuarc-build --append` from the command line: killed with SIGKILL in
/// the middle of writing its volumes, it leaves the archive as it was (the
/// same bytes, the same versions, restored exactly); a concurrent append is
/// refused by the lock; `--versions` lists what is there.
extension CaptureCommandLineTests {
    func testAnAppendKilledMidwayLeavesTheArchiveAndALockedOneIsRefused() throws {
        let dir = temp("append-cli")
        let result = try shell("""
            set -e
            mkdir -p src/a; echo one > src/a/x; echo latin > "src/$(printf 'caf\\351')"
            gpuarc-build -q --no-progress --compressor cpu --name mon src out
            mkdir big; head -c 48000000 /dev/urandom > big/r1
            before=$(sha256sum out.001 out.idx)
            # Killed once it writes its third volume, while it is still writing.
            gpuarc-build -q --no-progress --compressor cpu --volume-size 1M --append out.001 --name tue big & pid=$!
            while [ ! -e out.004.partial ] && kill -0 $pid 2>/dev/null; do :; done
            kill -9 $pid; wait $pid || echo "killed=$?"
            test "$before" = "$(sha256sum out.001 out.idx)" && echo untouched
            gpuarc-extract --versions out.001
            gpuarc-extract out.001 dest && python3 "$TREECMP" src dest/mon | tail -1
            exec 9> out.lock; flock -x 9
            set +e
            timeout 20 gpuarc-build -q --no-progress --compressor cpu --append out.001 --name wed src; echo "locked=$?"
            exec 9>&-
            gpuarc-build -q --no-progress --compressor cpu --append out.001 --name wed src; echo "append=$?"
            gpuarc-extract --versions out.001 | cut -d' ' -f2
            ls out.* | grep -c partial
            """, in: dir)
        let out = result.out
        XCTAssertTrue(out.contains("killed=137") && out.contains("untouched"), out + result.err)
        XCTAssertTrue(out.contains("version mon") && !out.contains("version tue"), out)
        XCTAssertTrue(out.contains("0 differences"), out)
        XCTAssertTrue(out.contains("locked=1") && result.err.contains("another gpuarc-build, append or repair is writing"), out + result.err)
        XCTAssertTrue(out.contains("append=0\nmon\nwed\n0\n"), out + result.err)
    }
}
