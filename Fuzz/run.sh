#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds and runs mmlab's libFuzzer target (Linux, the Swift toolchain's libFuzzer).
#
#   Fuzz/run.sh [RUNS] [libFuzzer flags…]      RUNS executions (default 1,000,000)
#   Fuzz/run.sh replay FILE…                   run inputs once (a crash, a corpus file)
#
# The work corpus is Fuzz/corpus/ (not in git), seeded from every examples/**/*.mms; new
# inputs go there, crashes to Fuzz/crashes/. The dictionary is the language's own words
# (mmlab-fuzz --print-dict). One input is bounded by MMFuzz.FuzzHarness.Bounds, and libFuzzer
# stops one that runs over -timeout seconds.
set -euo pipefail
cd "$(dirname "$0")"
if [ -d /opt/swift/usr/bin ]; then export PATH=/opt/swift/usr/bin:$PATH; fi

# -sanitize=fuzzer instruments every module for coverage and links libFuzzer; lld, because
# gold fails on the instrumented objects.
swift build -c release -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld
bin=.build/release/mmlab-fuzz

if [ "${1:-}" = replay ]; then
    shift
    exec "$bin" "$@"
fi

# libFuzzer, not Swift's backtracer, must catch a failed property's trap, to keep the input.
export SWIFT_BACKTRACE=enable=no

runs=${1:-1000000}
shift || true
mkdir -p corpus crashes seeds
find ../examples -name '*.mms' -exec cp {} seeds/ \;
"$bin" --print-dict > mms.dict
exec "$bin" -runs="$runs" -max_len=4096 -timeout=20 -rss_limit_mb=4096 -dict=mms.dict \
    -artifact_prefix=crashes/ -print_final_stats=1 "$@" corpus seeds
