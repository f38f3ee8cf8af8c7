#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Build and run the mmlab kernel probes.
#
#   sudo tools/probes/run.sh            # all cases, RUNS=5 repetitions each
#   sudo RUNS=3 tools/probes/run.sh 2 9 # selected cases
#
# Host changes made (and always restored by the EXIT trap):
#   - vm.page-cluster is set to 0 (old value restored);
#   - if no swap is active, a 256 MiB swap file is created under /var/tmp,
#     swapon'd for the swap phase, then swapoff'd and deleted.
# Output: bin/out/case-<id>.run<k>.txt, plus a repeatability summary on stdout.
set -u

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: these probes need root (PFNs in /proc/self/pagemap, /proc/kpageflags," >&2
	echo "        swapon/swapoff, vm.page-cluster). Please re-run as root, e.g. sudo $0" >&2
	exit 1
fi

DIR=$(cd "$(dirname "$0")" && pwd)
BIN=$DIR/bin
OUT=$BIN/out
RUNS=${RUNS:-5}
SWAPFILE=""
OLD_PC=""

cleanup() {
	local rc=$?
	if [ -n "$SWAPFILE" ]; then
		swapoff "$SWAPFILE" 2>/dev/null
		rm -f "$SWAPFILE"
		echo "# swap file $SWAPFILE removed"
	fi
	if [ -n "$OLD_PC" ]; then
		echo "$OLD_PC" >/proc/sys/vm/page-cluster
		echo "# vm.page-cluster restored to $OLD_PC"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- build ---------------------------------------------------------------
mkdir -p "$BIN" "$OUT"
for p in anon fork shmem; do
	gcc -O1 -Wall -Wextra -o "$BIN/probe_$p" "$DIR/probe_$p.c" || exit 1
done

# case id -> binary
bin_for() {
	case "$1" in
	1 | 2 | 3 | 4 | 14 | 15 | 16a | 18 | 19 | 20) echo probe_anon ;;
	5 | 6 | 21) echo probe_fork ;;
	7 | 8 | 9 | 9n | 10 | 11 | 12 | 13 | 16c | 17 | 22) echo probe_shmem ;;
	*) return 1 ;;
	esac
}
NOSWAP_CASES="3 9n"
SWAP_CASES="1 2 4 5 6 7 8 9 10 11 12 13 14 15 16a 16c 17 18 19 20 21 22"
if [ $# -gt 0 ]; then
	sel=" $* "
	NOSWAP_CASES=$(for c in $NOSWAP_CASES; do [[ $sel == *" $c "* ]] && echo -n "$c "; done)
	SWAP_CASES=$(for c in $SWAP_CASES; do [[ $sel == *" $c "* ]] && echo -n "$c "; done)
fi

run_case() {
	local c=$1 b
	b=$(bin_for "$c") || {
		echo "unknown case $c"
		return
	}
	for k in $(seq 1 "$RUNS"); do
		timeout 120 "$BIN/$b" "$c" >"$OUT/case-$c.run$k.txt" 2>&1
		echo "exit status $?" >>"$OUT/case-$c.run$k.txt"
	done
	cat "$OUT/case-$c.run1.txt"
	# compare runs with raw values ({...}) stripped
	local diffs=0
	for k in $(seq 2 "$RUNS"); do
		if ! diff -q <(sed 's/{[^}]*}//g' "$OUT/case-$c.run1.txt") \
			<(sed 's/{[^}]*}//g' "$OUT/case-$c.run$k.txt") >/dev/null; then
			diffs=$((diffs + 1))
			echo "## case $c: run $k differs from run 1:"
			diff <(sed 's/{[^}]*}//g' "$OUT/case-$c.run1.txt") \
				<(sed 's/{[^}]*}//g' "$OUT/case-$c.run$k.txt") | sed 's/^/##   /'
		fi
	done
	echo "## case $c: $RUNS runs, $diffs differing from run 1 (after stripping raw values)"
}

echo "# kernel: $(uname -r)  ($(uname -v))"
echo "# cpus: $(nproc); THP anon: $(cat /sys/kernel/mm/transparent_hugepage/enabled); shmem: $(cat /sys/kernel/mm/transparent_hugepage/shmem_enabled)"

OLD_PC=$(cat /proc/sys/vm/page-cluster)
echo 0 >/proc/sys/vm/page-cluster
echo "# vm.page-cluster: $OLD_PC -> 0"

PRE_SWAP=$(tail -n +2 /proc/swaps | wc -l)

# ---- phase A: no swap ----------------------------------------------------
if [ -n "$NOSWAP_CASES" ]; then
	if [ "$PRE_SWAP" -eq 0 ]; then
		echo "# phase A: no swap active"
		for c in $NOSWAP_CASES; do run_case "$c"; done
	else
		echo "# phase A skipped: swap was already active on this host (cases $NOSWAP_CASES need no swap)"
	fi
fi

# ---- phase B: swap active ------------------------------------------------
if [ -n "$SWAP_CASES" ]; then
	if [ "$PRE_SWAP" -eq 0 ]; then
		SWAPFILE=$(mktemp /var/tmp/mmlab-swap.XXXXXX) || exit 1
		dd if=/dev/zero of="$SWAPFILE" bs=1M count=256 status=none || exit 1
		chmod 600 "$SWAPFILE"
		mkswap "$SWAPFILE" >/dev/null || exit 1
		swapon "$SWAPFILE" || exit 1
		echo "# phase B: swap file $SWAPFILE active"
	else
		echo "# phase B: using the host's existing swap"
	fi
	sed 's/^/#   /' /proc/swaps
	for c in $SWAP_CASES; do run_case "$c"; done
fi
