#!/usr/bin/env python3
"""Random damage campaign against gpuarc's parity, index copy and frame checks
(not a test: docs/RELIABILITY.md quotes its counts).

    python3 scripts/damage-campaign.py [TRIALS] [SEED] [ARCHIVES]

ARCHIVES, comma-separated (default all four): lz4x (LZ4X frames), zstd (zstd
frames), zstd-delta (zstd frames and zstd delta chunks: three similar text
files of 4.5 MiB beside the small files, which the builder's default delta
rule takes) and appended (three versions of such a tree, each edited on top of
the one before, built with --name and two appends: a chain of three index
segments, each compressed against the one before, and delta chains). For each, the tools build an archive with --parity 2 and one
without parity. Each of TRIALS trials damages the first: one or two volumes
(data, parity, or the last one with the index) get flipped bytes, a zeroed
4 KiB, a truncation, junk of the same size, or are deleted; then gpuarc-repair
must rebuild every volume byte for byte. Trials with three damaged volumes
must be repaired when the damage falls in different stripes and named beyond
repair otherwise, never half-written. Each of TRIALS trials on the second
archive damages the end of its last volume (the index region: a flip, zeros,
a cut) and extract must still restore every file exactly, from the index
copy. Each of TRIALS more damages one or two of its volumes or its index copy
the same ways as the first archive's and extracts the whole tree: every file
must come back byte-exact, or be missing and named on stderr (or the archive
refused), with exit status 1: 0 wrong bytes is the claim.

The tools come from GPUARC_BIN, else .build/release if it holds them, else
.build/debug (`swift build` builds those)."""
import json, os, random, re, shutil, subprocess, sys, tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def tools():
    if os.environ.get("GPUARC_BIN"):
        return os.environ["GPUARC_BIN"]
    for kind in ("release", "debug"):
        d = os.path.join(ROOT, ".build", kind)
        if all(os.path.exists(os.path.join(d, t)) for t in ("gpuarc-build", "gpuarc-extract", "gpuarc-repair")):
            return d
    sys.exit("damage-campaign: no gpuarc-build, gpuarc-extract, gpuarc-repair in .build/release or .build/debug"
             " (swift build), and GPUARC_BIN is not set")


BIN = tools()

# name: (build options, the big similar files or not, versions appended one at a time)
ARCHIVES = {
    "lz4x": (["--codec", "lz4x", "--volume-size", "128K"], False, 1),
    "zstd": (["--codec", "zstd", "--volume-size", "128K"], False, 1),
    "zstd-delta": (["--codec", "zstd", "--volume-size", "256K"], True, 1),
    "appended": (["--codec", "zstd", "--volume-size", "256K", "--delta"], True, 3),
}


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


def make_sources(src, rng, big, versions=1):
    if versions > 1:
        # One directory per version, each the one before with more edits to
        # its big texts (so their chunks are coded against the version before).
        make_sources(os.path.join(src, "v0"), rng, big)
        for v in range(1, versions):
            shutil.copytree(os.path.join(src, "v%d" % (v - 1)), os.path.join(src, "v%d" % v))
            for name in sorted(os.listdir(os.path.join(src, "v%d" % v))):
                path = os.path.join(src, "v%d" % v, name)
                data = bytearray(open(path, "rb").read())
                for _ in range(200 if name.startswith("big") else 1):
                    at = rng.randrange(len(data))
                    data[at:at + 8] = rng.randbytes(8)
                open(path, "wb").write(bytes(data))
        return
    os.makedirs(src)
    for i in range(40):
        open(os.path.join(src, "f%d.bin" % i), "wb").write(rng.randbytes(30000) + b"text " * 2000)
    if big:
        # Three versions of a text of 4.5 MiB (random words, so it compresses
        # only about 2:1 and each version is beyond a frame's reach of the
        # others): the builder stores the later ones as zstd delta chunks.
        words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(5000)]
        text = bytearray()
        while len(text) < 4_700_000:
            text += b" ".join(rng.choice(words) for _ in range(12)) + b"\n"
        for v in range(3):
            edited = bytearray(text)
            for _ in range(300 * v):
                at = rng.randrange(len(edited))
                edited[at:at + 20] = rng.choice(words)
            open(os.path.join(src, "big%d.txt" % v), "wb").write(bytes(edited))


def tree(directory):
    out = {}
    for base, _, names in os.walk(directory):
        for n in names:
            p = os.path.join(base, n)
            out[os.path.relpath(p, directory)] = open(p, "rb").read()
    return out


def build(args, src, out, versions, stats=None):
    """Builds `src` into `out` (with --json `stats` on the last run): at once,
    or version v0 with --name and each later one appended."""
    json_args = ["--json", stats] if stats else []
    if versions == 1:
        return run("gpuarc-build", *args, *json_args, src, out)
    result = run("gpuarc-build", *args, "--name", "v0", os.path.join(src, "v0"), out)
    for v in range(1, versions):
        if result.returncode != 0:
            return result
        result = run("gpuarc-build", *args, *(json_args if v == versions - 1 else []), "--append", out + ".001",
                     "--name", "v%d" % v, os.path.join(src, "v%d" % v))
    return result


def lost_version(name, stderr):
    """Whether the file `name` (under its version's directory) belongs to a
    version that extract named as lost: an archive that opens only an older
    state says which versions it can read, "versions up to "vK" can be read,
    but not what was added after", and everything of the later ones is lost."""
    m = re.search(r'versions up to "v(\d+)" can be read, but not what was added after', stderr)
    return bool(m) and name.startswith("v") and int(name.split("/")[0][1:]) > int(m.group(1))


def campaign(label, options, big, versions, trials, rng, work, counts):
    def count(key, ok):
        total, good = counts.get((label, key), (0, 0))
        counts[(label, key)] = (total + 1, good + (1 if ok else 0))

    def note(key, n=1):
        total, _ = counts.get((label, key), (0, 0))
        counts[(label, key)] = (total + n, None)

    src = os.path.join(work, label, "src")
    make_sources(src, rng, big, versions)
    original = tree(src)
    par, plain = os.path.join(work, label, "par"), os.path.join(work, label, "plain")
    os.makedirs(par)
    os.makedirs(plain)
    args = ["--compressor", "cpu", "-q", "--no-progress", "--frame-size", "32K", *options]
    stats = os.path.join(work, label, "stats.json")
    assert build([*args, "--parity", "2"], src, os.path.join(par, "arc"), versions).returncode == 0
    built = build(args, src, os.path.join(plain, "arc"), versions, stats)
    assert built.returncode == 0, built.stderr
    facts = json.load(open(stats))
    frames = facts["framesByDevice"]
    deltas = sum(facts["similarity"]["deltaHits"]) if facts.get("deltas") else 0
    saved = snapshot(par)
    volumes = sorted(n for n in saved if n != "arc.idx")
    print("%s: %d data + 2 parity volumes, frames %s, %d %s delta chunks (%s)" % (
        label, sum(1 for n in volumes if n[4:].isdigit()), json.dumps(frames), deltas, facts["codec"],
        " ".join(options)), flush=True)
    if big:
        assert facts["codec"] == "zstd" and deltas > 0, "no zstd delta chunks in the zstd-delta archive"

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
            note("kind " + k)
        restore(par, saved)

    plain_saved = snapshot(plain)
    last = max(n for n in plain_saved if n[4:].isdigit())
    dest = os.path.join(work, label, "dest")
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
        result = run("gpuarc-extract", "--decoder", "cpu", os.path.join(plain, "arc.001"), dest)
        count("no parity, end of the last volume damaged: restored exactly", result.returncode == 0 and tree(dest) == original)
        shutil.rmtree(dest, ignore_errors=True)
        restore(plain, plain_saved)

    # Damaged reads: whatever extract restores is exact; what it cannot is named.
    candidates = sorted(plain_saved)
    for trial in range(trials):
        victims = rng.sample(candidates, rng.choice([1, 1, 2]))
        for v in victims:
            note("reads: kind " + damage(os.path.join(plain, v), rng))
        result = run("gpuarc-extract", "--decoder", "cpu", os.path.join(plain, "arc.001"), dest)
        got = tree(dest) if os.path.isdir(dest) else {}
        stderr = result.stderr.decode("utf-8", "replace")
        refused = result.returncode != 0 and not got
        wrong = silent = exact = lost = 0
        for name, want in original.items():
            have = got.get(name)
            if have == want:
                exact += 1
            elif have is not None:
                wrong += sum(a != b for a, b in zip(have, want)) + abs(len(have) - len(want))
            elif result.returncode != 0 and (refused or name + ": not restored" in stderr or lost_version(name, stderr)):
                lost += 1
            else:
                silent += 1
        note("reads: files restored byte-exact", exact)
        note("reads: files not restored, named (or the archive refused)", lost)
        note("reads: wrong bytes", wrong)
        note("reads: files missing but not named", silent)
        if silent and os.environ.get("CAMPAIGN_DEBUG"):
            print("  unnamed losses after %s (exit %d): %s" % (victims, result.returncode, stderr[:600]), flush=True)
        count("reads: damaged archive read, no wrong byte, every loss named", wrong == 0 and silent == 0)
        shutil.rmtree(dest, ignore_errors=True)
        restore(plain, plain_saved)


def main():
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    labels = sys.argv[3].split(",") if len(sys.argv) > 3 else list(ARCHIVES)
    print("tools: %s" % os.path.normpath(BIN), flush=True)
    work = tempfile.mkdtemp(prefix="gpuarc-campaign.")
    counts = {}
    try:
        for label in labels:
            options, big, versions = ARCHIVES[label]
            campaign(label, options, big, versions, trials, rng, work, counts)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    failed = False
    for label in labels:
        print("== %s" % label)
        def order(key):
            kind = "kind " in key
            return (key.startswith("reads"), key.startswith("no parity"), kind, counts[(label, key)][1] is None, key)
        for key in sorted((k for (l, k) in counts if l == label), key=order):
            l = label
            total, good = counts[(l, key)]
            if good is None:
                print("  %-66s %9d" % (key, total))
            else:
                print("  %-66s %5d of %5d" % (key, good, total))
                failed |= good != total
    reads = sum(counts.get((l, "reads: damaged archive read, no wrong byte, every loss named"), (0, 0))[0] for l in labels)
    wrong = sum(counts.get((l, "reads: wrong bytes"), (0, 0))[0] for l in labels)
    silent = sum(counts.get((l, "reads: files missing but not named"), (0, 0))[0] for l in labels)
    repairs = sum(t for (l, k), (t, g) in counts.items() if g is not None and not k.startswith(("reads", "no parity")))
    print("summary: %s: %d repair trials, %d index-region trials, %d damaged reads: %d wrong bytes, %d unnamed losses; %s" % (
        ", ".join(labels), repairs, trials * len(labels), reads, wrong, silent, "FAILED" if failed else "all held"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
