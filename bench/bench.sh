#!/usr/bin/env bash
# Build/extract benchmark: gpuarc side by side with the anchor tools on one tree
# (or several snapshot directories), in one run, with ratios. Not a test.
#   bash bench/bench.sh [DIR...]      default: ten Django releases (bench/corpus.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(pwd)/.build/release
if [ $# -eq 0 ]; then
  mapfile -t SRCS < <(bash bench/corpus.sh) || true
  [ ${#SRCS[@]} -gt 0 ] || SRCS=(/usr/share/doc)
else
  SRCS=("$@")
fi
WORK=$(mktemp -d /tmp/gpuarc-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.3f", a-b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
size_of() { du -cb "$@" | tail -1 | cut -f1; }
TARLIST=()
for s in "${SRCS[@]}"; do TARLIST+=(-C "$(dirname "$s")" "$(basename "$s")"); done
INPUT=$(tar -cf - "${TARLIST[@]}" 2>/dev/null | wc -c)
FILES=$(find "${SRCS[@]}" -type f | wc -l)
echo "input: ${#SRCS[@]} source dir(s), $FILES files, tar $INPUT bytes; $(nproc) cores"
echo
printf "%-34s %14s %10s %10s\n" tool bytes build_s extract_s
declare -A SIZE BUILD

run_tool() {   # name, build command, extract command
  local name=$1 build=$2 extract=$3 t
  sync; t=$(now); bash -c "$build" >/dev/null 2>"$WORK/err" || { echo "$name failed: $(head -3 "$WORK/err")"; return; }
  BUILD[$name]=$(elapsed "$t")
  SIZE[$name]=$(size_of $WORK/$name.out*)
  local ext=-
  if [ -n "$extract" ]; then rm -rf "$WORK/x"; mkdir -p "$WORK/x"; t=$(now); bash -c "$extract" >/dev/null 2>&1; ext=$(elapsed "$t"); rm -rf "$WORK/x"; fi
  printf "%-34s %14d %10.2f %10s\n" "$name" "${SIZE[$name]}" "${BUILD[$name]}" "$ext"
}

run_tool gpuarc "$BIN/gpuarc-build -q --no-progress ${SRCS[*]} $WORK/gpuarc.out" "$BIN/gpuarc-extract $WORK/gpuarc.out.001 $WORK/x"
# The default order is path; the other two orders for comparison.
run_tool gpuarc-similarity-order "$BIN/gpuarc-build -q --no-progress --order similarity ${SRCS[*]} $WORK/gpuarc-similarity-order.out" ""
run_tool gpuarc-tree-order "$BIN/gpuarc-build -q --no-progress --order tree ${SRCS[*]} $WORK/gpuarc-tree-order.out" ""
command -v lz4 >/dev/null && run_tool "tar|lz4-1" "tar -cf - ${TARLIST[*]} | lz4 -1 -q > $WORK/tar\|lz4-1.out" "lz4 -dc $WORK/tar\|lz4-1.out | tar -xf - -C $WORK/x"
command -v zstd >/dev/null && run_tool "tar|zstd-3-long27" "tar -cf - ${TARLIST[*]} | zstd -3 --long=27 -q -T0 > $WORK/tar\|zstd-3-long27.out" "zstd -dc --long=27 $WORK/tar\|zstd-3-long27.out | tar -xf - -C $WORK/x"
if command -v mksquashfs >/dev/null; then
  run_tool "mksquashfs-lz4-1M" "mksquashfs ${SRCS[*]} $WORK/mksquashfs-lz4-1M.out -comp lz4 -b 1M -noappend -quiet -no-progress" "unsquashfs -f -d $WORK/x/s $WORK/mksquashfs-lz4-1M.out"
  [ -n "${BENCH_XZ:-}" ] && run_tool "mksquashfs-xz-1M" "mksquashfs ${SRCS[*]} $WORK/mksquashfs-xz-1M.out -comp xz -b 1M -noappend -quiet -no-progress" ""
fi

echo
echo "ratios (other / gpuarc; >1 means gpuarc is smaller or faster):"
for k in "${!SIZE[@]}"; do
  [ "$k" = gpuarc ] && continue
  printf "  %-32s size %6sx   build time %6sx\n" "$k" "$(ratio "${SIZE[$k]}" "${SIZE[gpuarc]}")" "$(ratio "${BUILD[$k]}" "${BUILD[gpuarc]}")"
done

echo
echo "LZ4X single-core codec on the archive's stored bytes:"
$BIN/gpuarc-build -q --no-progress --threads 1 --json "$WORK/stats.json" "${SRCS[@]}" "$WORK/one" >/dev/null 2>&1
$BIN/gpuarc-bench codec "$WORK/one.001" || true

echo
echo "OpenCL path (docs/GPU.md): whole build with --compressor cpu vs gpu, then kernel throughput"
if $BIN/gpuarc-clbench --list-devices >/dev/null 2>&1; then
  for c in cpu gpu; do
    t=$(now)
    $BIN/gpuarc-build -q --no-progress --compressor "$c" "${SRCS[@]}" "$WORK/cl-$c" >/dev/null 2>&1 || { echo "  --compressor $c failed"; continue; }
    s=$(elapsed "$t")
    printf "  --compressor %-4s %8.2f s %8.1f MB/s %14d bytes\n" "$c" "$s" "$(awk -v b="$INPUT" -v s="$s" 'BEGIN{print b/s/1e6}')" "$(size_of "$WORK"/cl-$c.*)"
    rm -f "$WORK"/cl-$c.*
  done
  $BIN/gpuarc-clbench --frames 2 || true
else
  echo "  no OpenCL platform: skipped"
fi
