#!/usr/bin/env bash
# Incremental backups (gpuarc-build --append), side by side with building
# everything at once, reported as ratios. Not a test.
#
#  1. Ten released versions of a source tree, appended one at a time
#     (--name V1, then --append one version per run) against one build of
#     all ten: archive size ratio (goal: within 5%) and total build time.
#     Sets: Django patch releases 4.2.1-4.2.10, then major releases 2.2-5.2
#     (bench/corpus.sh).
#  2. A ~330 MB tree (bench/corpus.sh system, copied to a scratch directory):
#     its full build, then the same unchanged tree appended again (--name
#     another day; goal: under 10% of the full build's time), then again after
#     1% of its files changed (goal: under 15%).
#   bash bench/append.sh [patch|major|system ...]   default: patch major system
#   RUNS=N (default 3): times are the best of N.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(pwd)/.build/release
RUNS=${RUNS:-3}
WORK=$(mktemp -d /tmp/gpuarc-append.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
SETS=${*:-patch major system}

now() { date +%s.%N; }
# Seconds a command takes (its output discarded; a failure stops the bench).
# Dirty pages of what ran before are written out first, outside the timing:
# each build pays for its own writes (it syncs its volumes), not for the
# copy of the tree or the build before it.
timed() {
  sync
  local t=$(now)
  "$@" >/dev/null 2>"$WORK/err" || { echo "failed: $*" >&2; cat "$WORK/err" >&2; exit 1; }
  awk -v a="$(now)" -v b="$t" 'BEGIN{printf "%.3f", a-b}'
}
best() { printf '%s\n' "$@" | sort -g | head -1; }
bytes() { cat "$@" 2>/dev/null | wc -c; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }

series() {
  local set=$1
  mapfile -t dirs < <(bash bench/corpus.sh "$set")
  local n=${#dirs[@]}
  local all_t=() inc_t=()
  for _ in $(seq "$RUNS"); do
    rm -f "$WORK"/all.* "$WORK"/inc.*
    all_t+=("$(timed "$BIN/gpuarc-build" -q --no-progress "${dirs[@]}" "$WORK/all")")
    local t=$(now)
    timed "$BIN/gpuarc-build" -q --no-progress --name "$(basename "${dirs[0]}")" "${dirs[0]}" "$WORK/inc" >/dev/null
    for d in "${dirs[@]:1}"; do timed "$BIN/gpuarc-build" -q --no-progress --append "$WORK/inc.001" "$d" >/dev/null; done
    inc_t+=("$(awk -v a="$(now)" -v b="$t" 'BEGIN{printf "%.3f", a-b}')")
  done
  "$BIN/gpuarc-extract" --verify "$WORK/inc.001" >/dev/null 2>"$WORK/err" || { echo "verify failed" >&2; cat "$WORK/err" >&2; exit 1; }
  # Every file a build writes: the volumes and the index copy.
  local all_b=$(bytes "$WORK"/all.[0-9]* "$WORK"/all.idx) inc_b=$(bytes "$WORK"/inc.[0-9]* "$WORK"/inc.idx)
  local inc_vols=$(ls "$WORK"/inc.[0-9]* | wc -l)
  printf '%-34s %12s %10s %8s\n' "$set: $n versions" "bytes" "seconds" "volumes"
  printf '%-34s %12d %10s %8d\n' "  all at once" "$all_b" "$(best "${all_t[@]}")" "$(ls "$WORK"/all.[0-9]* | wc -l)"
  printf '%-34s %12d %10s %8d\n' "  appended one at a time" "$inc_b" "$(best "${inc_t[@]}")" "$inc_vols"
  printf '%-34s %12s %10s\n' "  appended / all at once" "$(ratio "$inc_b" "$all_b")" "$(ratio "$(best "${inc_t[@]}")" "$(best "${all_t[@]}")")"
  # The versions restore exactly: each compared with its source.
  rm -rf "$WORK/x"; "$BIN/gpuarc-extract" "$WORK/inc.001" "$WORK/x" >/dev/null 2>&1
  for d in "${dirs[@]}"; do
    diff -r --no-dereference "$d" "$WORK/x/$(basename "$d")" >/dev/null || { echo "  MISMATCH: $(basename "$d")" >&2; exit 1; }
  done
  echo "  every version restored byte for byte (diff -r)"
  rm -rf "$WORK/x" "$WORK"/all.* "$WORK"/inc.*
}

unchanged() {
  local tree="$WORK/tree"
  mkdir -p "$tree"
  for d in $(bash bench/corpus.sh system); do cp -a "$d" "$tree/"; done
  local size=$(du -sb "$tree" | cut -f1) files=$(find "$tree" -type f | wc -l)
  local full=() same=() changed=()
  for r in $(seq "$RUNS"); do
    rm -f "$WORK"/day.*
    full+=("$(timed "$BIN/gpuarc-build" -q --no-progress --name day1 "$tree" "$WORK/day")")
    same+=("$(timed "$BIN/gpuarc-build" -q --no-progress --append "$WORK/day.001" --name day2 "$tree")")
    # 1% of the files changed: a line appended to every hundredth file.
    find "$tree" -type f | sort | awk 'NR % 100 == 0' | while read -r f; do echo "changed in run $r" >> "$f"; done
    changed+=("$(timed "$BIN/gpuarc-build" -q --no-progress --append "$WORK/day.001" --name day3 "$tree")")
  done
  rm -rf "$WORK/x"; "$BIN/gpuarc-extract" "$WORK/day.001" "$WORK/x" day3 >/dev/null 2>&1
  diff -r --no-dereference "$tree" "$WORK/x/day3" >/dev/null || { echo "  MISMATCH: day3" >&2; exit 1; }
  local f=$(best "${full[@]}")
  printf '%-34s %10s %8s\n' "system tree: $((size >> 20)) MiB, $files files" "seconds" "of full"
  printf '%-34s %10s\n' "  full build (--name day1)" "$f"
  printf '%-34s %10s %8s\n' "  append, unchanged (day2)" "$(best "${same[@]}")" "$(ratio "$(best "${same[@]}")" "$f")"
  printf '%-34s %10s %8s\n' "  append, 1% of files changed" "$(best "${changed[@]}")" "$(ratio "$(best "${changed[@]}")" "$f")"
  echo "  day3 restored byte for byte (diff -r)"
}

echo "gpuarc --append benchmark: $(nproc) cores, best of $RUNS"
for set in $SETS; do
  case "$set" in
    patch|major) series "$set" ;;
    system) unchanged ;;
    *) echo "unknown set $set" >&2; exit 2 ;;
  esac
done
