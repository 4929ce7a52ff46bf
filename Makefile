# gpuarc: build, test, demo and benchmark entry points.
SWIFT ?= swift
DIR ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages: zlib and libdeflate (index), fuse3 (mount), OpenCL + PoCL (GPU path on CPU),
# OpenSSL libcrypto (chunk hashes), libzstd (the zstd frame codec), the anchor tools the benchmarks compare with,
# python3 for the mount benchmark's random reads and the GPU dry run's checks, and
# binutils (objdump) for the GPU bundle, which also carries time and clinfo.
DEBS := zlib1g-dev pkg-config libfuse3-dev fuse3 ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo \
        libssl-dev libzstd-dev lz4 zstd squashfs-tools squashfuse erofs-utils time python3 acl attr libisal-dev libdeflate-dev par2 binutils

.PHONY: deps build test demo bench bench-mount clean fuzz fuzz-smoke gpu-bundle gpu-dryrun

deps:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEBS)

build:
	$(SWIFT) build -c release

# A short fuzz run first, then the XCTest suites, whose summary line ends the output.
test:
	$(MAKE) fuzz-smoke
	bash scripts/test.sh

demo: build
	bash scripts/demo.sh

bench: build
	bash bench/bench.sh $(DIR)
	bash bench/mount.sh $(DIR)
	bash bench/palantir.sh $(DIR)
	bash bench/parity.sh $(DIR)
	bash bench/append.sh

# The mount benchmark alone: gpuarc-mount against squashfuse on DIR.
bench-mount: build
	bash bench/mount.sh $(DIR)

clean:
	rm -rf .build .build-fuzz

# The GPU machine's one-command run (docs/GPU.md, "The GPU bundle"): release tools,
# their libraries, the kernels and run.sh in .build/gpu-bundle/; `make gpu-dryrun`
# runs that bundle here on PoCL with small data, so neither can rot.
gpu-bundle: build
	bash scripts/gpu-bundle.sh

gpu-dryrun: gpu-bundle
	bash scripts/gpu-dryrun.sh

# libFuzzer targets (Tests/Fuzz, ASan): `make fuzz FUZZ_SECONDS=600` runs each that long;
# `make fuzz-smoke` is the short run `make test` (CI) includes.
FUZZ_SECONDS ?= 300
SMOKE_SECONDS ?= 20

fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz-smoke:
	bash scripts/fuzz.sh $(SMOKE_SECONDS)
