#!/usr/bin/env bash
# Builds the libFuzzer targets (Swift -sanitize=fuzzer,address) in .build-fuzz
# and runs each one for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Seeds come from Tests/FuzzCorpus/<target>/ (committed: real archives plus every
# input that once crashed, so each run replays all regressions first); new
# inputs the fuzzer finds go to .build-fuzz/corpus/<target>/, crashes to
# .build-fuzz/crashes/. The executions per target are appended to
# .build-fuzz/stats.txt. Exit status is non-zero if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-20}
shift || true
TARGETS=${*:-"lz4x_decode zstd_decode index_parse frame_read parity_parse commit_record"}
OUT=.build-fuzz
SWIFTC=${SWIFTC:-swiftc}
FLAGS=(-sanitize=fuzzer,address -O -g -package-name gpuarc -I Sources/CZlib -I Sources/CDeflate -I Sources/COpenCL -I Sources/CPrefetch -I Sources/CSysCalls -I Sources/CISAL -I Sources/CZstd -I "$OUT")

mkdir -p "$OUT/crashes"
# The Archive module, instrumented, built once and shared by every target.
sources=$(find Sources/Archive -name '*.swift' | sort)
newest=$(ls -t $sources | head -1)
if [ ! -f "$OUT/libArchive.a" ] || [ "$newest" -nt "$OUT/libArchive.a" ]; then
    echo "fuzz: building instrumented Archive module"
    "$SWIFTC" "${FLAGS[@]}" -parse-as-library -module-name Archive -emit-module \
        -emit-module-path "$OUT/Archive.swiftmodule" -emit-library -static -o "$OUT/libArchive.a" $sources \
        >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
fi

declare -A MAIN=([lz4x_decode]=LZ4XDecodeFuzz [zstd_decode]=ZstdDecodeFuzz [index_parse]=IndexParseFuzz [frame_read]=FrameReadFuzz [parity_parse]=ParityParseFuzz [commit_record]=CommitRecordFuzz)
declare -A EXTRA=([lz4x_decode]="" [zstd_decode]="" [index_parse]=FuzzSeal [frame_read]="FuzzSeal FrameReadSeal" [parity_parse]="" [commit_record]="")
status=0
for t in $TARGETS; do
    files="Tests/Fuzz/${MAIN[$t]}.swift"
    for e in ${EXTRA[$t]}; do files="$files Tests/Fuzz/$e.swift"; done
    if [ ! -x "$OUT/$t" ] || [ -n "$(find $files "$OUT/libArchive.a" -newer "$OUT/$t")" ]; then
        echo "fuzz: building $t"
        # (ld.gold warns about every ASan helper symbol: kept in the log, not shown.)
        "$SWIFTC" "${FLAGS[@]}" -parse-as-library -module-name "fuzz_$t" $files "$OUT/libArchive.a" -lz -ldeflate -lOpenCL -lisal -lzstd -o "$OUT/$t" \
            >"$OUT/build-$t.log" 2>&1 || { grep -v "Cannot export local symbol" "$OUT/build-$t.log"; exit 1; }
    fi
    mkdir -p "$OUT/corpus/$t"
    echo "fuzz: running $t for ${SECONDS_PER_TARGET}s"
    log="$OUT/$t.log"
    # The Swift runtime backtracer trips ASan while it reads memory; libFuzzer reports crashes itself.
    if ! SWIFT_BACKTRACE=enable=no "$OUT/$t" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
            -artifact_prefix="$OUT/crashes/$t-" "$OUT/corpus/$t" "Tests/FuzzCorpus/$t" >"$log" 2>&1; then
        echo "fuzz: $t FAILED; see $log and $OUT/crashes/"
        grep -m5 -E "ERROR|Fatal error|SUMMARY" "$log" || tail -20 "$log"
        status=1
    fi
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    echo "$(date -u +%FT%TZ) $t ${SECONDS_PER_TARGET}s execs=$execs" | tee -a "$OUT/stats.txt"
done
# Scratch directories of fuzzers no longer running (another run may still be using its own).
for d in /dev/shm/gpuarc-fuzz-* /tmp/gpuarc-fuzz-*; do
    [ -d "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf "$d"
done
true
exit $status
