#!/usr/bin/env bash
# Fetches a real multi-version source tree for the benchmarks from PyPI,
# unpacked side by side, and prints the ten directories (in version order).
# Cached under .bench-corpus/ ($BENCH_CORPUS).
#   bash bench/corpus.sh [patch|major]
#     patch (default): Django 4.2.1 ... 4.2.10, ten patch releases (few files
#                      change, by a few lines: the backup of a quiet tree)
#     major:           Django 2.2, 3.0, 3.1, 3.2, 4.0, 4.1, 4.2, 5.0, 5.1, 5.2
#                      (thousands of files edited, moved and added per release)
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${BENCH_CORPUS:-.bench-corpus}
case "${1:-patch}" in
  patch) VERSIONS="4.2.1 4.2.2 4.2.3 4.2.4 4.2.5 4.2.6 4.2.7 4.2.8 4.2.9 4.2.10" ;;
  major) VERSIONS="2.2 3.0 3.1 3.2 4.0 4.1 4.2 5.0 5.1 5.2" ;;
  *) echo "usage: bash bench/corpus.sh [patch|major]" >&2; exit 2 ;;
esac
mkdir -p "$DEST/dl"
for v in $VERSIONS; do
  dir="$DEST/Django-$v"
  if [ ! -d "$dir" ]; then
    ls "$DEST"/dl/[Dd]jango-$v.tar.gz >/dev/null 2>&1 ||
      python3 -m pip download -q --no-deps --no-binary :all: "django==$v" -d "$DEST/dl" >&2
    tar -xzf "$(ls "$DEST"/dl/[Dd]jango-$v.tar.gz)" -C "$DEST"
    [ -d "$dir" ] || mv "$DEST/django-$v" "$dir"
  fi
  echo "$(cd "$dir" && pwd -P)"
done
