#!/usr/bin/env bash
# Trees for the benchmarks, cached under .bench-corpus/ ($BENCH_CORPUS), each
# set in a directory of its own so that it can be given as one SRC (the
# snapshots-in-one-parent layout) or as its subdirectories (one SRC each).
# Prints the set's subdirectories, one a line, in version order.
#   bash bench/corpus.sh [patch|major|system|small]
#     patch (default): Django 4.2.1 ... 4.2.10 from PyPI, ten patch releases
#                      (few files change, by a few lines: the backup of a quiet tree)
#     major:           Django 2.2, 3.0, 3.1, 3.2, 4.0, 4.1, 4.2, 5.0, 5.1, 5.2
#                      (thousands of files edited, moved and added per release)
#     system:          copies of /usr/share/doc, /usr/lib/python3.11 and
#                      /usr/share/locale (docs, a Python stdlib, translations)
#     tars:            the major releases as ten uncompressed .tar files in one
#                      directory (large files that change a little: what
#                      similarity deltas are for; prints that directory)
#     small:           100,000 generated text files of 200-600 bytes in 1,000
#                      directories (a mail spool: bound by system calls per file)
# A release unpacked by an earlier version of this script at
# .bench-corpus/Django-X is hard-linked into its set instead of fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${BENCH_CORPUS:-.bench-corpus}
SET=${1:-patch}
case "$SET" in
  patch) VERSIONS="4.2.1 4.2.2 4.2.3 4.2.4 4.2.5 4.2.6 4.2.7 4.2.8 4.2.9 4.2.10" ;;
  major) VERSIONS="2.2 3.0 3.1 3.2 4.0 4.1 4.2 5.0 5.1 5.2" ;;
  system)
    mkdir -p "$DEST/system"
    for src in /usr/share/doc /usr/lib/python3.11 /usr/share/locale; do
      [ -d "$DEST/system/$(basename "$src")" ] || cp -a "$src" "$DEST/system/"
      echo "$(cd "$DEST/system/$(basename "$src")" && pwd -P)"
    done
    exit 0 ;;
  tars)
    if [ ! -f "$DEST/tars/.complete" ]; then
      rm -rf "$DEST/tars" && mkdir -p "$DEST/tars/tree"
      for dir in $(bash "$0" major); do
        tar -cf "$DEST/tars/tree/$(basename "$dir").tar" -C "$(dirname "$dir")" "$(basename "$dir")"
      done
      touch "$DEST/tars/.complete"
    fi
    echo "$(cd "$DEST/tars/tree" && pwd -P)"
    exit 0 ;;
  small)
    if [ ! -f "$DEST/small/.complete" ]; then
      rm -rf "$DEST/small" && mkdir -p "$DEST/small/tree"
      python3 - "$DEST/small/tree" <<'PY'
import os, random, sys
root, rng = sys.argv[1], random.Random(14)
words = ("the of and to in is was for on that with as by at from this be have not are "
         "message reply meeting report draft budget schedule review attached please thanks "
         "tomorrow project release version update regards team question answer").split()
for d in range(1000):
    os.mkdir(f"{root}/m{d:04d}")
    for i in range(100):
        text = " ".join(rng.choice(words) for _ in range(120))
        with open(f"{root}/m{d:04d}/{d * 100 + i:06d}.eml", "w") as f:
            f.write(text[:rng.randint(200, 600)] + "\n")
PY
      touch "$DEST/small/.complete"
    fi
    echo "$(cd "$DEST/small/tree" && pwd -P)"
    exit 0 ;;
  *) echo "usage: bash bench/corpus.sh [patch|major|system|tars|small]" >&2; exit 2 ;;
esac
mkdir -p "$DEST/dl" "$DEST/$SET"
for v in $VERSIONS; do
  dir="$DEST/$SET/Django-$v"
  if [ ! -d "$dir" ]; then
    if [ -d "$DEST/Django-$v" ]; then
      cp -al "$DEST/Django-$v" "$dir"
    else
      ls "$DEST"/dl/[Dd]jango-$v.tar.gz >/dev/null 2>&1 ||
        python3 -m pip download -q --no-deps --no-binary :all: "django==$v" -d "$DEST/dl" >&2
      tar -xzf "$(ls "$DEST"/dl/[Dd]jango-$v.tar.gz)" -C "$DEST/$SET"
      [ -d "$dir" ] || mv "$DEST/$SET/django-$v" "$dir"
    fi
  fi
  echo "$(cd "$dir" && pwd -P)"
done
