#!/usr/bin/env python3
"""Writes fuzz seed inputs (Tests/FuzzCorpus/<target>/) from a real one-volume
archive, in the input layouts the targets in Tests/Fuzz/ document.

    scripts/fuzz-seeds.py ARCHIVE.001 OUTDIR
    scripts/fuzz-seeds.py --zstd OUTDIR

lz4x_decode also gets blocks with matches into a prefix dictionary, made by the
small greedy LZ4X encoder below (the builder writes no delta chunks yet), and
zstd_decode gets the zstd frames of the archive. `--zstd` writes zstd_decode's
own seeds with the zstd command-line tool (no Python zstd module needed):
frames as the encoder writes them (content size, no dictionary id, no
checksum), delta chunks (`--patch-from`, magic removed: the decoder's deltas
are magicless frames), and frames with the header fields the decoder refuses
or must notice: a wrong content size, a dictionary id, a window larger than
the frame, truncations, trailing bytes, a skippable frame."""
import os, struct, subprocess, sys, tempfile, zlib

def frames(volume):
    """(codec, decoded size, payload) of every frame, walking headers from byte 32."""
    at = 32
    while volume[at:at + 4] == b"GFRM":
        codec = volume[at + 4]
        stored, decoded = struct.unpack_from("<II", volume, at + 12)
        yield codec, decoded, volume[at + 40:at + 40 + stored]
        at += 40 + stored

def lz4x(data, prefix_len):
    """Greedy LZ4X of data[prefix_len:], matches may reach into data[:prefix_len]."""
    out, table = bytearray(), {}
    for q in range(max(0, prefix_len - 3)):
        table[data[q:q + 4]] = q
    def lengths(n):
        out = bytearray()
        while n >= 255: out.append(255); n -= 255
        out.append(n)
        return out
    anchor = p = prefix_len
    last_start = len(data) - 12
    while p <= last_start:
        key = data[p:p + 4]
        cand = table.get(key)
        table[key] = p
        if cand is None or p - cand > 0xFFFFFF:
            p += 1
            continue
        length = 4
        while p + length < len(data) - 5 and data[cand + length] == data[p + length]:
            length += 1
        lit = p - anchor
        out.append((min(lit, 15) << 4) | min(length - 4, 15))
        if lit >= 15: out += lengths(lit - 15)
        out += data[anchor:p]
        out += (p - cand).to_bytes(3, "little")
        if length - 4 >= 15: out += lengths(length - 19)
        p += length
        anchor = p
    lit = len(data) - anchor
    out.append(min(lit, 15) << 4)
    if lit >= 15: out += lengths(lit - 15)
    out += data[anchor:]
    return bytes(out)

def main(archive, outdir):
    data = open(archive, "rb").read()
    index_offset, index_size = struct.unpack_from("<QQ", data, len(data) - 24)
    compressed = data[index_offset:index_offset + index_size]
    if compressed.startswith(b"GPUIXZS1"):
        # Index format 6: a 40-byte envelope, then a zstd frame (segment 1: no prefix).
        inflated = subprocess.run(["zstd", "-q", "-d", "-c"], input=compressed[40:], capture_output=True, check=True).stdout
    else:
        inflated = zlib.decompress(compressed)
    volume = data[:index_offset]
    name = os.path.basename(archive).replace(".", "-")

    def put(target, label, payload):
        d = os.path.join(outdir, target)
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, f"{name}-{label}"), "wb").write(payload)

    def put_shared(target, label, payload):
        os.makedirs(os.path.join(outdir, target), exist_ok=True)
        open(os.path.join(outdir, target, label), "wb").write(payload)

    put("index_parse", "inflated-sealed", b"\x01" + inflated)
    put("index_parse", "compressed", b"\x02" + compressed)
    put("index_parse", "whole-tail", b"\x00" + compressed + data[-24:])
    for flags in (0x00, 0x03, 0x07, 0x41):
        put("frame_read", f"flags{flags:02x}", bytes([flags]) + struct.pack("<I", len(inflated)) + inflated + volume)
    for i, (codec, decoded, payload) in enumerate(frames(volume)):
        if codec == 1 and decoded < 1 << 24:
            put("lz4x_decode", f"frame{i}", bytes([0]) + decoded.to_bytes(3, "little") + b"\x03" + payload)
        if codec == 2 and decoded < 1 << 24:
            put("zstd_decode", f"frame{i}", zstd_seed(False, decoded, payload))
    # Delta-style blocks: a later version of some text against an earlier one.
    base = b"".join(b"line %d of the base version\n" % i for i in range(40))
    for label, new in (("edit", base.replace(b"line 7", b"LINE 7!")), ("append", base + b"tail\n" * 9)):
        prefix = base[-255:]
        put_shared("lz4x_decode", f"prefix-{label}", bytes([len(prefix)]) + len(new).to_bytes(3, "little") + b"\x01"
            + lz4x(prefix + new, len(prefix)) + prefix)

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

def zstd_seed(delta, decoded, payload, prefix=b"", step=1):
    """zstd_decode's layout: flags, decoded size (u24), step, prefix length (u16), payload, prefix."""
    return bytes([1 if delta else 0]) + decoded.to_bytes(3, "little") + bytes([step]) \
        + len(prefix).to_bytes(2, "little") + payload + prefix

def zstd_cli(data, *args, base=None):
    """data compressed by the zstd tool, from a file so the frame states its size."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "in")
        open(src, "wb").write(data)
        extra = []
        if base is not None:
            open(os.path.join(d, "base"), "wb").write(base)
            extra = ["--patch-from=" + os.path.join(d, "base")]
        return subprocess.run(["zstd", "-q", "-c", *args, *extra, src], check=True, capture_output=True).stdout

def zstd_header(frame):
    """(descriptor, window byte or None, dictionary id bytes, content size bytes, header end)."""
    fhd = frame[4]
    single = fhd >> 5 & 1
    at = 5
    window = None if single else frame[at]
    at += 1 - single
    did = (0, 1, 2, 4)[fhd & 3]
    fcs = (single, 2, 4, 8)[fhd >> 6]
    return fhd, window, frame[at:at + did], frame[at + did:at + did + fcs], at + did + fcs

def zstd_reheader(frame, window=None, dictid=b"", size=None):
    """The same blocks under another header: window descriptor (None: single segment),
    dictionary id (0, 1, 2 or 4 bytes), content size (8 bytes)."""
    fhd, _, _, fcs, end = zstd_header(frame)
    if size is None:
        size = int.from_bytes(fcs, "little") + (256 if len(fcs) == 2 else 0)
    descriptor = (3 << 6) | (fhd & 4) | {0: 0, 1: 1, 2: 2, 4: 3}[len(dictid)] | ((window is None) << 5)
    return ZSTD_MAGIC + bytes([descriptor]) + (b"" if window is None else bytes([window])) + dictid \
        + size.to_bytes(8, "little") + frame[end:]

def zstd_seeds(outdir):
    d = os.path.join(outdir, "zstd_decode")
    os.makedirs(d, exist_ok=True)
    def put(label, payload):
        open(os.path.join(d, label), "wb").write(payload)
    text = b"".join(b"%d: the quick brown fox %s over the lazy dog\n" % (i, b"jumps" if i % 7 else b"leaps")
                    for i in range(80))
    frame = zstd_cli(text, "-3", "--no-check")
    put("frame-text", zstd_seed(False, len(text), frame, step=2))
    put("frame-checksum", zstd_seed(False, len(text), zstd_cli(text, "-19")))
    put("frame-empty", zstd_seed(False, 0, zstd_cli(b"", "-3", "--no-check")))
    noise = bytes((i * 7919 + (i >> 3) * 104729) & 0xFF for i in range(1500))
    put("frame-raw-block", zstd_seed(False, len(noise), zstd_cli(noise, "-3", "--no-check")))
    # Three 128 KiB blocks and a bit: several blocks decoded in steps (an RLE run in between).
    many = (text * 60)[:200000] + bytes(150000) + text
    put("frame-blocks", zstd_seed(False, len(many), zstd_cli(many, "-3", "--no-check"), step=1))
    # Header fields the decoder must refuse before decoding, or catch while decoding.
    put("frame-wrong-size", zstd_seed(False, len(text) + 1, zstd_reheader(frame, size=len(text) + 1)))
    put("frame-dictid", zstd_seed(False, len(text), zstd_reheader(frame, dictid=b"\x07\x00\x00\x01")))
    put("frame-large-window", zstd_seed(False, len(text), zstd_reheader(frame, window=(27 - 10) << 3)))
    put("frame-truncated", zstd_seed(False, len(text), frame[:len(frame) // 2]))
    put("frame-header-only", zstd_seed(False, len(text), frame[:zstd_header(frame)[4]]))
    put("frame-trailing", zstd_seed(False, len(text), frame + frame[:9]))
    put("frame-skippable", zstd_seed(False, 8, b"\x50\x2a\x4d\x18" + (8).to_bytes(4, "little") + b"skipped!"))
    # Delta chunks: a later version against its base, magicless (the magic removed).
    edited = text.replace(b"lazy", b"sleepy").replace(b"12: ", b"twelve: ") + b"a line at the end\n"
    delta = zstd_cli(edited, "-9", "--no-check", base=text)
    assert delta[:4] == ZSTD_MAGIC
    put("delta-edit", zstd_seed(True, len(edited), delta[4:], prefix=text))
    put("delta-no-prefix", zstd_seed(True, len(edited), zstd_cli(edited, "-9", "--no-check")[4:]))
    put("delta-wrong-size", zstd_seed(True, len(edited) - 1, zstd_reheader(delta, size=len(edited) - 1)[4:], prefix=text))
    put("delta-truncated", zstd_seed(True, len(edited), delta[4:len(delta) - 5], prefix=text))

if __name__ == "__main__":
    if sys.argv[1] == "--zstd":
        zstd_seeds(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2])
