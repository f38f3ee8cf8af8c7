#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs the model's benchmark suite (package-benchmark, release build) and the live kernel on
# the same workloads (kernel/kernel_bench.c), both pinned to one CPU, and prints a table of
# model/kernel ratios. See docs/performance.md.
#
# Usage: Benchmarks/run.sh [--cpu N] [--kernel-repeats N] [--skip-model] [--skip-kernel]
#   --cpu N              CPU to pin both to (default 1; the machine has 2)
#   --kernel-repeats N   passes of the kernel program (default 5; the model suite takes 10
#                        samples per benchmark, after one warm-up)
#   --skip-model         reuse the last model results (.benchmarkBaselines/…/mmlab-latest)
#   --skip-kernel        reuse the last kernel results (.build/bench/kernel.txt)
# Environment: SWIFT (default: swift), CC (default: cc).
set -euo pipefail

cpu=1
repeats=5
model=1
kernel=1
while [ $# -gt 0 ]; do
    case "$1" in
        --cpu) cpu="$2"; shift 2 ;;
        --kernel-repeats) repeats="$2"; shift 2 ;;
        --skip-model) model=0; shift ;;
        --skip-kernel) kernel=0; shift ;;
        -h|--help) sed -n '3,15p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")"
SWIFT="${SWIFT:-swift}"
CC="${CC:-cc}"
out=.build/bench
mkdir -p "$out"

echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm), $(nproc) CPUs; pinned to CPU $cpu"
echo "== load before: $(uptime)"

if [ "$model" = 1 ]; then
    echo "== building the model suite (release)"
    "$SWIFT" build -c release --product MMLabBenchmarks
    echo "== running the model suite (package-benchmark), pinned to CPU $cpu"
    # `baseline update` runs every benchmark, prints its table and stores the results, which
    # `baseline read` then exports as JSON for the ratio table below.
    taskset -c "$cpu" "$SWIFT" package --allow-writing-to-package-directory benchmark \
        baseline update mmlab-latest --no-progress | tee "$out/model.txt"
fi
"$SWIFT" package benchmark baseline read mmlab-latest --format jmh --path stdout 2>/dev/null |
    grep '^\[{' >"$out/model.json"

if [ "$kernel" = 1 ]; then
    echo "== building and running kernel/kernel_bench.c, pinned to CPU $cpu"
    "$CC" -O2 -Wall -Wextra -o "$out/kernel_bench" kernel/kernel_bench.c
    taskset -c "$cpu" "$out/kernel_bench" "$repeats" | tee "$out/kernel.txt"
fi
echo "== load after: $(uptime)"

python3 - "$out/model.json" "$out/kernel.txt" <<'EOF'
import json, re, statistics, sys

model = {}
for element in json.load(open(sys.argv[1])):
    name = element["benchmark"].split(".", 3)[-1]
    model[name] = element["secondaryMetrics"]

def m(prefix, metric):
    """Model rate for the benchmark whose name starts with prefix: (median, min, max)."""
    for name, metrics in model.items():
        if name.startswith(prefix):
            p = metrics[metric]["scorePercentiles"]
            return p["50.0"], p["0.0"], p["100.0"]
    raise SystemExit(f"run.sh: no model result for {prefix}")

kernel = {}
for line in open(sys.argv[2]):
    f = line.split()
    if not f:
        continue
    kv = dict(x.split("=", 1) for x in f[1:])
    ops, faults, secs = int(kv["ops"]), int(kv["faults"]), float(kv["seconds"])
    kernel.setdefault(f[0], []).append((ops / secs, faults / secs))

def k(workload, which=0):
    rates = [r[which] for r in kernel[workload]]
    return statistics.median(rates), min(rates), max(rates)

rows = [
    ("anon write faults/s", m("anon_write", "faults/s"), k("anon_write")),
    ("anon read (zero page) faults/s", m("anon_read", "faults/s"), k("anon_read")),
    ("shmem read, fault-around: pages/s", m("shmem_read", "pages/s"), k("shmem_read")),
    ("shmem read, fault-around: faults/s", m("shmem_read", "faults/s"), k("shmem_read", 1)),
    ("pagemap words/s", m("pagemap_read", "pagemap words/s"), k("pagemap")),
]

def fmt(x):
    return f"{x / 1e6:8.2f}M"

print()
print(f"{'workload':36} {'model p50':>10} {'(min-max)':>21} {'kernel med':>11} {'(min-max)':>21} {'model/kernel':>12}")
for label, (mp50, mlo, mhi), (kmed, klo, khi) in rows:
    print(f"{label:36} {fmt(mp50):>10} {fmt(mlo) + '-' + fmt(mhi).strip():>21} {fmt(kmed):>11} "
          f"{fmt(klo) + '-' + fmt(khi).strip():>21} {mp50 / kmed:11.1f}x")
b = m("anon_write", "state bytes/populated page x100")
print(f"\nmodel state per populated page (Kernel.stateBytes / 1Mi pages): {b[0] / 100:.2f} bytes")
print("(model: package-benchmark samples; kernel: kernel_bench passes; ratios use the medians)")
EOF
