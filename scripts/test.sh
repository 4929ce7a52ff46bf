#!/usr/bin/env bash
# The test suite (what CI runs): builds everything, runs the XCTest suites, and
# ends with one plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests || exit 1
log=$(mktemp)
swift test --disable-swift-testing 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E "^\s*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -1)
rm -f "$log"
total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")
if [ -z "$summary" ]; then echo "no XCTest summary found"; exit 1; fi
echo "$((total - failed)) passed, $failed failed"
exit "$status"
