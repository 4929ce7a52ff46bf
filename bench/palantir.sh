#!/usr/bin/env bash
# Similarity/delta benchmark (Palantir stage): archive size and build speed with
# exact chunk dedup only (--no-delta), delta tier 1 (the N-transform/Odess
# baseline) and delta on three tiers, in both content orders, and the cost of
# reading it all back (every delta chunk decoded against its base).
# Not a test.
#   bash bench/palantir.sh [DIR...]   default: a generated 10-version series, then
#                                     ten Django releases (bench/corpus.sh)
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
  echo "$label: $# version(s), $bytes bytes"
  printf "  %-26s %12s %8s %8s %9s %18s %8s\n" config bytes vs_dedup build_s MB/s "delta hits t1/t2/t3" read_s
  local base=""
  for order in similarity tree; do
    for config in "--no-delta" "--tiers 1" "--tiers 3"; do
      local name="$order ${config#--}" out="$WORK/arc" t size hits read
      rm -f "$out".*
      t=$(now)
      "$BIN/gpuarc-build" -q --no-progress --order "$order" $config --json "$WORK/stats.json" "$@" "$out" >/dev/null 2>"$WORK/err" ||
        { echo "  $name failed: $(head -2 "$WORK/err")"; continue; }
      local build=$(elapsed "$t")
      size=$(du -cb "$out".* | tail -1 | cut -f1)
      [ -z "$base" ] && base=$size
      hits=$(python3 -c "import json; print('/'.join(map(str, json.load(open('$WORK/stats.json'))['similarity']['deltaHits'])))")
      read=$(read_back "$out.001") || echo "  $name: reading back failed"
      printf "  %-26s %12d %8s %8s %9s %18s %8s\n" "$name" "$size" \
        "$(awk -v a="$size" -v b="$base" 'BEGIN{printf "%.3f", a/b}')" "$build" \
        "$(awk -v a="$bytes" -v s="$build" 'BEGIN{printf "%.1f", a/1e6/s}')" "$hits" "$read"
    done
  done
  echo
}

if [ $# -gt 0 ]; then
  measure "given trees" "$@"
else
  generate "$WORK/gen"
  measure "generated 10-version series" "$WORK"/gen/v*
  mapfile -t DJANGO < <(bash bench/corpus.sh) || true
  [ ${#DJANGO[@]} -gt 0 ] && measure "ten Django releases" "${DJANGO[@]}"
fi
echo "vs_dedup: size relative to the first row (similarity order, exact chunk dedup only)."
echo "read_s: $READ_HOW, every file."
