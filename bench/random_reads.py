#!/usr/bin/env python3
"""Random 4 KiB reads on a mounted tree: p50/p99 latency, cold then warm.

Cold: the first pass on a fresh mount. Warm: the same reads again after the
kernel page cache was told to drop those files (POSIX_FADV_DONTNEED), so the
driver's own cache answers rather than the kernel's.
usage: random_reads.py MOUNTPOINT COUNT SEED
"""
import os
import random
import sys
import time


def regular_files(root):
    files = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if os.path.isfile(path) and not os.path.islink(path) and st.st_size >= 4096:
                files.append((path, st.st_size))
    return files


def one_pass(reads):
    latencies = []
    for path, offset in reads:
        fd = os.open(path, os.O_RDONLY)
        start = time.perf_counter()
        os.pread(fd, 4096, offset)
        latencies.append(time.perf_counter() - start)
        os.close(fd)
    latencies.sort()
    return latencies[len(latencies) // 2] * 1e6, latencies[int(len(latencies) * 0.99)] * 1e6


def main():
    root, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    files = sorted(regular_files(root))
    rng = random.Random(seed)
    reads = []
    for _ in range(count):
        path, size = files[rng.randrange(len(files))]
        reads.append((path, rng.randrange(0, size - 4096 + 1) & ~4095))
    cold = one_pass(reads)
    for path, _ in files:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    warm = one_pass(reads)
    print(f"{cold[0]:.0f} {cold[1]:.0f} {warm[0]:.0f} {warm[1]:.0f}")


if __name__ == "__main__":
    main()
