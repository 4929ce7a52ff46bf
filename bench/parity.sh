#!/usr/bin/env bash
# Parity benchmark: gpuarc's parity volumes against par2 with the same
# redundancy, on the same archive, in one run: creation time, repair time of
# two lost volumes, and the bytes each adds. Not a test.
#   bash bench/parity.sh [DIR...]     default: /usr/share/doc (and more, ~300 MB, if present)
#   PARITY=2 VOLUME=16M               parity volumes and volume size
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(pwd)/.build/release
PARITY=${PARITY:-2}
VOLUME=${VOLUME:-16M}
if [ $# -eq 0 ]; then
  SRCS=()
  for d in /usr/share/doc /usr/lib/python3.11 /usr/share/locale; do [ -d "$d" ] && SRCS+=("$d"); done
else
  SRCS=("$@")
fi
command -v par2 >/dev/null || { echo "par2 is not installed (make deps)"; exit 1; }
WORK=$(mktemp -d /tmp/gpuarc-parity.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.3f", a-b}'; }

"$BIN/gpuarc-build" -q --no-progress --compressor cpu --volume-size "$VOLUME" --parity "$PARITY" --json "$WORK/stats.json" "${SRCS[@]}" "$WORK/arc" || exit 1
K=$(ls "$WORK"/arc.[0-9]* | wc -l)
DATA=$(cat "$WORK"/arc.[0-9]* | wc -c)
OURS=$(cat "$WORK"/arc.p* | wc -c)
CREATE=$(python3 -c "import json; print('%.3f' % json.load(open('$WORK/stats.json'))['phaseSeconds']['parity'])")
echo "archive: $K data volumes of at most $VOLUME, $DATA bytes; parity: $PARITY volumes ($(nproc) cores)"

# par2 with the same redundancy: PARITY/K of the data, on the same files.
PCT=$(awk -v n="$PARITY" -v k="$K" 'BEGIN{printf "%d", (100 * n + k - 1) / k}')
t=$(now); par2 create -q -q -r"$PCT" "$WORK/arc.par2" "$WORK"/arc.[0-9]* >/dev/null || exit 1; PCREATE=$(elapsed "$t")
PAR2=$(cat "$WORK"/arc*.par2 | wc -c)

# Repair of two lost data volumes (the last one, with the index, and the first), each tool on its own copy.
mkdir "$WORK/saved"; cp "$WORK"/arc.001 "$WORK"/arc.$(printf %03d "$K") "$WORK/saved/"
lose() { rm -f "$WORK"/arc.001 "$WORK"/arc.$(printf %03d "$K"); }
restore() { cp "$WORK"/saved/* "$WORK/"; }
lose; t=$(now); "$BIN/gpuarc-repair" "$WORK/arc.002" >/dev/null 2>&1 || echo "gpuarc-repair failed"; REPAIR=$(elapsed "$t")
cmp -s "$WORK/arc.001" "$WORK/saved/arc.001" || echo "gpuarc-repair did not rebuild arc.001 exactly"
restore; lose; t=$(now); par2 repair -q -q "$WORK/arc.par2" >/dev/null 2>&1 || echo "par2 repair failed"; PREPAIR=$(elapsed "$t")
cmp -s "$WORK/arc.001" "$WORK/saved/arc.001" || echo "par2 did not rebuild arc.001 exactly"

printf "%-22s %14s %10s %10s %10s\n" tool "parity bytes" "of data" create_s repair_s
printf "%-22s %14d %9.1f%% %10.2f %10.2f\n" "gpuarc --parity $PARITY" "$OURS" "$(awk -v a=$OURS -v b=$DATA 'BEGIN{print 100*a/b}')" "$CREATE" "$REPAIR"
printf "%-22s %14d %9.1f%% %10.2f %10.2f\n" "par2 -r$PCT" "$PAR2" "$(awk -v a=$PAR2 -v b=$DATA 'BEGIN{print 100*a/b}')" "$PCREATE" "$PREPAIR"
echo "ratios (par2 / gpuarc): create $(awk -v a=$PCREATE -v b=$CREATE 'BEGIN{printf "%.1f", a/b}')x, repair $(awk -v a=$PREPAIR -v b=$REPAIR 'BEGIN{printf "%.1f", a/b}')x; parity bytes $(awk -v a=$OURS -v b=$DATA -v n=$PARITY -v k=$K 'BEGIN{printf "%.3f", a/(b*n/k)}') x N/K of the data"
