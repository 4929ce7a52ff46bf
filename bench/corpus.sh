#!/usr/bin/env bash
# Fetches a real multi-version source tree for the benchmarks: ten successive
# Django 4.2.x source releases from PyPI, unpacked side by side. Prints the ten
# directories (in version order) on stdout. Cached under .bench-corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${BENCH_CORPUS:-.bench-corpus}
mkdir -p "$DEST/dl"
for v in 1 2 3 4 5 6 7 8 9 10; do
  dir="$DEST/Django-4.2.$v"
  if [ ! -d "$dir" ]; then
    ls "$DEST"/dl/[Dd]jango-4.2.$v.tar.gz >/dev/null 2>&1 ||
      python3 -m pip download -q --no-deps --no-binary :all: "django==4.2.$v" -d "$DEST/dl" >&2
    tar -xzf "$(ls "$DEST"/dl/[Dd]jango-4.2.$v.tar.gz)" -C "$DEST"
    [ -d "$dir" ] || mv "$DEST/django-4.2.$v" "$dir"
  fi
  echo "$(cd "$dir" && pwd)"
done
