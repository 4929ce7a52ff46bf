import Foundation
import XCTest

/// Commits (docs/FORMAT.md, "Commits"): a rebuild over an existing archive,
/// an append and a repair, each killed with SIGKILL at every fsync, rename
/// and unlink of its commit (the fail point `GPUARC_FAILPOINT=commit:N`, a
/// hook in the commit code: no sleeps). After every kill, extract exits 0
/// with exactly the old tree or exactly the new one (treecmp), never a mix;
/// the state is the old one until the commit record is written and the new
/// one from then on; and the next build, append or repair goes through.
/// Then SIGTERM, SIGINT and SIGHUP: what the run created is removed, the
/// lock too, the exit status is 128 + the signal. And an index copy left
/// out of date: reported, rewritten, and when the index itself is damaged
/// behind it, the versions that cannot be read are named (exit 1).
extension CaptureCommandLineTests {
    /// The trees the scripts below use: s1 (six random files, ~2 MB, five
    /// volumes of 400 KiB), s2 (two small files, one named in Latin-1).
    private static let trees = """
        mkdir -p s1/sub s2/d
        for i in 1 2 3 4 5 6; do head -c 300000 /dev/urandom > s1/sub/f$i; done
        echo new > s2/d/only; printf 'x' > "s2/$(printf 'caf\\351')"
        B="gpuarc-build -q --no-progress --compressor cpu --volume-size 400K"
        same() { python3 "$TREECMP" "$1" "$2" > /dev/null 2>&1; }
        mkdir tpl

        """

    /// The lines "step N build=RC extract=RC STATE ..." a kill loop printed.
    private func steps(_ text: String) -> [(n: Int, build: String, extract: String, state: String, rest: [String])] {
        text.split(separator: "\n").filter { $0.hasPrefix("step ") }.map { line in
            let f = line.split(separator: " ").map(String.init) + ["", "", "", ""]
            return (Int(f[1]) ?? -1, f[2], f[3], f[4], Array(f.dropFirst(5)).filter { !$0.isEmpty })
        }
    }

    /// What every kill loop must show: the run without a kill (the last)
    /// succeeded after `kills` killed ones; after each kill extract exited 0
    /// with the state `expected(step)` and the next run (a "step N next"
    /// line) succeeded. Returns the runs (not the "next" lines).
    @discardableResult
    private func assertKillLoop(_ result: (status: Int32, out: String, err: String), kills expectedKills: Int,
                                expected: (Int) -> String, file: StaticString = #filePath, line: UInt = #line)
        -> [(n: Int, build: String, extract: String, state: String, rest: [String])] {
        let all = steps(result.out)
        let runs = all.filter { $0.build.hasPrefix("build=") }
        let kills = runs.filter { $0.build == "build=137" }
        XCTAssertEqual(runs.last?.build, "build=0", result.out + result.err, file: file, line: line)
        XCTAssertEqual(kills.count, expectedKills, result.out, file: file, line: line)
        for step in runs {
            XCTAssertEqual(step.extract, "extract=0", "step \(step.n): \(result.out)", file: file, line: line)
            XCTAssertEqual(step.state, expected(step.n), "step \(step.n): \(result.out)", file: file, line: line)
        }
        for kill in kills {
            XCTAssertTrue(all.contains { $0.n == kill.n && $0.build == "next" },
                          "step \(kill.n): the next run failed\n\(result.out)\(result.err)", file: file, line: line)
        }
        return runs
    }

    func testCommitOfARebuildKilledAtEveryStepIsOldOrNewNeverAMix() throws {
        let dir = temp("commit-rebuild")
        let result = try shell(Self.trees + """
            $B --parity 1 s1 tpl/rb
            n=0
            while [ $n -lt 60 ]; do
                n=$((n + 1))
                rm -rf w x y; mkdir w; cp -a tpl/. w/
                GPUARC_FAILPOINT=commit:$n $B s2 w/rb 2>/dev/null; rc=$?
                gpuarc-extract w/rb.001 x > /dev/null 2> err; erc=$?
                if same s1 x; then state=old; elif same s2 x; then state=new; else state=neither; fi
                pending=; [ -e w/rb.commit ] && pending=pending
                if [ $n = 5 ]; then
                    # Killed again while the next build finishes this commit.
                    GPUARC_FAILPOINT=commit:2 $B s2 w/rb 2>/dev/null
                    gpuarc-extract w/rb.001 y > /dev/null 2>&1 && same s2 y && pending="$pending again-new"
                    rm -rf y
                fi
                echo "step $n build=$rc extract=$erc $state $pending"
                [ $rc = 0 ] && break
                $B s2 w/rb && gpuarc-extract w/rb.001 y > /dev/null 2>&1 && same s2 y && echo "step $n next build=0 new"
                ls w | grep -E 'partial|commit|lock|\\.p0' | sed "s/^/step $n stray /"
            done
            cat err
            """, in: dir, timeout: 600)
        // The commit point is the record's fsync'ed rename (step 2): record
        // (3 steps), the new volume and the copy renamed, 4 old volumes and the
        // parity removed, fsync, the record removed, fsync.
        let runs = assertKillLoop(result, kills: 3 + 2 + 5 + 3) { $0 <= 2 ? "old" : "new" }
        let total = runs.count - 1
        for step in runs {
            XCTAssertEqual(step.rest.contains("pending"), step.n >= 3 && step.n < total, "step \(step.n): the record stays until its last steps")
        }
        XCTAssertTrue(runs.contains { $0.n == 5 && $0.rest.contains("again-new") }, result.out)
        XCTAssertFalse(steps(result.out).contains { $0.build == "stray" }, "files left after the next build: \(result.out)")
    }

    func testCommitOfAnAppendKilledAtEveryStepIsOldOrNewAndTheNextAppendWorks() throws {
        let dir = temp("commit-append")
        let result = try shell(Self.trees + """
            $B --name v1 s1 tpl/ap
            n=0
            while [ $n -lt 40 ]; do
                n=$((n + 1))
                rm -rf w x y; mkdir w; cp -a tpl/. w/
                GPUARC_FAILPOINT=commit:$n $B --append w/ap.001 --name v2 s2 2>/dev/null; rc=$?
                gpuarc-extract w/ap.001 x > /dev/null 2>&1; erc=$?
                if same s1 x/v1 && [ ! -e x/v2 ]; then state=old; elif same s1 x/v1 && same s2 x/v2; then state=new; else state=neither; fi
                echo "step $n build=$rc extract=$erc $state"
                [ $rc = 0 ] && break
                if [ $state = old ]; then next=v2; else next=v3; fi
                $B --append w/ap.001 --name $next s2 && gpuarc-extract w/ap.001 y > /dev/null 2>&1 && same s2 y/$next \\
                    && gpuarc-extract --verify w/ap.001 > /dev/null 2>&1 && echo "step $n next build=0 $next"
            done
            """, in: dir, timeout: 600)
        // Record (3 steps), the new volume and the copy renamed, fsync, the record removed, fsync.
        assertKillLoop(result, kills: 3 + 2 + 3) { $0 <= 2 ? "old" : "new" }
    }

    func testCommitOfARepairKilledAtEveryStepLeavesAReadableArchive() throws {
        let dir = temp("commit-repair")
        let result = try shell(Self.trees + """
            $B --parity 1 s1 tpl/rp
            rm tpl/rp.002 tpl/rp.idx
            n=0
            while [ $n -lt 40 ]; do
                n=$((n + 1))
                rm -rf w x y; mkdir w; cp -a tpl/. w/
                GPUARC_FAILPOINT=commit:$n gpuarc-repair w/rp.001 > /dev/null 2>&1; rc=$?
                gpuarc-extract w/rp.001 x > /dev/null 2>&1; erc=$?
                if same s1 x; then state=same; else state=different; fi
                echo "step $n build=$rc extract=$erc $state"
                [ $rc = 0 ] && break
                gpuarc-repair w/rp.001 > /dev/null && gpuarc-repair --verify w/rp.001 > /dev/null \\
                    && gpuarc-extract --verify w/rp.001 > /dev/null 2>&1 && echo "step $n next build=0"
            done
            """, in: dir, timeout: 600)
        // Record (3 steps), rp.002 and rp.idx renamed, fsync, the record removed, fsync.
        assertKillLoop(result, kills: 3 + 2 + 3) { _ in "same" }
    }

    /// SIGTERM, SIGINT and SIGHUP caught at a known point of a rebuild, an
    /// append and a repair: what the run created is gone, the lock too, the
    /// archive is as it was; caught inside a commit, the commit ends first.
    func testCommitSignalsRemoveWhatTheRunCreated() throws {
        let dir = temp("commit-signals")
        let result = try shell(Self.trees + """
            $B --name v1 --parity 1 s1 a
            before=$(ls a.*; sha256sum a.*)
            GPUARC_FAILPOINT=volume:2:TERM $B s1 a 2> err; echo "rebuild=$?"; grep -c 'interrupted by SIGTERM' err
            test "$before" = "$(ls a.*; sha256sum a.*)" && echo "rebuild untouched"
            GPUARC_FAILPOINT=volume:1:INT $B --append a.001 --name v2 s2 2> err; echo "append=$?"; grep -c 'interrupted by SIGINT' err
            test "$before" = "$(ls a.*; sha256sum a.*)" && echo "append untouched"
            rm a.003
            GPUARC_FAILPOINT=repair:1:HUP gpuarc-repair a.001 > /dev/null 2> err; echo "repair=$?"; grep -c 'interrupted by SIGHUP' err
            ls | grep -cE 'repair|partial|lock|commit'
            gpuarc-repair a.001 > /dev/null; echo "repaired=$?"
            GPUARC_FAILPOINT=commit:5:TERM $B --append a.001 --name v2 s2 2> err; echo "commit=$?"; cat err
            ls | grep -cE 'repair|partial|lock|commit'
            gpuarc-extract a.001 x > /dev/null 2>&1 && same s1 x/v1 && same s2 x/v2 && echo "committed whole"
            """, in: dir, timeout: 300)
        let out = result.out
        for line in ["rebuild=143\n1\nrebuild untouched", "append=130\n1\nappend untouched", "repair=129\n1\n0\nrepaired=0",
                     "commit=143", "committed first", "\n0\ncommitted whole"] {
            XCTAssertTrue(out.contains(line), "\(line)\n---\n\(out)\(result.err)")
        }
    }

    /// An index copy out of date (as a kill between the last volume's rename
    /// and the copy's left it before commit records): `--verify` fails
    /// naming it, extract still restores everything; once the index itself
    /// is damaged behind it, the versions that cannot be read are named and
    /// every reader exits 1, and an append that would write over them is
    /// refused. `gpuarc-repair` (no parity needed) and the next append
    /// rewrite the copy.
    func testCommitStaleIndexCopyIsNamedAndADamagedIndexBehindItNamesWhatIsLost() throws {
        let dir = temp("commit-stale-copy")
        let result = try shell(Self.trees + """
            $B --name v1 s1 ap; cp ap.idx v1.idx
            $B --append ap.001 --name v2 s2
            cp v1.idx ap.idx
            gpuarc-extract --verify ap.001 > /dev/null 2> err; echo "verify=$?"; grep -o 'out of date.*"v2" would be lost' err | head -1
            gpuarc-extract ap.001 x > /dev/null 2> err; echo "extract=$?"; grep -c 'warning: the index copy .* is out of date' err
            same s2 x/v2 && echo "v2 restored"
            mkdir stale; cp ap.* stale/
            gpuarc-repair ap.001; echo "repair=$?"
            gpuarc-extract --verify ap.001 > /dev/null 2>&1; echo "verified=$?"
            cp v1.idx ap.idx
            $B --append ap.001 --name v3 s2 > /dev/null; echo "append=$?"
            gpuarc-extract --verify ap.001 > /dev/null 2>&1; echo "verified after append=$?"
            # The stale copy again, and the newest index damaged behind it.
            cd stale
            last=$(ls ap.0* | sort | tail -1)
            python3 -c "import os,sys; f=open(sys.argv[1],'r+b'); f.seek(os.path.getsize(sys.argv[1])-30); b=f.read(1); f.seek(-1,1); f.write(bytes([b[0]^0xff]))" $last
            gpuarc-extract ap.001 y > /dev/null 2> err; echo "damaged=$?"; cat err
            same ../s1 y/v1 && echo "v1 restored"
            gpuarc-extract --versions ap.001 > /dev/null 2>&1; echo "versions=$?"
            gpuarc-extract --verify ap.001 > /dev/null 2>&1; echo "verify damaged=$?"
            $B --append ap.001 --name v3 ../s2 2> err; echo "refused=$?"; grep -c 'cannot append' err
            """, in: dir, timeout: 300)
        let out = result.out
        for line in ["verify=1\nout of date", "\"v2\" would be lost", "extract=0\n1\nv2 restored", "rewrote the index copy", "repair=0\nverified=0",
                     "append=0\nverified after append=0", "damaged=1", "versions up to \"v1\" can be read", "v1 restored", "versions=1",
                     "verify damaged=1", "refused=1\n1"] {
            XCTAssertTrue(out.contains(line), "\(line)\n---\n\(out)\(result.err)")
        }
    }
}
