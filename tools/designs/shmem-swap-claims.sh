#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Seed 000's claimed costs, as ratios of the model's counts (docs/designs.md, "claims vs
# counts"). Generates the shapes of the threads' measurements, runs each under the four
# pagemap.shmem_swap designs with `mmlab run --json --stats`, and prints, per shape, the
# counted cost of the measured phase relative to 6.18 (`none`):
#   pagemap phase: PTE reads + page-cache lookups ("unit"), PTE reads + xarray nodes ("depth")
#   swap-in phase (marker RFC): every counted operation of the faults that read the pages back
# A phase's cost is the run with the phase minus the same run without it.
#
# Usage: tools/designs/shmem-swap-claims.sh [MMLAB] [PAGES]
#   MMLAB  the mmlab executable (default .build/release/mmlab; build with
#          `swift build -c release --product mmlab`)
#   PAGES  pages of the pagemap region (default 4194304 = 16 GiB, as the cover letter; the
#          swap-in shape always uses 262144 = 1 GiB, as the RFC)
set -euo pipefail
cd "$(dirname "$0")/../.."
mmlab="${1:-.build/release/mmlab}"
pages="${2:-4194304}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# $1 file, $2 mapping kind (shared|private), $3 dirty (0|50|100), $4 with the pagemap read (1|0)
pagemap_shape() {
    local f=$1 kind=$2 dirty=$3 read=$4 last=$((pages - 1))
    {
        echo "swap $(( (pages * 4 / 1024) + 16 ))M"
        if [ "$kind" = shared ]; then echo "memfd F ${pages}p"; echo "mmap A F shared rw"
        else echo "mmap A anon private rw ${pages}p"; fi
        case $dirty in
            100) echo "write A[0..$last] = 0x1" ;;
            50) awk -v n="$pages" 'BEGIN { for (i = 0; i < n; i += 2) printf "write A[%d] = 0x1\n", i }' ;;
            0) ;;
        esac
        [ "$dirty" != 0 ] && echo "madvise A pageout"
        [ "$read" = 1 ] && echo "expect pagemap A[0..$last] present=0"
        true
    } >"$f"
}

# $1 file, $2 with the swap-in (1|0)
swapin_shape() {
    local f=$1 read=$2 n=262144
    { echo "swap 1100M"; echo "memfd F ${n}p"; echo "mmap A F shared rw"
      echo "write A[0..$((n - 1))] = seq(0x1)"; echo "madvise A pageout"
      [ "$read" = 1 ] && echo "read A[0..$((n - 1))]"; true; } >"$f"
}

costs() {   # $1 design, $2 file → "pte_reads page_cache_lookups xarray_nodes total marker_decodes"
    local run="$2.$1.mms"
    { echo "design pagemap.shmem_swap = $1"; cat "$2"; } >"$run"
    "$mmlab" run --json --stats "$run" | tail -1 | python3 -c '
import json, sys
c = json.load(sys.stdin)["costs"]
print(c["pte_reads"], c["page_cache_lookups"], c["xarray_nodes"], sum(v for v in c.values()), c["marker_decodes"])'
}

phase() {   # $1 design, $2 file with the phase, $3 file without → "reads lookups nodes total"
    local a b
    a=$(costs "$1" "$2")
    b=$(costs "$1" "$3")
    echo "$a $b" | awk '{ print $1-$6, $2-$7, $3-$8, $4-$9, $5-$10 }'
}

echo "pagemap of $pages pages; ratios against none (unit: PTE reads + lookups; depth: PTE reads + xarray nodes)"
for shape in "shared 50" "shared 100" "shared 0" "private 50"; do
    set -- $shape
    pagemap_shape "$dir/with.mms" "$1" "$2" 1
    pagemap_shape "$dir/without.mms" "$1" "$2" 0
    read -r r0 l0 x0 _ < <(phase none "$dir/with.mms" "$dir/without.mms")
    line="$1 $2% dirty:"
    for d in pagecache exact marker; do
        read -r r l x _ < <(phase "$d" "$dir/with.mms" "$dir/without.mms")
        line="$line  $d $(awk -v a=$((r + l)) -v b=$((r0 + l0)) 'BEGIN { printf "%.2f", a / b }')x/$(awk -v a=$((r + x)) -v b=$((r0 + x0)) 'BEGIN { printf "%.2f", a / b }')x"
    done
    echo "$line   (none: $r0 PTE reads, $l0 lookups)"
done

swapin_shape "$dir/with.mms" 1
swapin_shape "$dir/without.mms" 0
# The swap-in phase under 6.18, and what the marker design adds to it: one marker decode per
# fault. (Subtracting the two marker runs directly would also subtract the zap, at exit, of
# the markers the run without swap-in still holds.)
read -r _ _ _ t0 _ < <(phase none "$dir/with.mms" "$dir/without.mms")
read -r _ _ _ _ decodes < <(costs marker "$dir/with.mms")
echo "1 GiB sequential shmem swap-in: none $t0 counted operations, marker $((t0 + decodes)) ($decodes marker decodes, $(awk -v a="$decodes" -v b="$t0" 'BEGIN { printf "%+.2f%%", a / b * 100 }'))"
