#!/usr/bin/env python3
"""Writes fuzz seed inputs (Tests/FuzzCorpus/<target>/) from a real one-volume
archive, in the input layouts the targets in Tests/Fuzz/ document.

    scripts/fuzz-seeds.py ARCHIVE.001 OUTDIR

lz4x_decode also gets blocks with matches into a prefix dictionary, made by the
small greedy LZ4X encoder below (the builder writes no delta chunks yet)."""
import os, struct, sys, zlib

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
    inflated = zlib.decompress(compressed)
    volume = data[:index_offset]
    name = os.path.basename(archive).replace(".", "-")

    def put(target, label, payload):
        d = os.path.join(outdir, target)
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, f"{name}-{label}"), "wb").write(payload)

    def put_shared(target, label, payload):
        open(os.path.join(outdir, target, label), "wb").write(payload)

    put("index_parse", "inflated-sealed", b"\x01" + inflated)
    put("index_parse", "compressed", b"\x02" + compressed)
    put("index_parse", "whole-tail", b"\x00" + compressed + data[-24:])
    for flags in (0x00, 0x03, 0x07, 0x41):
        put("frame_read", f"flags{flags:02x}", bytes([flags]) + struct.pack("<I", len(inflated)) + inflated + volume)
    for i, (codec, decoded, payload) in enumerate(frames(volume)):
        if codec == 1 and decoded < 1 << 24:
            put("lz4x_decode", f"frame{i}", bytes([0]) + decoded.to_bytes(3, "little") + b"\x03" + payload)
    # Delta-style blocks: a later version of some text against an earlier one.
    base = b"".join(b"line %d of the base version\n" % i for i in range(40))
    for label, new in (("edit", base.replace(b"line 7", b"LINE 7!")), ("append", base + b"tail\n" * 9)):
        prefix = base[-255:]
        put_shared("lz4x_decode", f"prefix-{label}", bytes([len(prefix)]) + len(new).to_bytes(3, "little") + b"\x01"
            + lz4x(prefix + new, len(prefix)) + prefix)

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
