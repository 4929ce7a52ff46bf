#!/usr/bin/env python3
"""Compares two directory trees entry by entry, independently of gpuarc's
own code: names as bytes (os functions on bytes paths never decode them),
type, mode, owner, size, mtime to the nanosecond, symlink targets, content,
extended attributes (ACLs included), where sparse files hold data, and which
names share an inode.

    treecmp.py A B [--no-xattrs] [--no-dir-times] [--no-holes]

Exit status 0 when the trees are the same, 1 with the differences listed
(names escaped as Python bytes literals), 2 on a usage error.
"""
import hashlib
import os
import stat
import sys


def data_map(fd, st):
    """Data extents of a file with holes; None for a file without."""
    if st.st_blocks * 512 >= st.st_size:
        return None
    extents, position = [], 0
    while position < st.st_size:
        try:
            data = os.lseek(fd, position, os.SEEK_DATA)
        except OSError:
            break
        hole = os.lseek(fd, data, os.SEEK_HOLE)
        extents.append((data, hole - data))
        position = hole
    return None if extents == [(0, st.st_size)] else extents


def describe(root, options):
    entries, first_name = {}, {}

    def visit(path, relative):
        st = os.lstat(path)
        kind = stat.S_IFMT(st.st_mode)
        entry = {"type": kind, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
        if not (kind == stat.S_IFDIR and options["no_dir_times"]):
            entry["mtime"] = st.st_mtime_ns
        if options["xattrs"]:
            entry["xattrs"] = sorted((name, os.getxattr(path, name, follow_symlinks=False))
                                     for name in os.listxattr(path, follow_symlinks=False))
        if kind == stat.S_IFLNK:
            entry["target"] = os.readlink(path)
        elif kind == stat.S_IFREG:
            entry["size"] = st.st_size
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                digest = hashlib.sha256()
                while True:
                    block = os.read(fd, 1 << 20)
                    if not block:
                        break
                    digest.update(block)
                entry["sha256"] = digest.hexdigest()
                if options["holes"]:
                    entry["data"] = data_map(fd, st)
            finally:
                os.close(fd)
        elif kind in (stat.S_IFCHR, stat.S_IFBLK):
            entry["rdev"] = st.st_rdev
        if kind != stat.S_IFDIR and st.st_nlink > 1:
            entry["linked_to"] = first_name.setdefault((st.st_dev, st.st_ino), relative)
        entries[relative] = entry
        if kind == stat.S_IFDIR:
            for name in sorted(os.listdir(path)):
                visit(os.path.join(path, name), os.path.join(relative, name) if relative else name)

    visit(root, b"")
    return entries


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    if len(args) != 2 or not flags <= {"--no-xattrs", "--no-dir-times", "--no-holes"}:
        print(__doc__, file=sys.stderr)
        return 2
    options = {"xattrs": "--no-xattrs" not in flags, "no_dir_times": "--no-dir-times" in flags,
               "holes": "--no-holes" not in flags}
    a, b = (describe(os.fsencode(p), options) for p in args)
    differences = []
    for key in sorted(set(a) | set(b)):
        if key not in b:
            differences.append(f"only in {args[0]}: {key!r}")
        elif key not in a:
            differences.append(f"only in {args[1]}: {key!r}")
        elif a[key] != b[key]:
            fields = sorted(k for k in set(a[key]) | set(b[key]) if a[key].get(k) != b[key].get(k))
            for k in fields:
                differences.append(f"differs: {key!r} {k}: {a[key].get(k)!r} vs {b[key].get(k)!r}")
    for line in differences:
        print(line)
    print(f"{len(a)} entries compared, {len(differences)} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
