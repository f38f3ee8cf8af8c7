#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs the populated-guest scenario (issue 14: `mmap A anon private rw SIZE`, `write A = seq(1)`,
# a pagemap read of all of it, `exit`) on the model's release build and prints its wall time
# and peak resident memory (GNU time's %e and %M). The aim is 1 TiB in under a minute and
# 5 GiB; see docs/performance.md for what it measures today.
#
# Usage: Benchmarks/guest/run.sh [SIZE ...]   (default: 1G 16G 64G 1T; sizes as in .mms: 64G, 1T)
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFT="${SWIFT:-swift}"
"$SWIFT" build -c release --product mmlab >/dev/null
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1G 16G 64G 1T)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
for size in "${sizes[@]}"; do
    sed "s/ 1T\$/ $size/" Benchmarks/guest/guest-1t.mms >"$tmp/guest.mms"
    /usr/bin/time -f "$size: %e s, %M KB peak RSS" .build/release/mmlab run "$tmp/guest.mms" | tail -1
done
