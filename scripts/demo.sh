#!/usr/bin/env bash
# Demo: archive a real directory that exists on any Debian machine, verify it,
# extract it and compare with the original.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release
SRC=${1:-/usr/share/doc}
WORK=$(mktemp -d /tmp/gpuarc-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

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
