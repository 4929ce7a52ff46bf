#!/usr/bin/env bash
# Build benchmark (not a test): gpuarc at its default and top level side by side
# with the tools people already use, on the same tree, one table per tree:
# archive size, build time and peak RSS, each also as a ratio to gpuarc's
# default build (> 1: the other tool is larger, slower or bigger in memory).
#   bash bench/bench.sh [DIR...]   one table per DIR; default: ten Django major
#                                  releases and ten patch releases, each set in one
#                                  parent directory, the major releases as ten .tar
#                                  files, a system tree and 100,000 small files
#                                  (bench/corpus.sh major, patch, tars, system, small)
#   RUNS=N (default 3): every tool is run N times, round after round, so that the
#   noise of a shared machine hits all of them alike; the table shows medians.
#   Tools marked "(once)" (zstd -19 and gpuarc's top level: a minute each on
#   500 MB here) run in the first round only; their sizes are what they are for.
# Each DIR is built as one SRC (what `gpuarc-build /backups out` sees) and, for
# gpuarc, also with its subdirectories as separate SRCs (one SRC per snapshot).
# Peak RSS is the largest process of a pipeline (GNU time on the shell), not the sum.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(pwd)/.build/release
RUNS=${RUNS:-3}
if [ $# -eq 0 ]; then
  TREES=()
  for set in major patch tars system small; do
    first=$(bash bench/corpus.sh $set | sed -n 1p) && [ -n "$first" ] && TREES+=("$(dirname "$first")")
  done
  [ ${#TREES[@]} -gt 0 ] || TREES=(/usr/share/doc)
else
  TREES=("$@")
fi
WORK=$(mktemp -d /tmp/gpuarc-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
TIME=/usr/bin/time
[ -x $TIME ] || { echo "GNU time (/usr/bin/time) is needed: make deps" >&2; exit 1; }

median() { sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# Reads the programs of a command line (every word after a pipe, and the
# first) and the shared libraries they load into the page cache. This VM
# pages out what was left alone for a few seconds (see below), and a tool
# run after the slow ones started from disk: gpuarc-build on an empty tree
# took 0.13 s after 30 s idle against 0.02 s warm (the Swift runtime's
# libraries), which a tool with a smaller footprint hardly pays.
warm() {
  local prog path
  for prog in $(awk -F'|' '{for (i = 1; i <= NF; i++) { split($i, w, " "); print w[1] }}' <<<"$1"); do
    path=$(command -v "$prog") || continue
    cat "$path" $(ldd "$path" 2>/dev/null | awk '$3 ~ /^\// {print $3}') >/dev/null 2>&1
  done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b > 0) ? a/b : 0}'; }

bench_tree() {
  local tree=$1
  local -a subdirs=()
  mapfile -t subdirs < <(find "$tree" -mindepth 1 -maxdepth 1 -type d | sort -V)
  local files bytes
  files=$(find "$tree" -type f | wc -l)
  bytes=$(du -sb --apparent-size "$tree" | cut -f1)
  # name@@command (OUT: output path prefix, TREE: the tree)
  local -a tools=(
    "gpuarc (default: zstd 2)@@$BIN/gpuarc-build -q --no-progress --compressor cpu TREE OUT"
    "gpuarc --level max --delta (once)@@$BIN/gpuarc-build -q --no-progress --compressor cpu --level max --delta TREE OUT"
    "gpuarc --codec lz4x@@$BIN/gpuarc-build -q --no-progress --compressor cpu --codec lz4x TREE OUT"
  )
  [ ${#subdirs[@]} -gt 1 ] && tools+=("gpuarc, subdirectories as SRCs@@$BIN/gpuarc-build -q --no-progress --compressor cpu ${subdirs[*]} OUT")
  command -v mksquashfs >/dev/null && tools+=(
    "mksquashfs -comp lz4 -b 1M@@mksquashfs TREE OUT.img -comp lz4 -b 1M -noappend -quiet -no-progress"
    "mksquashfs -comp zstd -b 1M@@mksquashfs TREE OUT.img -comp zstd -b 1M -noappend -quiet -no-progress"
    "mksquashfs -comp xz -b 1M@@mksquashfs TREE OUT.img -comp xz -b 1M -noappend -quiet -no-progress")
  command -v mkfs.erofs >/dev/null && tools+=("mkfs.erofs -zlz4hc@@mkfs.erofs -zlz4hc OUT.img TREE")
  command -v zstd >/dev/null && tools+=("tar | zstd -3 --long=27@@tar -C TREE -cf - . | zstd -3 --long=27 -T0 -q -o OUT.tzst"
    "tar | zstd -19 --long=27 (once)@@tar -C TREE -cf - . | zstd -19 --long=27 -T0 -q -o OUT.tzst")
  command -v lz4 >/dev/null && tools+=("tar | lz4 -1@@tar -C TREE -cf - . | lz4 -1 -q - OUT.tlz4")

  echo "== $tree: $files files, $bytes bytes, ${#subdirs[@]} subdirectories; $(nproc) cores, median of $RUNS run(s)"
  local r i
  for r in $(seq "$RUNS"); do
    for i in "${!tools[@]}"; do
      [ "$r" -gt 1 ] && [[ ${tools[$i]%%@@*} == *"(once)"* ]] && continue
      local cmd=${tools[$i]#*@@}
      cmd=${cmd//TREE/$tree}
      cmd=${cmd//OUT/$WORK/out$i}
      rm -rf "$WORK"/out$i*
      # Every tool starts with the tree in the page cache and no dirty pages
      # of the one before: this machine pages out memory left untouched for
      # a few seconds (DAMON), so without this the first tool of each round
      # (gpuarc's default build) read the tree from disk after the slow ones
      # and the others did not (1.01 against 0.89 s for the same build).
      tar -C "$tree" -cf - . | cat >/dev/null
      warm "$cmd"
      sync
      if $TIME -f "%e %M" -o "$WORK/time" bash -c "$cmd" >/dev/null 2>"$WORK/err"; then
        read -r secs kb < <(tail -1 "$WORK/time")
        echo "$secs" >> "$WORK/secs$i"; echo "$kb" >> "$WORK/kb$i"
        du -cb "$WORK"/out$i* | tail -1 | cut -f1 >> "$WORK/size$i"
      else
        echo "  ${tools[$i]%%@@*} failed: $(head -3 "$WORK/err")" >&2
      fi
      rm -rf "$WORK"/out$i*
    done
  done
  local base_size base_secs base_kb
  base_size=$(median < "$WORK/size0"); base_secs=$(median < "$WORK/secs0"); base_kb=$(median < "$WORK/kb0")
  printf "%-34s %13s %6s %9s %6s %9s %6s\n" tool bytes x build_s x rss_MB x
  for i in "${!tools[@]}"; do
    [ -s "$WORK/size$i" ] || continue
    local size secs kb
    size=$(median < "$WORK/size$i"); secs=$(median < "$WORK/secs$i"); kb=$(median < "$WORK/kb$i")
    printf "%-34s %13.0f %6s %9.2f %6s %9.0f %6s\n" "${tools[$i]%%@@*}" "$size" "$(ratio "$size" "$base_size")" \
      "$secs" "$(ratio "$secs" "$base_secs")" "$(awk -v k="$kb" 'BEGIN{print k/1024}')" "$(ratio "$kb" "$base_kb")"
  done
  rm -f "$WORK"/size* "$WORK"/secs* "$WORK"/kb*
  echo
  echo "LZ4X levels on this tree's frames (--codec lz4x; one core; gpuarc-bench levels):"
  $BIN/gpuarc-build -q --no-progress --compressor cpu --codec lz4x --no-delta --level max "$tree" "$WORK/levels" >/dev/null 2>&1 &&
    $BIN/gpuarc-bench levels "$WORK/levels.001" | paste -d ' ' - - - | sed -E 's/^(level [0-9]+):.*\(ratio ([0-9.]+)\) +encode ([0-9.]+) MB.s.*/  \1: ratio \2, encode \3 MB\/s/'
  rm -f "$WORK"/levels.*
  echo
}

for tree in "${TREES[@]}"; do bench_tree "$tree"; done

echo "OpenCL path (docs/GPU.md): whole build with --compressor cpu vs gpu, then kernel throughput"
if $BIN/gpuarc-clbench --list-devices >/dev/null 2>&1; then
  for c in cpu gpu; do
    tar -C "${TREES[0]}" -cf - . | cat >/dev/null
    warm "$BIN/gpuarc-build"
    sync
    $TIME -f "%e" -o "$WORK/time" $BIN/gpuarc-build -q --no-progress --compressor "$c" "${TREES[0]}" "$WORK/cl-$c" >/dev/null 2>&1 ||
      { echo "  --compressor $c failed"; continue; }
    printf "  --compressor %-4s %8.2f s %14d bytes\n" "$c" "$(tail -1 "$WORK/time")" "$(du -cb "$WORK"/cl-$c.* | tail -1 | cut -f1)"
    rm -f "$WORK"/cl-$c.*
  done
  $BIN/gpuarc-clbench --frames 2 || true
else
  echo "  no OpenCL platform: skipped"
fi
