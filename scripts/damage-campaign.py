#!/usr/bin/env python3
"""Random damage campaign against gpuarc's parity and index copy (not a test:
docs/RELIABILITY.md quotes its counts).

    python3 scripts/damage-campaign.py [TRIALS] [SEED]

Builds, with the release tools, an archive of ten data volumes with
--parity 2 and one without parity. Each trial damages the first: one or two
volumes (data, parity, or the last one with the index) get flipped bytes, a
zeroed 4 KiB, a truncation, junk of the same size, or are deleted; then
gpuarc-repair must rebuild every volume byte for byte. Trials with three
damaged volumes must be repaired when the damage falls in different stripes
and named beyond repair otherwise, never half-written. Each trial on the
second archive damages the end of its last volume (the index region: a flip,
zeros, a cut) and extract must still restore every file exactly, from the
index copy."""
import os, random, shutil, subprocess, sys, tempfile

BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release")


def run(*args):
    return subprocess.run([os.path.join(BIN, args[0]), *args[1:]], capture_output=True)


def snapshot(directory):
    return {n: open(os.path.join(directory, n), "rb").read() for n in os.listdir(directory)}


def restore(directory, saved):
    for n in os.listdir(directory):
        os.unlink(os.path.join(directory, n))
    for n, data in saved.items():
        open(os.path.join(directory, n), "wb").write(data)


def damage(path, rng):
    data = bytearray(open(path, "rb").read())
    kind = rng.choice(["flip", "zero4k", "truncate", "junk", "delete"])
    if kind == "delete":
        os.unlink(path)
        return kind
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "zero4k":
        at = rng.randrange(max(1, len(data) - 4096))
        data[at:at + 4096] = bytes(min(4096, len(data) - at))
    elif kind == "truncate":
        del data[rng.randrange(len(data)):]
    else:
        data = bytearray(rng.randbytes(len(data)))
    open(path, "wb").write(data)
    return kind


def main():
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    work = tempfile.mkdtemp(prefix="gpuarc-campaign.")
    try:
        src = os.path.join(work, "src")
        os.makedirs(src)
        for i in range(40):
            open(os.path.join(src, "f%d.bin" % i), "wb").write(rng.randbytes(30000) + b"text " * 2000)
        par, plain = os.path.join(work, "par"), os.path.join(work, "plain")
        os.makedirs(par)
        os.makedirs(plain)
        args = ["--compressor", "cpu", "-q", "--no-progress", "--volume-size", "128K", "--frame-size", "32K"]
        assert run("gpuarc-build", *args, "--parity", "2", src, os.path.join(par, "arc")).returncode == 0
        assert run("gpuarc-build", *args, src, os.path.join(plain, "arc")).returncode == 0
        saved = snapshot(par)
        volumes = sorted(n for n in saved if n != "arc.idx")
        counts = {}

        def count(key, ok):
            total, good = counts.get(key, (0, 0))
            counts[key] = (total + 1, good + (1 if ok else 0))

        for trial in range(trials):
            victims = rng.sample(volumes, rng.choice([1, 2, 2, 3]))
            kinds = [damage(os.path.join(par, v), rng) for v in victims]
            report = run("gpuarc-repair", os.path.join(par, "arc.001"))
            exact = all(open(os.path.join(par, v), "rb").read() == saved[v] for v in volumes if os.path.exists(os.path.join(par, v)))
            complete = all(os.path.exists(os.path.join(par, v)) for v in volumes)
            if len(victims) <= 2:
                count("repaired, %d volume(s) damaged" % len(victims), report.returncode == 0 and exact and complete)
            elif report.returncode == 0:
                count("3 volumes damaged: repaired (damage in different stripes)", exact and complete)
            else:
                # Beyond repair: only damaged volumes named so, the others rebuilt exactly.
                line = next((l for l in report.stderr.split(b"\n") if b"beyond repair:" in l), b"")
                named = [n for n in volumes if (os.path.join(par, n)).encode() in line]
                rebuilt = all(open(os.path.join(par, v), "rb").read() == saved[v] for v in volumes
                              if v not in named and os.path.exists(os.path.join(par, v)))
                count("3 volumes damaged: named beyond repair", bool(named) and set(named) <= set(victims) and rebuilt)
            for k in kinds:
                counts.setdefault("kind " + k, (0, 0))
                t, g = counts["kind " + k]
                counts["kind " + k] = (t + 1, g)
            restore(par, saved)

        plain_saved = snapshot(plain)
        last = max(n for n in plain_saved if n[4:].isdigit())
        for trial in range(trials):
            path = os.path.join(plain, last)
            data = bytearray(plain_saved[last])
            tail = rng.randrange(1, 2000)
            choice = rng.choice(["flip", "zero", "cut"])
            if choice == "flip":
                data[len(data) - tail] ^= 0xFF
            elif choice == "zero":
                data[len(data) - tail:] = bytes(tail)
            else:
                del data[len(data) - tail:]
            open(path, "wb").write(data)
            dest = os.path.join(work, "dest")
            result = run("gpuarc-extract", "--decoder", "cpu", os.path.join(plain, "arc.001"), dest)
            same = subprocess.run(["diff", "-r", src, dest], capture_output=True).returncode == 0
            count("no parity, end of the last volume damaged: restored exactly", result.returncode == 0 and same)
            shutil.rmtree(dest, ignore_errors=True)
            restore(plain, plain_saved)

        for key in sorted(counts):
            total, good = counts[key]
            print("%-62s %5d" % (key, total) if key.startswith("kind") else "%-62s %5d of %5d" % (key, good, total))
        return 0 if all(g == t for k, (t, g) in counts.items() if not k.startswith("kind")) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
