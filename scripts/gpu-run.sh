#!/usr/bin/env bash
# gpuarc on a GPU machine in one call (docs/GPU.md, "The GPU bundle"). This file
# is the bundle's run.sh: `make gpu-bundle` puts it next to payload.tar.gz.
#
#   bash .build/gpu-bundle/run.sh RESULTS_DIR
#
# The machine needs bash, coreutils (timeout), tar, gzip, find and diff; no Swift,
# no internet. Python is used only to find its library folders (the source text)
# and to check the JSON. In RESULTS_DIR (at most 8 files, each small):
#
#   summary.json   host, OpenCL finding, every step's status, time and peak memory,
#                  the figures below; "status": complete | partial | no-opencl-gpu
#   run.log        everything printed, including each tool's own output
#   devices.json   gpuarc-clbench --list-devices --json
#   clbench-decode-fnv1a.json, clbench-compress.json
#                  kernel throughput (OpenCL events, transfers apart), many frames per
#                  launch, against the CPU codec on 1 thread and on every core
#   build-gpu.json, build-cpu.json
#                  gpuarc-build --json of the end-to-end builds
#
# Steps: (1) find the NVIDIA OpenCL driver and make ocl-icd see it, list devices,
# stop cleanly if there is no OpenCL GPU; (2) gpuarc-clbench on 16 MiB frames of
# real text (the machine's Python libraries); (3) end to end on about a GB of
# those libraries: build with --compressor gpu and cpu, extract with --decoder gpu
# and cpu, byte-exact comparisons with the source; (4) the summary.
# Every step runs under `timeout`, cut to what is left of GPUARC_BUDGET seconds
# (default 330: the call has 6 minutes), so a hung step costs only its own slot
# and the summary is always written.
#
# Exit status: 0 every step passed; 2 no OpenCL GPU (a clean stop: summary.json
# says what was missing); 1 some step failed or was skipped (summary.json says which).
#
# Environment (defaults for a GPU machine; GPUARC_DRYRUN=1 shrinks everything and
# accepts CPU OpenCL devices, for `make gpu-dryrun` on PoCL):
#   GPUARC_BUDGET=330  GPUARC_FRAMES=32  GPUARC_FRAME_SIZE=16777216
#   GPUARC_RUNS=2 (compress)  GPUARC_SHORT_RUNS=3 (decode, fnv1a)  GPUARC_TREE_MB=1024
#   GPUARC_SRC=DIR (instead of the Python library folders)  GPUARC_WORK=DIR (scratch,
#   default $TMPDIR or /tmp)  GPUARC_KEEP_WORK=1  GPUARC_LOADER=host|gcc|glibc (force one)
set -uo pipefail   # no -e: a failed step is a finding, and the run goes on
# Python runs here only to read its own settings and check JSON; it must not
# write bytecode into the libraries being archived.
export PYTHONDONTWRITEBYTECODE=1

if [ $# -ne 1 ]; then
    echo "usage: bash run.sh RESULTS_DIR" >&2
    exit 64
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
START_NS=$(date +%s%N)
DRYRUN=${GPUARC_DRYRUN:-0}
if [ "$DRYRUN" = 1 ]; then
    BUDGET=${GPUARC_BUDGET:-150}; FRAMES=${GPUARC_FRAMES:-2}; FRAME_SIZE=${GPUARC_FRAME_SIZE:-4194304}
    RUNS=${GPUARC_RUNS:-1}; SHORT_RUNS=${GPUARC_SHORT_RUNS:-1}; TREE_MB=${GPUARC_TREE_MB:-24}
else
    BUDGET=${GPUARC_BUDGET:-330}; FRAMES=${GPUARC_FRAMES:-32}; FRAME_SIZE=${GPUARC_FRAME_SIZE:-16777216}
    RUNS=${GPUARC_RUNS:-2}; SHORT_RUNS=${GPUARC_SHORT_RUNS:-3}; TREE_MB=${GPUARC_TREE_MB:-1024}
fi
DEADLINE_NS=$((START_NS + BUDGET * 1000000000))
RESERVE=8   # seconds kept for the summary

mkdir -p "$1" || { echo "run.sh: cannot create the results folder $1" >&2; exit 1; }
RESULTS=$(cd "$1" && pwd)
LOG=$RESULTS/run.log
exec > >(tee "$LOG") 2>&1
TEE_PID=$!

WORK=$(mktemp -d "${GPUARC_WORK:-${TMPDIR:-/tmp}}/gpuarc-run.XXXXXX") || {
    echo "run.sh: cannot create a scratch folder under ${GPUARC_WORK:-${TMPDIR:-/tmp}} (set GPUARC_WORK)"; exit 1; }

# ---------------------------------------------------------------- helpers

now_ns() { date +%s%N; }
# Seconds since the start, with milliseconds.
elapsed() { local ms=$(( ($(now_ns) - START_NS) / 1000000 )); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
say() { echo "[$(elapsed)s] $*"; }

json_str() {
    local s=$1
    s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/}
    s=$(printf '%s' "$s" | tr -d '\000-\010\013\014\016-\037')
    printf '"%s"' "$s"
}
json_num() { if [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then printf '%s' "$1"; else printf 'null'; fi; }
json_bool() { if [ "$1" = 1 ]; then printf true; else printf false; fi; }
json_list() { local out= item; for item in "$@"; do out+=${out:+,}$(json_str "$item"); done; printf '[%s]' "$out"; }
PY=$(command -v python3 || command -v python || true)
valid_json() {
    [ -s "$1" ] || return 1
    [ -z "$PY" ] && return 0
    "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null
}
# A JSON file's contents, or null when it is missing or cut short.
embed() { if valid_json "$1"; then cat "$1"; else printf 'null'; fi; }

STEPS_JSON=()
FAILED_STEPS=()
FINDINGS=()
finding() { FINDINGS+=("$*"); say "finding: $*"; }

# run_step NAME SECONDS CMD...: CMD under timeout, cut to the time left; its
# standard output goes to $STEP_STDOUT when that is set, else to the log.
# Sets STEP_RC, STEP_SECONDS, STEP_RSS_KIB (peak resident memory, GNU time).
TIMER=()
run_step() {
    local name=$1 want=$2; shift 2
    local left=$(( (DEADLINE_NS - $(now_ns)) / 1000000000 - RESERVE ))
    local limit=$(( want < left ? want : left ))
    STEP_RC=125; STEP_SECONDS=0; STEP_RSS_KIB=
    if [ "$limit" -lt 3 ]; then
        say "== $name: skipped, ${left}s left of the ${BUDGET}s budget"
        STEPS_JSON+=("{\"name\":$(json_str "$name"),\"status\":\"skipped\",\"limit_seconds\":0}")
        FAILED_STEPS+=("$name (skipped: out of time)")
        return 125
    fi
    say "== $name (timeout ${limit}s): $*"
    local t0 t1 status
    if [ -n "${STEP_STDOUT:-}" ]; then exec 3>"$STEP_STDOUT"; else exec 3>&1; fi
    t0=$(now_ns)
    if [ ${#TIMER[@]} -gt 0 ]; then
        "${TIMER[@]}" -o "$WORK/time.$name" -f '%M' timeout -k 5 "$limit" "$@" >&3
    else
        timeout -k 5 "$limit" "$@" >&3
    fi
    STEP_RC=$?
    exec 3>&-
    t1=$(now_ns)
    local ms=$(( (t1 - t0) / 1000000 ))
    STEP_SECONDS=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    [ -f "$WORK/time.$name" ] && STEP_RSS_KIB=$(tail -1 "$WORK/time.$name")
    case $STEP_RC in
        0) status=ok ;;
        124|137) status=timeout; FAILED_STEPS+=("$name (timed out after ${limit}s)") ;;
        *) status=failed; FAILED_STEPS+=("$name (exit $STEP_RC)") ;;
    esac
    say "== $name: $status (exit $STEP_RC) in ${STEP_SECONDS}s${STEP_RSS_KIB:+, peak ${STEP_RSS_KIB} KiB}"
    STEPS_JSON+=("{\"name\":$(json_str "$name"),\"status\":\"$status\",\"exit\":$STEP_RC,\"seconds\":$STEP_SECONDS,\"limit_seconds\":$limit,\"max_rss_kib\":$(json_num "${STEP_RSS_KIB:-}"),\"command\":$(json_str "$*")}")
    return $STEP_RC
}

# ---------------------------------------------------------------- summary, always

STATUS=partial
HOST_JSON=null; OPENCL_JSON=null; E2E_JSON=null; LOADER_MODE=none; BUNDLE_COMMIT=unknown
finish() {
    local rc=$?
    trap - EXIT INT TERM
    [ "$STATUS" = partial ] && [ ${#FAILED_STEPS[@]} -eq 0 ] && [ "$rc" -eq 0 ] && STATUS=complete
    local steps
    steps=$(IFS=,; echo "${STEPS_JSON[*]}")
    local ms=$(( ($(now_ns) - START_NS) / 1000000 ))
    {
        echo "{"
        echo "\"tool\": \"gpuarc gpu-bundle run.sh\","
        echo "\"status\": \"$STATUS\","
        echo "\"dryrun\": $(json_bool "$DRYRUN"),"
        echo "\"date_utc\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
        echo "\"duration_seconds\": $(printf '%d.%03d' $((ms / 1000)) $((ms % 1000))),"
        echo "\"budget_seconds\": $BUDGET,"
        echo "\"bundle_commit\": $(json_str "$BUNDLE_COMMIT"),"
        echo "\"settings\": {\"frames\": $FRAMES, \"frame_size\": $FRAME_SIZE, \"runs\": $RUNS, \"short_runs\": $SHORT_RUNS, \"tree_mb\": $TREE_MB},"
        echo "\"loader_mode\": \"$LOADER_MODE\","
        echo "\"host\": $HOST_JSON,"
        echo "\"opencl\": $OPENCL_JSON,"
        echo "\"devices\": $(embed "$RESULTS/devices.json"),"
        echo "\"clbench\": {\"decode_fnv1a\": $(embed "$RESULTS/clbench-decode-fnv1a.json"), \"compress\": $(embed "$RESULTS/clbench-compress.json")},"
        echo "\"end_to_end\": $E2E_JSON,"
        echo "\"builds\": {\"gpu\": $(embed "$RESULTS/build-gpu.json"), \"cpu\": $(embed "$RESULTS/build-cpu.json")},"
        echo "\"findings\": $(json_list "${FINDINGS[@]}"),"
        echo "\"failed_steps\": $(json_list "${FAILED_STEPS[@]}"),"
        echo "\"steps\": [$steps]"
        echo "}"
    } > "$RESULTS/summary.json"
    if [ -n "$PY" ] && ! valid_json "$RESULTS/summary.json"; then
        echo "run.sh: summary.json is not valid JSON (a bug in run.sh); the log has everything"
    fi
    say "status: $STATUS; results in $RESULTS: $(cd "$RESULTS" && echo *)"
    if [ "${GPUARC_KEEP_WORK:-0}" = 1 ]; then say "scratch kept in $WORK"; else rm -rf "$WORK"; fi
    exec >&- 2>&-
    wait "$TEE_PID" 2>/dev/null
    case $STATUS in
        complete) exit 0 ;;
        no-opencl-gpu) exit 2 ;;
        *) exit 1 ;;
    esac
}
trap finish EXIT
trap 'say "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- the bundle

say "gpuarc run.sh: results in $RESULTS, scratch in $WORK, budget ${BUDGET}s$([ "$DRYRUN" = 1 ] && echo ', dry run')"
if [ -d "$HERE/bin" ] && [ -d "$HERE/lib" ]; then
    B=$HERE   # an unpacked bundle
elif [ -f "$HERE/payload.tar.gz" ]; then
    B=$WORK/bundle
    mkdir -p "$B"
    if ! tar -xzf "$HERE/payload.tar.gz" -C "$B"; then
        finding "cannot unpack $HERE/payload.tar.gz into $B (disk full, or no gzip?)"
        exit 1
    fi
else
    finding "no payload.tar.gz next to run.sh in $HERE: make the bundle with 'make gpu-bundle' and carry all of .build/gpu-bundle"
    exit 1
fi
BUNDLE_COMMIT=$(sed -n 's/^commit: //p' "$B/BUNDLE-INFO.txt" 2>/dev/null | head -1)
cat "$B/BUNDLE-INFO.txt" 2>/dev/null | sed 's/^/  /'
export GPUARC_KERNELS=$B/share/gpuarc/Kernels

# ---------------------------------------------------------------- host

NPROC=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
GLIBC=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
MEM_KIB=$(awk '/MemTotal/ {print $2}' /proc/meminfo 2>/dev/null)
OS=$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}") )
NVSMI=
SMI=$(command -v nvidia-smi || ls /usr/local/nvidia/bin/nvidia-smi 2>/dev/null)
if [ -n "$SMI" ]; then
    NVSMI=$(timeout 20 "$SMI" --query-gpu=name,driver_version,memory.total,pci.bus_id,clocks.max.sm,power.limit --format=csv,noheader 2>&1)
fi
say "host: $(uname -n), $OS, kernel $(uname -r), glibc $GLIBC, $NPROC cores ($CPU_MODEL), $((MEM_KIB / 1024)) MiB"
say "nvidia-smi: ${NVSMI:-not found}"
ls -l /dev/nvidia* 2>/dev/null | sed 's/^/  /'
HOST_JSON="{\"hostname\":$(json_str "$(uname -n)"),\"os\":$(json_str "$OS"),\"kernel\":$(json_str "$(uname -r)"),\"glibc\":$(json_str "$GLIBC"),\"cpus\":$NPROC,\"cpu_model\":$(json_str "$CPU_MODEL"),\"memory_kib\":$(json_num "$MEM_KIB"),\"nvidia_smi\":$(json_str "$NVSMI"),\"nvidia_device_nodes\":$(json_str "$(ls /dev/nvidia* 2>/dev/null | tr '\n' ' ')")}"

# ---------------------------------------------------------------- 1. OpenCL driver

# ocl-icd (bundled as libOpenCL.so.1) loads the drivers that the .icd files in
# /etc/OpenCL/vendors (or $OCL_ICD_VENDORS) name. A container often has NVIDIA's
# libnvidia-opencl.so.1 mounted with the driver but no .icd file for it.
NV_DIRS=(/usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib
         /lib/x86_64-linux-gnu /usr/local/cuda/lib64 /usr/local/cuda/compat)
IFS=: read -r -a LDP_DIRS <<< "${LD_LIBRARY_PATH:-}"
NV_DIRS+=("${LDP_DIRS[@]}")
while read -r path; do NV_DIRS+=("$(dirname "$path")"); done < <(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so/ {print $NF}')
NV_LIB=
for d in "${NV_DIRS[@]}"; do
    [ -n "$d" ] || continue
    for f in "$d"/libnvidia-opencl.so.1 "$d"/libnvidia-opencl.so.[0-9]*; do
        if [ -f "$f" ]; then NV_LIB=$f; break 2; fi
    done
done
if [ -z "$NV_LIB" ]; then
    # Last resort: the driver's own folders, a few levels down.
    NV_LIB=$(timeout 15 find /usr/local/nvidia /usr/lib /usr/lib64 /usr/local/cuda /opt -maxdepth 5 \
             -name 'libnvidia-opencl.so*' \( -type f -o -type l \) 2>/dev/null | sort | head -1)
fi
NV_DIR=${NV_LIB:+$(dirname "$NV_LIB")}

VENDORS=${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}
LISTED=$(grep -l 'libnvidia-opencl' "$VENDORS" "$VENDORS"/*.icd 2>/dev/null | head -1)
ICD_NOTE=
if [ -n "$LISTED" ]; then
    ICD_NOTE="the NVIDIA driver is listed by $LISTED"
elif [ -n "$NV_LIB" ]; then
    mkdir -p "$WORK/icd"
    echo "$NV_LIB" > "$WORK/icd/nvidia.icd"
    export OCL_ICD_VENDORS=$WORK/icd
    ICD_NOTE="no vendors file in $VENDORS lists libnvidia-opencl; wrote $WORK/icd/nvidia.icd naming $NV_LIB and set OCL_ICD_VENDORS"
else
    ICD_NOTE="libnvidia-opencl.so.1 not found (looked in ${NV_DIRS[*]}, ldconfig -p, and find under /usr/local/nvidia /usr/lib /usr/lib64 /usr/local/cuda /opt)"
fi
say "OpenCL: ${NV_LIB:+driver library $NV_LIB; }$ICD_NOTE"
say "vendors files: $(ls "$VENDORS" 2>/dev/null | tr '\n' ' ')"
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    [ -d "$d" ] && say "$d: $(ls "$d" | grep -E 'opencl|libcuda|ptxjit|nvvm' | tr '\n' ' ')"
done

# How to start the tools: with the host's glibc and GCC runtime, with the
# bundled GCC runtime, or under the bundled glibc's own loader (which ignores
# LD_LIBRARY_PATH for --library-path and makes the tools' /proc/self/exe the
# loader: hence GPUARC_KERNELS above).
EXTRA=${NV_DIR:+:$NV_DIR}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
loader() {
    case $1 in
        host) RUN=(env "LD_LIBRARY_PATH=$B/lib$EXTRA") ;;
        gcc) RUN=(env "LD_LIBRARY_PATH=$B/lib:$B/lib/gcc$EXTRA") ;;
        glibc) RUN=("$B/lib/glibc/ld-linux-x86-64.so.2" --library-path "$B/lib/glibc:$B/lib/gcc:$B/lib$EXTRA") ;;
    esac
}
MODES_OK=()
for mode in host gcc glibc; do
    loader "$mode"
    if "${RUN[@]}" "$B/bin/gpuarc-extract" --help >/dev/null 2>"$WORK/probe.$mode"; then
        MODES_OK+=("$mode")
    else
        say "loader $mode does not start the tools: $(head -c 300 "$WORK/probe.$mode")"
    fi
done
if [ -n "${GPUARC_LOADER:-}" ]; then
    LOADER_MODE=$GPUARC_LOADER
elif [ ${#MODES_OK[@]} -gt 0 ]; then
    LOADER_MODE=${MODES_OK[0]}
else
    finding "the bundled tools do not start here in any loader mode (see the lines above)"
    exit 1
fi
loader "$LOADER_MODE"
say "starting the tools with the $LOADER_MODE loader (working: ${MODES_OK[*]:-none}): ${RUN[*]}"
# GNU time for peak memory, preferably under the bundled loader, where any host
# glibc will do.
try_timer() { "$@" -o /dev/null -f '%M' true 2>/dev/null && TIMER=("$@"); }
try_timer "$B/lib/glibc/ld-linux-x86-64.so.2" --library-path "$B/lib/glibc" "$B/bin/time" \
    || try_timer "$B/bin/time" || try_timer /usr/bin/time \
    || say "no GNU time that starts here: peak memory not recorded"
CLB=("${RUN[@]}" "$B/bin/gpuarc-clbench")
if [ "$LOADER_MODE" != glibc ]; then
    say "libraries of gpuarc-clbench here:"
    "${RUN[@]}" ldd "$B/bin/gpuarc-clbench" 2>&1 | sed 's/^/  /'
fi

if command -v "$B/bin/clinfo" >/dev/null 2>&1; then
    run_step clinfo 20 "${RUN[@]}" "$B/bin/clinfo"
fi
STEP_STDOUT=$WORK/devices.txt run_step list-devices 45 "${CLB[@]}" --list-devices --json "$RESULTS/devices.json"
LIST_RC=$STEP_RC
cat "$WORK/devices.txt"
GPU_COUNT=$(grep -c ', GPU), ' "$WORK/devices.txt")
ALL_COUNT=$(grep -cE '^[0-9]+: ' "$WORK/devices.txt")
# GPUs come first in the list, so they are 0..GPU_COUNT-1.
DEVICES=
if [ "$GPU_COUNT" -gt 0 ]; then
    DEVICES=$(seq -s, 0 $((GPU_COUNT - 1)))
elif [ "$DRYRUN" = 1 ] && [ "$ALL_COUNT" -gt 0 ]; then
    DEVICES=$(seq -s, 0 $((ALL_COUNT - 1)))
fi
OPENCL_JSON="{\"driver_library\":$(json_str "$NV_LIB"),\"icd\":$(json_str "$ICD_NOTE"),\"ocl_icd_vendors\":$(json_str "${OCL_ICD_VENDORS:-}"),\"gpu_devices\":$GPU_COUNT,\"devices\":$ALL_COUNT,\"selected\":$(json_str "$DEVICES")}"
if [ -z "$DEVICES" ]; then
    if [ "$LIST_RC" -ne 0 ]; then
        why=$(sed -n 's/^ *"error" : "\(.*\)",\{0,1\}$/\1/p' "$RESULTS/devices.json" 2>/dev/null | head -1)
        finding "no OpenCL GPU: the OpenCL runtime answered '${why:-exit $LIST_RC}'; $ICD_NOTE"
    else
        finding "no OpenCL GPU: the platforms list only non-GPU devices ($(tr '\n' ';' < "$WORK/devices.txt")); $ICD_NOTE"
    fi
    STATUS=no-opencl-gpu
    exit 2
fi
say "OpenCL devices used: $DEVICES"

# ---------------------------------------------------------------- data: the machine's Python libraries

ROOTS=()
[ -n "${GPUARC_SRC:-}" ] && ROOTS+=("$GPUARC_SRC")
if [ -n "$PY" ]; then
    while read -r d; do ROOTS+=("$d"); done < <("$PY" - <<'EOF' 2>/dev/null
import site, sysconfig
paths = sysconfig.get_paths()
found = [paths.get("purelib"), paths.get("platlib")]
try:
    found += site.getsitepackages()
except Exception:
    pass
found.append(paths.get("stdlib"))
seen = set()
for p in found:
    if p and p not in seen:
        seen.add(p)
        print(p)
EOF
)
fi
ROOTS+=(/usr/lib/python3/dist-packages /usr/include /usr/share)
TREE_BYTES=$((TREE_MB << 20))
TEXT_BYTES=$((FRAMES * FRAME_SIZE))
ROOT=
for r in "${ROOTS[@]}"; do
    [ -d "$r" ] || continue
    # One walk gives both the text files and the sizes of the top-level folders.
    STEP_STDOUT=$WORK/listing.tsv run_step "list-$(basename "$r")" 40 \
        find "$r" -mindepth 1 \( -type f -o -type d \) -printf '%y\t%s\t%P\n'
    total=$(awk -F'\t' '$1 == "f" {s += $2} END {printf "%d", s}' "$WORK/listing.tsv")
    say "$r: $((total >> 20)) MiB"
    if [ "$total" -ge $((TREE_BYTES / 2)) ]; then ROOT=$r; break; fi
done
if [ -z "$ROOT" ]; then
    finding "no folder with at least $((TREE_MB / 2)) MiB of files among ${ROOTS[*]} (set GPUARC_SRC)"
    exit 1
fi

# Text for the kernels: source files in path order (packages stay together, as
# in a backup), until the frames are full.
awk -F'\t' '$1 == "f" && $2 <= 8388608 && $3 ~ /\.(py|pyi|pyx|pxd|h|hpp|hh|cuh|c|cc|cpp|cu|txt|md|rst|json|yaml|yml|toml|cfg|ini|html|js|css|xml|csv)$/ {print $3 "\t" $2}' \
    "$WORK/listing.tsv" | LC_ALL=C sort -t$'\t' -k1,1 \
    | awk -F'\t' -v root="$ROOT" -v limit="$TEXT_BYTES" 's < limit {print root "/" $1; s += $2} END {}' > "$WORK/text-files.txt"
TEXT_FILES=$(wc -l < "$WORK/text-files.txt")
say "text for the kernels: $TEXT_FILES files of $ROOT"

# The end-to-end tree: top-level folders of ROOT in name order, each no larger
# than the target, until about TREE_MB (a folder larger than that, e.g. torch or
# nvidia in a CUDA image, is passed over). Several SRCs: each becomes a
# top-level folder of the archive. They are named relative to ROOT, where the
# end-to-end steps run, to keep the commands short.
awk -F'\t' '$1 == "d" && index($3, "/") == 0 {dir[$3] = 1}
            $1 == "f" {n = index($3, "/"); if (n > 0) size[substr($3, 1, n - 1)] += $2}
            END {for (d in dir) printf "%s\t%d\n", d, size[d]}' "$WORK/listing.tsv" \
    | LC_ALL=C sort -t$'\t' -k1,1 \
    | awk -F'\t' -v target="$TREE_BYTES" '$2 > 0 && $2 <= target && s + $2 <= target * 1.1 {print $1; s += $2} s >= target * 0.9 {exit}' \
    > "$WORK/tree-dirs.txt"
SRCS=()
while read -r d; do SRCS+=("$d"); done < "$WORK/tree-dirs.txt"
TREE_FILES=0; TREE_INPUT=0
if [ ${#SRCS[@]} -gt 0 ]; then
    read -r TREE_FILES TREE_INPUT < <(awk -F'\t' 'NR == FNR {want[$1] = 1; next}
        $1 == "f" {n = index($3, "/"); if (n > 0 && (substr($3, 1, n - 1) in want)) {c++; s += $2}}
        END {printf "%d %d\n", c, s}' "$WORK/tree-dirs.txt" "$WORK/listing.tsv")
fi
say "end-to-end tree: ${#SRCS[@]} folders of $ROOT, $TREE_FILES files, $((TREE_INPUT >> 20)) MiB"

# ---------------------------------------------------------------- 2. kernel throughput

# Decode and hashing first: short, and needed whatever the compressor does.
run_step clbench-decode-fnv1a 75 "${CLB[@]}" --device "$DEVICES" --files-from "$WORK/text-files.txt" \
    --frames "$FRAMES" --frame-size "$FRAME_SIZE" --runs "$SHORT_RUNS" --cpu-threads "$NPROC" \
    --only decode,fnv1a --json "$RESULTS/clbench-decode-fnv1a.json"
run_step clbench-compress 100 "${CLB[@]}" --device "$DEVICES" --files-from "$WORK/text-files.txt" \
    --frames "$FRAMES" --frame-size "$FRAME_SIZE" --runs "$RUNS" --cpu-threads "$NPROC" \
    --only compress --json "$RESULTS/clbench-compress.json"

# ---------------------------------------------------------------- 3. end to end

# compare.sh DEST SRC...: byte-exact, file by file (contents, symlink targets,
# which entries exist); one SRC is the archive root, several are its folders.
cat > "$WORK/compare.sh" <<'EOF'
#!/usr/bin/env bash
dest=$1; shift
bad=0
for src in "$@"; do
    if [ $# -eq 1 ]; then other=$dest; else other=$dest/$(basename "$src"); fi
    diff -r --no-dereference -q "$src" "$other" > "$dest.diff" 2>&1 || bad=1
    if [ -s "$dest.diff" ]; then echo "differences under $src:"; head -20 "$dest.diff"; fi
done
exit $bad
EOF

ARC_GPU=$WORK/arc-gpu/arc
ARC_CPU=$WORK/arc-cpu/arc
mkdir -p "$WORK/arc-gpu" "$WORK/arc-cpu"
archive_bytes() { du -cb "$1".[0-9]* 2>/dev/null | tail -1 | cut -f1; }
E2E=()
e2e_add() { E2E+=("$(json_str "$1"):$2"); }
step_json() { echo "{\"exit\":$STEP_RC,\"seconds\":$STEP_SECONDS,\"max_rss_kib\":$(json_num "${STEP_RSS_KIB:-}")$1}"; }

if [ ${#SRCS[@]} -gt 0 ] && cd "$ROOT"; then
    # Read the tree once so neither build pays for the cold disk.
    run_step warm-cache 40 bash -c 'find "$@" -type f -exec cat {} + > /dev/null' _ "${SRCS[@]}"
    for kind in gpu cpu; do
        arc=$ARC_GPU; [ $kind = cpu ] && arc=$ARC_CPU
        dev=(); [ $kind = gpu ] && dev=(--device "$DEVICES")
        run_step "build-$kind" 80 "${RUN[@]}" "$B/bin/gpuarc-build" --no-progress --compressor $kind "${dev[@]}" \
            --json "$RESULTS/build-$kind.json" "${SRCS[@]}" "$arc"
        e2e_add "build_$kind" "$(step_json ",\"archive_bytes\":$(json_num "$(archive_bytes "$arc")")")"
    done
    # Restores: the GPU-built archive with both decoders (same frames, so the
    # times compare the decoders), the CPU-built one with the GPU decoder.
    for job in gpu-archive:gpu gpu-archive:cpu cpu-archive:gpu; do
        which=${job%%:*}; decoder=${job##*:}
        arc=$ARC_GPU; [ "$which" = cpu-archive ] && arc=$ARC_CPU
        [ -f "$arc.001" ] || { e2e_add "extract_${which/-/_}_decoder_$decoder" '{"exit":null,"note":"no archive"}'; FAILED_STEPS+=("extract $which: no archive"); continue; }
        dest=$WORK/out-$which-$decoder
        dev=(); [ "$decoder" = gpu ] && dev=(--device "$DEVICES")
        run_step "extract-$which-$decoder" 50 "${RUN[@]}" "$B/bin/gpuarc-extract" --decoder "$decoder" "${dev[@]}" "$arc.001" "$dest"
        extract=$(step_json "")
        round_trip=null
        if [ "$STEP_RC" -eq 0 ]; then
            run_step "compare-$which-$decoder" 40 bash "$WORK/compare.sh" "$dest" "${SRCS[@]}"
            case $STEP_RC in 0) round_trip='"identical"' ;; 1) round_trip='"differs"' ;; *) round_trip='"not compared"' ;; esac
        fi
        e2e_add "extract_${which/-/_}_decoder_$decoder" "{\"extract\":$extract,\"round_trip\":$round_trip}"
        rm -rf "$dest" "$dest.diff"
    done
    # Decoding alone (every frame, every checksum, nothing written), both decoders.
    for decoder in gpu cpu; do
        dev=(); [ "$decoder" = gpu ] && dev=(--device "$DEVICES")
        [ -f "$ARC_GPU.001" ] || continue
        run_step "verify-$decoder" 30 "${RUN[@]}" "$B/bin/gpuarc-extract" --verify --decoder "$decoder" "${dev[@]}" "$ARC_GPU.001"
        e2e_add "verify_decoder_$decoder" "$(step_json "")"
    done
else
    finding "no top-level folder of $ROOT fits the ${TREE_MB} MiB end-to-end target; end-to-end steps not run"
    FAILED_STEPS+=("end to end: no tree")
fi
cd "$WORK" || true
E2E_JSON="{\"root\":$(json_str "$ROOT"),\"sources\":$(json_list "${SRCS[@]}"),\"files\":$TREE_FILES,\"input_bytes\":$TREE_INPUT,\"text_files_for_kernels\":$TEXT_FILES$(for e in "${E2E[@]}"; do printf ',%s' "$e"; done)}"
say "done"
