#!/usr/bin/env bash
# Similarity/delta benchmark (Palantir stage): archive size and build speed with
# exact chunk dedup only (--no-delta), delta tier 1 (the N-transform/Odess
# baseline) and delta on three tiers, in the default order (path) and SRC after
# SRC (tree), and the cost of reading it all back (every delta chunk decoded
# against its base). Not a test.
#   bash bench/palantir.sh [DIR...]   default: a generated 10-version series, then
#                                     ten Django patch releases and ten Django
#                                     major releases (bench/corpus.sh)
#   RUNS=N (default 3): rounds; build times are the best of N.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(pwd)/.build/release
WORK=$(mktemp -d /tmp/gpuarc-palantir.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Ten versions of 48 text files (~6 MB each version): every version edits a
# third of the files (insertions, deletions, byte edits, moved blocks) and
# renames one, so some similar chunks sit far from their predecessors.
generate() {
  python3 - "$1" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(42)
words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10))) for _ in range(4000)]
def text(n):
    out = []
    size = 0
    while size < n:
        w = rng.choice(words) + ("\n" if rng.random() < 0.12 else " ")
        out.append(w); size += len(w)
    return "".join(out)[:n]
files = {f"src/mod{i}/file{i}.txt": text(rng.randint(8 << 10, 256 << 10)) for i in range(48)}
for v in range(10):
    for path, data in files.items():
        full = os.path.join(root, f"v{v:02d}", path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        open(full, "w").write(data)
    for path in rng.sample(sorted(files), 16):
        data = files[path]
        for _ in range(rng.randint(1, 30)):
            p = rng.randrange(len(data))
            kind = rng.randrange(4)
            if kind == 0: data = data[:p] + text(rng.randint(10, 500)) + data[p:]
            elif kind == 1: data = data[:p] + data[p + rng.randint(10, 500):]
            elif kind == 2: data = data[:p] + rng.choice("abcdefghij") + data[p + 1:]
            else:
                n = rng.randint(1 << 10, 8 << 10); block = data[p:p + n]; rest = data[:p] + data[p + n:]
                q = rng.randrange(len(rest) + 1); data = rest[:q] + block + rest[q:]
        files[path] = data
    old = rng.choice(sorted(files))
    files[f"moved/v{v}/" + os.path.basename(old)] = files.pop(old)
PY
}

now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.2f", a-b}'; }

# Seconds to read every file back: tar of a fresh mount when FUSE is there
# (what a user's restore costs, delta chunks decoded on demand), else extract.
if [ -x "$BIN/gpuarc-mount" ] && [ -w /dev/fuse ] && command -v fusermount3 >/dev/null; then
  READ_HOW="tar of the mount"
  read_back() {
    mkdir -p "$WORK/mnt"
    "$BIN/gpuarc-mount" "$1" "$WORK/mnt" 2>"$WORK/mount-err" || { cat "$WORK/mount-err" >&2; return 1; }
    local t=$(now)
    tar -cf - -C "$WORK/mnt" . | wc -c >/dev/null
    local s=$(elapsed "$t")
    fusermount3 -u "$WORK/mnt"
    echo "$s"
  }
else
  READ_HOW="gpuarc-extract"
  read_back() {
    rm -rf "$WORK/x"
    local t=$(now)
    "$BIN/gpuarc-extract" "$1" "$WORK/x" >/dev/null 2>&1 || return 1
    elapsed "$t"
  }
fi

measure() {   # label, then the sources
  local label=$1; shift
  local bytes
  bytes=$(du -cb "$@" | tail -1 | cut -f1)
  echo "$label: $# version(s), $bytes bytes; build time = best of $RUNS rounds (every config once per round)"
  local orders="path tree" configs=("--no-delta" "--tiers 1" "--tiers 3")
  declare -A size best hits times
  for ((round = 1; round <= RUNS; round++)); do
    for order in $orders; do
      for config in "${configs[@]}"; do
        local key="$order ${config#--}" out="$WORK/arc"
        rm -f "$out".*
        local t=$(now)
        "$BIN/gpuarc-build" -q --no-progress --order "$order" $config --json "$WORK/stats.json" "$@" "$out" >/dev/null 2>"$WORK/err" ||
          { echo "  $key failed: $(head -2 "$WORK/err")"; continue; }
        local s=$(elapsed "$t")
        if [ -z "${best[$key]:-}" ] || awk -v a="$s" -v b="${best[$key]}" 'BEGIN{exit !(a < b)}'; then best[$key]=$s; fi
        times[$key]+="$s "
        size[$key]=$(du -cb "$out".* | tail -1 | cut -f1)
        hits[$key]=$(python3 -c "import json; print('/'.join(map(str, json.load(open('$WORK/stats.json'))['similarity']['deltaHits'])))")
        if [ $round -eq $RUNS ]; then
          readsec[$key]=$(read_back "$out.001") || readsec[$key]="failed"
        fi
      done
    done
  done
  median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
  printf "  %-20s %12s %9s %8s %8s %9s %9s %18s %8s\n" config bytes vs_nodelta build_s MB/s tput tput_med "delta hits t1/t2/t3" read_s
  for order in $orders; do
    local ref="$order no-delta"
    for config in "${configs[@]}"; do
      local key="$order ${config#--}"
      [ -n "${size[$key]:-}" ] || continue
      printf "  %-20s %12d %9s %8s %8s %9s %9s %18s %8s\n" "$key" "${size[$key]}" \
        "$(awk -v a="${size[$key]}" -v b="${size[$ref]}" 'BEGIN{printf "%+.2f%%", (a/b-1)*100}')" "${best[$key]}" \
        "$(awk -v a="$bytes" -v s="${best[$key]}" 'BEGIN{printf "%.1f", a/1e6/s}')" \
        "$(awk -v a="${best[$ref]}" -v s="${best[$key]}" 'BEGIN{printf "%.2f", a/s}')" \
        "$(awk -v a="$(median "${times[$ref]}")" -v s="$(median "${times[$key]}")" 'BEGIN{printf "%.2f", a/s}')" \
        "${hits[$key]}" "${readsec[$key]}"
    done
    echo "  $order order: 3 tiers vs tier 1: $(awk -v a="${size[$order tiers 3]}" -v b="${size[$order tiers 1]}" 'BEGIN{printf "%+.2f%%", (a/b-1)*100}')"
  done
  echo
}

RUNS=${RUNS:-3}
declare -A readsec
if [ $# -gt 0 ]; then
  measure "given trees" "$@"
else
  generate "$WORK/gen"
  measure "generated 10-version series" "$WORK"/gen/v*
  for set in patch major; do
    mapfile -t DJANGO < <(bash bench/corpus.sh $set) || true
    [ ${#DJANGO[@]} -gt 0 ] && measure "ten Django releases ($set: $(basename "${DJANGO[0]}") ... $(basename "${DJANGO[-1]}"))" "${DJANGO[@]}"
  done
fi
echo "vs_nodelta: size relative to --no-delta in the same order; tput: build throughput relative to it (1.00 = no cost),"
echo "  from the best build times; tput_med: the same from the median build times."
echo "path: the default order (by path inside each SRC, versions of a file side by side); tree: SRC after SRC."
echo "read_s: $READ_HOW, every file (last round)."
