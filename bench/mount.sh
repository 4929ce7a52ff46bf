#!/usr/bin/env bash
# Mount benchmark (not a test): gpuarc-mount against squashfuse over
# `mksquashfs -comp lz4 -b 1M` on the same tree. Measures mount time, find,
# a full read through tar, random 4 KiB reads (p50/p99, cold and warm) and the
# driver's peak RSS, then prints gpuarc's figures as ratios against squashfuse.
# usage: bench/mount.sh [DIR]   (default /usr/share/doc)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
SRC=${1:-/usr/share/doc}
READS=${READS:-2000}
WORK=$(mktemp -d /tmp/gpuarc-mount-bench.XXXXXX)
MNT=$WORK/mnt
mkdir -p "$MNT"
cleanup() {
    fusermount3 -u -z "$MNT" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
elapsed() { calc "$(now) - $1"; }
# The kernel page cache holds the archive files; drop it where allowed so that
# "cold" means cold for both tools alike.
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
mounted() { grep -q " $MNT " /proc/self/mountinfo; }
# The driver's pid: the process whose command line names our mountpoint.
driver_pid() {
    for f in /proc/[0-9]*/cmdline; do
        if tr '\0' ' ' < "$f" 2>/dev/null | grep -q -- " $MNT"; then
            basename "$(dirname "$f")"; return
        fi
    done
}
unmount() {
    fusermount3 -u "$MNT"
    for _ in $(seq 100); do mounted || return 0; sleep 0.05; done
    echo "unmount of $MNT did not finish" >&2; return 1
}

echo "== tree: $SRC ($(find "$SRC" -type f | wc -l) files, $(du -sh --apparent-size "$SRC" | cut -f1))"
"$BIN/gpuarc-build" --no-progress -q "$SRC" "$WORK/arc" || [ $? -eq 2 ]
HAVE_SQUASH=0
if command -v mksquashfs >/dev/null && command -v squashfuse >/dev/null; then
    mksquashfs "$SRC" "$WORK/tree.sqfs" -comp lz4 -b 1M -noappend -quiet -no-progress >/dev/null
    HAVE_SQUASH=1
fi
echo "gpuarc archive: $(du -cb "$WORK"/arc.* | tail -1 | cut -f1) bytes"
[ $HAVE_SQUASH = 1 ] && echo "squashfs image: $(stat -c %s "$WORK/tree.sqfs") bytes"

# measure NAME COMMAND...: prints "mount find tar_s tar_MBps rss_kB p50c p99c p50w p99w"
measure() {
    local name=$1; shift
    drop_caches
    local t; t=$(now)
    "$@" "$MNT"
    local mount_s; mount_s=$(elapsed "$t")
    local pid; pid=$(driver_pid)
    t=$(now); find "$MNT" > /dev/null; local find_s; find_s=$(elapsed "$t")
    t=$(now); local bytes; bytes=$(tar -cf - -C "$MNT" . | wc -c); local tar_s; tar_s=$(elapsed "$t")
    local rss; rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    unmount
    drop_caches
    "$@" "$MNT"
    local reads; reads=$(python3 bench/random_reads.py "$MNT" "$READS" 42)
    unmount
    local mbps; mbps=$(calc "$bytes / 1000000 / $tar_s")
    printf '%-11s mount %6.3f s   find %6.3f s   tar %7.3f s (%7.1f MB/s)   rss %7d kB   4K reads us p50/p99 cold %s/%s warm %s/%s\n' \
        "$name" "$mount_s" "$find_s" "$tar_s" "$mbps" "$rss" $reads >&2
    echo "$mount_s $find_s $tar_s $mbps $rss $reads"
}

echo
G=($(measure gpuarc "$BIN/gpuarc-mount" "$WORK/arc.001"))
if [ $HAVE_SQUASH = 1 ]; then
    S=($(measure squashfuse squashfuse "$WORK/tree.sqfs"))
    echo
    echo "== gpuarc-mount vs squashfuse (>1 means gpuarc is better)"
    printf 'mount time      %6.2fx\n' "$(calc "${S[0]} / ${G[0]}")"
    printf 'find            %6.2fx\n' "$(calc "${S[1]} / ${G[1]}")"
    printf 'full read (tar) %6.2fx\n' "$(calc "${S[2]} / ${G[2]}")"
    printf '4K read p50 cold %5.2fx   p99 cold %5.2fx   p50 warm %5.2fx   p99 warm %5.2fx\n' \
        "$(calc "${S[5]} / ${G[5]}")" "$(calc "${S[6]} / ${G[6]}")" \
        "$(calc "${S[7]} / ${G[7]}")" "$(calc "${S[8]} / ${G[8]}")"
    printf 'peak RSS        %6.2fx (squashfuse %d kB, gpuarc-mount %d kB)\n' \
        "$(calc "${S[4]} / ${G[4]}")" "${S[4]}" "${G[4]}"
fi
