#!/usr/bin/env bash
# Packs .build/gpu-bundle/: what a GPU machine without Swift (or internet) needs to
# run the GPU measurements in one command (docs/GPU.md, "The GPU bundle"):
#
#   .build/gpu-bundle/run.sh              scripts/gpu-run.sh
#   .build/gpu-bundle/payload.tar.gz      bin/      gpuarc-build, -extract, -clbench, -mount;
#                                                   GNU time, clinfo
#                                         lib/      every shared library they load beyond glibc
#                                                   and the GCC runtime (Swift runtime, libOpenCL
#                                                   from ocl-icd, libz, libcrypto, libfuse3)
#                                         lib/gcc/  libstdc++, libgcc_s: used only where the
#                                                   host's are missing or too old
#                                         lib/glibc/ this machine's glibc and loader: used only
#                                                   where the host's glibc is too old
#                                         share/gpuarc/Kernels/*.cl
#   .build/gpu-bundle/BUNDLE-INFO.txt     commit, toolchain, glibc versions needed
#
# Expects release binaries (`make build`); `make gpu-bundle` builds them first.
# The payload is gzip'ed because gzip is the one decompressor every Linux image
# has (xz saved a third, but a CUDA image need not have xz).
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
OUT=.build/gpu-bundle
LIMIT=$((64 << 20))   # what can be carried to the GPU machine, with the working tree
TOOLS=(gpuarc-build gpuarc-extract gpuarc-clbench gpuarc-mount)

die() { echo "gpu-bundle: $*" >&2; exit 1; }

BIN=$("$SWIFT" build -c release --show-bin-path) || die "cannot ask swift for the release folder"
for t in "${TOOLS[@]}"; do
    [ -x "$BIN/$t" ] || die "$BIN/$t is missing: run 'make build' (or 'make gpu-bundle', which builds first)"
done
# From the system: GNU time (peak memory of each step) and clinfo (the driver's
# view of the devices, for the log).
HOST_TOOLS=(/usr/bin/time /usr/bin/clinfo)
for t in "${HOST_TOOLS[@]}"; do
    [ -x "$t" ] || die "$t is missing: install the 'time' and 'clinfo' packages (make deps)"
done
for tool in ldd objdump tar gzip; do
    command -v "$tool" >/dev/null || die "$tool is missing (binutils, libc-bin, tar, gzip)"
done

mkdir -p .build
STAGE=$(mktemp -d .build/gpu-bundle.stage.XXXXXX)
NEW=$(mktemp -d .build/gpu-bundle.new.XXXXXX)
trap 'rm -rf "$STAGE" "$NEW"' EXIT
mkdir -p "$STAGE"/bin "$STAGE"/lib/gcc "$STAGE"/lib/glibc "$STAGE"/share/gpuarc/Kernels

for t in "${TOOLS[@]}"; do cp "$BIN/$t" "$STAGE/bin/"; done
for t in "${HOST_TOOLS[@]}"; do cp "$t" "$STAGE/bin/"; done
ALL=("${TOOLS[@]}" "${HOST_TOOLS[@]##*/}")
cp Kernels/*.cl "$STAGE/share/gpuarc/Kernels/"

# glibc's own libraries stay the host's (they must match its loader); the GCC
# runtime goes to lib/gcc so the host's, usually newer, is preferred.
is_glibc() {
    case "$1" in
        linux-vdso.so.*|ld-linux*.so.*|libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|libutil.so.*|libmvec.so.*) return 0 ;;
    esac
    return 1
}
is_gcc() { case "$1" in libstdc++.so.*|libgcc_s.so.*) return 0 ;; esac; return 1; }

LIBC_DIR=
for t in "${ALL[@]}"; do
    while read -r name arrow path _; do
        [ "$arrow" = "=>" ] || continue
        [ "$path" != "not" ] || die "$t needs $name, which is not installed here (make deps)"
        if [ "$name" = libc.so.6 ]; then LIBC_DIR=$(dirname "$(readlink -f "$path")"); fi
        if is_glibc "$name"; then continue; fi
        dest=lib
        if is_gcc "$name"; then dest=lib/gcc; fi
        [ -e "$STAGE/$dest/$name" ] || cp -L "$path" "$STAGE/$dest/$name"
    done < <(ldd "$STAGE/bin/$t")
done
[ -n "$LIBC_DIR" ] || die "ldd did not show where libc.so.6 is"

# The fallback glibc: the loader plus the libraries a program or a driver
# (libnvidia-opencl, PoCL) may ask for, all from the one glibc build.
LOADER=$(readlink -f /lib64/ld-linux-x86-64.so.2)
cp -L "$LOADER" "$STAGE/lib/glibc/ld-linux-x86-64.so.2"
for l in libc.so.6 libm.so.6 libmvec.so.1 libpthread.so.0 libdl.so.2 librt.so.1 libresolv.so.2 libutil.so.1; do
    [ -e "$LIBC_DIR/$l" ] && cp -L "$LIBC_DIR/$l" "$STAGE/lib/glibc/$l"
done

# Every library a tool loads must now come from the bundle, or be glibc: the
# RUNPATH into /opt/swift works here but not there, so check with ldd.
for t in "${ALL[@]}"; do
    while read -r name arrow path _; do
        [ "$arrow" = "=>" ] || continue
        if is_glibc "$name"; then continue; fi
        case "$path" in
            "$PWD/$STAGE"/*) ;;
            *) die "bundle incomplete: $t loads $name from $path" ;;
        esac
    done < <(LD_LIBRARY_PATH="$PWD/$STAGE/lib:$PWD/$STAGE/lib/gcc" ldd "$STAGE/bin/$t")
done

# The newest glibc symbol version each part asks for: run.sh compares the
# host's glibc with these to pick how to start the tools.
newest_glibc() {
    local f
    for f in "$@"; do objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' || true; done \
        | sed 's/GLIBC_//' | sort -uV | tail -1
}
{
    echo "gpuarc GPU bundle (scripts/gpu-bundle.sh; docs/GPU.md, \"The GPU bundle\")"
    echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "made: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME"), glibc $(getconf GNU_LIBC_VERSION | cut -d' ' -f2)"
    echo "toolchain: $("$SWIFT" --version 2>&1 | head -1)"
    echo "glibc needed by bin/ and lib/: $(newest_glibc "$STAGE"/bin/gpuarc-* "$STAGE"/lib/*.so*)"
    echo "glibc needed by lib/gcc/: $(newest_glibc "$STAGE"/lib/gcc/*)"
    echo "glibc in lib/glibc/: $(getconf GNU_LIBC_VERSION | cut -d' ' -f2)"
    echo "tools: ${ALL[*]}"
    echo "libraries:"
    (cd "$STAGE/lib" && find . -type f | sed 's|^\./|  |' | sort)
    echo "kernels: $(cd "$STAGE/share/gpuarc/Kernels" && echo *.cl)"
} > "$STAGE/BUNDLE-INFO.txt"

tar -C "$STAGE" -cf - . | gzip -6 > "$NEW/payload.tar.gz"
cp scripts/gpu-run.sh "$NEW/run.sh"
chmod +x "$NEW/run.sh"
cp "$STAGE/BUNDLE-INFO.txt" "$NEW/"
chmod 755 "$NEW"   # mktemp made it private
size=$(du -sb "$NEW" | cut -f1)
[ "$size" -le "$LIMIT" ] || die "the bundle is $((size >> 20)) MiB, over the $((LIMIT >> 20)) MiB that can be carried"
rm -rf "$OUT"
mv "$NEW" "$OUT"
echo "gpu-bundle: $OUT: $(du -sh "$OUT" | cut -f1) ($size bytes; unpacked $(du -sh "$STAGE" | cut -f1))"
