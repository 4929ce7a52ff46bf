#!/usr/bin/env bash
# `make gpu-dryrun`: the GPU bundle's run.sh, here, on whatever OpenCL this
# machine has (PoCL), with small data (GPUARC_DRYRUN=1), then the checks a real
# run's results must pass to come back from a GPU machine: at most 8 files,
# each at most 16 MiB, plain names, a valid summary.json whose every step passed,
# byte-exact round trips. A second, short run with no OpenCL driver at all must
# stop cleanly (exit 2) and still write its summary.
#
#   scripts/gpu-dryrun.sh [RESULTS_DIR]     default .build/gpu-dryrun
set -uo pipefail
cd "$(dirname "$0")/.."

BUNDLE=.build/gpu-bundle
RESULTS=${1:-.build/gpu-dryrun}
die() { echo "gpu-dryrun: FAILED: $*" >&2; exit 1; }

[ -x "$BUNDLE/run.sh" ] && [ -f "$BUNDLE/payload.tar.gz" ] || die "no bundle in $BUNDLE: run 'make gpu-bundle'"
PY=$(command -v python3) || die "python3 is needed to check the results (make deps)"

# The results must come back through the GPU machine's transfer rules.
check_results() {
    local dir=$1 count=0 f rel
    while IFS= read -r -d '' f; do
        count=$((count + 1))
        rel=${f#"$dir"/}
        [[ $rel =~ ^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)?(/[A-Za-z0-9._-]+)?$ ]] || die "$dir: '$rel' is not a plain name at most 2 folders deep"
        [ "$(stat -c %s "$f")" -le $((16 << 20)) ] || die "$dir: $rel is over 16 MiB"
    done < <(find "$dir" -type f -print0)
    [ "$count" -le 8 ] || die "$dir holds $count files; at most 8 come back"
    [ -z "$(find "$dir" ! -type f ! -type d)" ] || die "$dir holds something that is not a plain file"
}

rm -rf "$RESULTS" "$RESULTS-noicd"
start=$(date +%s%N)
GPUARC_DRYRUN=1 bash "$BUNDLE/run.sh" "$RESULTS" > /dev/null
rc=$?
check_results "$RESULTS"
[ -s "$RESULTS/run.log" ] || die "$RESULTS/run.log is missing"
"$PY" - "$RESULTS/summary.json" "$rc" <<'EOF' || die "see $RESULTS/run.log"
import json, sys
path, rc = sys.argv[1], int(sys.argv[2])
s = json.load(open(path))
problems = []
if s["status"] != "complete" or rc != 0:
    problems.append(f"status {s['status']} (exit {rc}); failed steps: {s['failed_steps']}; findings: {s['findings']}")
e2e = s.get("end_to_end") or {}
trips = {k: v.get("round_trip") for k, v in e2e.items() if k.startswith("extract_")}
if len(trips) != 3 or any(v != "identical" for v in trips.values()):
    problems.append(f"round trips: {trips}")
for name in ("decode_fnv1a", "compress"):
    report = (s.get("clbench") or {}).get(name)
    jobs = [j["job"] for d in (report or {}).get("devices", []) for j in d["jobs"]]
    if not report or report.get("error") or not jobs:
        problems.append(f"clbench {name}: {report and report.get('error')}, jobs {jobs}")
for kind in ("gpu", "cpu"):
    if not (s.get("builds") or {}).get(kind):
        problems.append(f"no gpuarc-build --json for --compressor {kind}")
if problems:
    print("gpu-dryrun: FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)
b = s["builds"]
print(f"gpu-dryrun: run.sh passed in {s['duration_seconds']:.1f} s ({len(s['steps'])} steps, loader {s['loader_mode']}); "
      f"{e2e['input_bytes'] >> 20} MiB tree -> {b['gpu']['outputBytes'] >> 20} MiB (gpu) / {b['cpu']['outputBytes'] >> 20} MiB (cpu)")
EOF

# No OpenCL driver at all: a finding, not a failure.
empty=$(mktemp -d)
OCL_ICD_VENDORS=$empty GPUARC_DRYRUN=1 bash "$BUNDLE/run.sh" "$RESULTS-noicd" > /dev/null
rc=$?
rmdir "$empty"
check_results "$RESULTS-noicd"
"$PY" - "$RESULTS-noicd/summary.json" "$rc" <<'EOF' || die "see $RESULTS-noicd/run.log"
import json, sys
s = json.load(open(sys.argv[1]))
rc = int(sys.argv[2])
if rc != 2 or s["status"] != "no-opencl-gpu" or not any("no OpenCL platform" in f for f in s["findings"]):
    print(f"gpu-dryrun: FAILED: without a driver: exit {rc}, status {s['status']}, findings {s['findings']}", file=sys.stderr)
    sys.exit(1)
print("gpu-dryrun: without an OpenCL driver run.sh stops cleanly: " + s["findings"][-1][:160])
EOF
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "gpu-dryrun: passed in $((ms / 1000)).$(( (ms % 1000) / 100 )) s (both runs and the checks); results in $RESULTS and $RESULTS-noicd"
