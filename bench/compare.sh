#!/usr/bin/env bash
# Before/after benchmark (not a test): gpuarc-build at git revision REV against
# the working tree's release build on the same trees, alternating round after
# round (and which goes first), so that the noise of a shared machine hits both
# alike. Prints, per tree and binary, the median build time and peak RSS, the
# archive bytes and `filesHeld` of the last run. Default level, one SRC per tree.
#   bash bench/compare.sh REV [TREE...]   TREE: a directory, or a set of
#                                         bench/corpus.sh (major, patch, system,
#                                         small); default: all four sets
#   RUNS=N (default 7): rounds.
#   APPEND=1: times an append of the tree, unchanged, to an archive of it
#             (each binary's own, built once with --name v0) instead of a build:
#             what a nightly backup of a quiet tree costs.
# REV is built once into /tmp/gpuarc-compare-REV (a git worktree), kept for reuse.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bash bench/compare.sh REV [TREE...]" >&2; exit 2; }
REV=$(git rev-parse --short "$1"); shift
RUNS=${RUNS:-7}
OLD_TREE=/tmp/gpuarc-compare-$REV
if [ ! -x "$OLD_TREE/.build/release/gpuarc-build" ]; then
  [ -d "$OLD_TREE" ] || git worktree add -q --detach "$OLD_TREE" "$REV"
  (cd "$OLD_TREE" && swift build -c release --product gpuarc-build >&2)
fi
swift build -c release --product gpuarc-build >&2
OLD=$OLD_TREE/.build/release/gpuarc-build
NEW=$(pwd)/.build/release/gpuarc-build
[ $# -gt 0 ] || set -- major patch system small
TREES=()
for t in "$@"; do
  if [ -d "$t" ]; then TREES+=("$t"); else TREES+=("$(dirname "$(bash bench/corpus.sh "$t" | sed -n 1p)")"); fi
done
WORK=$(mktemp -d /tmp/gpuarc-compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf "%-28s %-10s %9s %8s %12s %10s\n" tree binary build_s rss_MB bytes filesHeld
for tree in "${TREES[@]}"; do
  for r in $(seq "$RUNS"); do
    # Which binary goes first alternates too: a run can leave the next one a
    # cost (page cache, allocator, CPU frequency) that should not fall on one side.
    order="old new"; [ $((r % 2)) -eq 0 ] && order="new old"
    for which in $order; do
      [ $which = old ] && bin=$OLD || bin=$NEW
      rm -rf "$WORK/out" && mkdir "$WORK/out"
      if [ "${APPEND:-0}" = 1 ]; then
        [ -d "$WORK/base-$which" ] || { mkdir "$WORK/base-$which"; "$bin" -q --no-progress --name v0 "$tree" "$WORK/base-$which/arc" >/dev/null; }
        cp -a "$WORK/base-$which"/. "$WORK/out/"
        run=(--append "$WORK/out/arc.001" --name v1 "$tree")
      else
        run=("$tree" "$WORK/out/arc")
      fi
      # The tree in the page cache, as the scan of a warm tree finds it, and
      # no writeback of the run before left to slow this one.
      find "$tree" -type f -print0 | xargs -0 cat >/dev/null
      sync
      /usr/bin/time -f "%e %M" -o "$WORK/time" "$bin" -q --no-progress --json "$WORK/stats.json" "${run[@]}" >/dev/null
      read -r seconds rss < "$WORK/time"
      echo "$seconds" >> "$WORK/$which.s"
      echo "$rss" >> "$WORK/$which.rss"
      du -cb "$WORK"/out/arc* | tail -1 | cut -f1 > "$WORK/$which.bytes"
      python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('filesHeld', '-'))" "$WORK/stats.json" > "$WORK/$which.held"
    done
  done
  for which in old new; do
    printf "%-28s %-10s %9.2f %8d %12d %10s\n" "$(basename "$tree")" "$which" "$(median < "$WORK/$which.s")" \
      "$(($(median < "$WORK/$which.rss" | cut -d. -f1) / 1024))" "$(cat "$WORK/$which.bytes")" "$(cat "$WORK/$which.held")"
    rm -f "$WORK/$which".*
  done
  rm -rf "$WORK"/base-*
done
