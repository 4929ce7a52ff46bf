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
import errno
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


def xattrs(path):
    """(name, value) pairs; none where the file system has no attributes at
    all (ENOTSUP: a mount of an archive that holds none answers so)."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as error:
        if error.errno == errno.ENOTSUP:
            return []
        raise
    return sorted((name, os.getxattr(path, name, follow_symlinks=False)) for name in names)


def describe(root, options):
    """Walks with directory descriptors (dir_fd), so paths longer than
    PATH_MAX are walked too; attributes are read through /proc/self/fd."""
    entries, first_name = {}, {}

    def visit(dir_fd, name, relative):
        st = os.lstat(name, dir_fd=dir_fd)
        kind = stat.S_IFMT(st.st_mode)
        entry = {"type": kind, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
        if not (kind == stat.S_IFDIR and options["no_dir_times"]):
            entry["mtime"] = st.st_mtime_ns
        if options["xattrs"]:
            entry["xattrs"] = xattrs(b"/proc/self/fd/%d/%s" % (dir_fd, name))
        if kind == stat.S_IFLNK:
            entry["target"] = os.readlink(name, dir_fd=dir_fd)
        elif kind == stat.S_IFREG:
            entry["size"] = st.st_size
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
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
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            try:
                for child in sorted(os.listdir(fd)):
                    child = os.fsencode(child)
                    visit(fd, child, relative + b"/" + child if relative else child)
            finally:
                os.close(fd)

    parent = os.open(os.path.dirname(os.path.abspath(root)) or b"/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        visit(parent, os.path.basename(os.path.abspath(root)), b"")
    finally:
        os.close(parent)
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
