#!/usr/bin/env bash
# Demo: archive a real directory that exists on any Debian machine, verify it,
# extract it and compare with the original, then mount it and read it back
# with ordinary tools.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release
SRC=${1:-/usr/share/doc}
WORK=$(mktemp -d /tmp/gpuarc-demo.XXXXXX)
MNT=$WORK/mnt
trap 'fusermount3 -u -z "$MNT" 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "== gpuarc-build $SRC $WORK/demo"
$BIN/gpuarc-build --no-progress "$SRC" "$WORK/demo" || [ $? -eq 2 ]
ls -l "$WORK"/demo.*
echo
echo "== gpuarc-extract --verify"
$BIN/gpuarc-extract "$WORK/demo.001" --verify
echo
echo "== gpuarc-extract --list (first lines)"
$BIN/gpuarc-extract "$WORK/demo.001" --list > "$WORK/list.txt"
head -5 "$WORK/list.txt"; echo "... $(wc -l < "$WORK/list.txt") entries"
echo
echo "== gpuarc-extract into $WORK/restored"
$BIN/gpuarc-extract "$WORK/demo.001" "$WORK/restored"
echo
echo "== diff -r against the source"
diff -r --no-dereference "$SRC" "$WORK/restored" && echo "identical: every file, symlink and directory came back"

echo
if [ ! -e /dev/fuse ]; then
    echo "== no /dev/fuse on this machine: skipping the mount part"
    exit 0
fi
echo "== gpuarc-mount $WORK/demo.001 $MNT"
mkdir -p "$MNT"
$BIN/gpuarc-mount "$WORK/demo.001" "$MNT" -o auto_unmount
echo "== diff -r through the mount"
diff -r --no-dereference "$SRC" "$MNT" && echo "identical: the mounted tree reads back exactly"
echo "== ls -l (first lines)"
ls -l "$MNT" | head -4 || true
echo "== df"
df -h "$MNT"
fusermount3 -u "$MNT"
echo "== unmounted"
