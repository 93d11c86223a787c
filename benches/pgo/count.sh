#!/bin/sh
# What profile-guided optimization changes, counted by cachegrind instead of timed: for
# each workload (as run.sh), the instructions executed (`I refs`) and the first-level
# instruction-cache misses (`I1 misses`, cachegrind's simulated 32 KiB I1 of this machine)
# of the plain, `--profile-use`, `--inline` and `--profile-use --inline` builds, and their
# ratios to plain: measures that other processes on the machine do not disturb, unlike
# run.sh's times. Placement changes the misses, not the instructions; inlining both. The
# training run is the counting build's run, natively (not under valgrind). The whole
# process is counted (start-up included), so builds are made without
# `--target-features` beyond what valgrind emulates. Needs target/release/kiln and
# valgrind.
#
#   BENCHMARKS="bz2 regex own/c-qsort" benches/pgo/count.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kiln=${KILN:-$here/../../target/release/kiln}
corpus=${SIGHTGLASS:-$here/../../../shared/corpora/sightglass/benchmarks}
benchmarks=${BENCHMARKS:-"blake3-scalar bz2 quicksort richards regex pulldown-cmark rust-json shootout/shootout-keccak shootout/shootout-base64 shootout/shootout-minicsv shootout/shootout-random"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/../lib/workload.sh"
. "$here/variants.sh"
: > "$work/ratios"
for benchmark in $benchmarks; do
    workload "$benchmark"
    name=${benchmark##*/}
    pgo_builds "$name" "$@"
    line=$name
    for variant in $pgo_variants; do
        (cd "$dir" && valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file=/dev/null \
            "$work/$name-$variant" > "$work/$name-$variant.out" 2> "$work/$name-$variant.err" < /dev/null)
        cmp -s "$work/$name-plain.out" "$work/$name-$variant.out" || echo "$name: $variant output differs"
        refs=$(sed -n 's/.*I *refs: *//p' "$work/$name-$variant.err" | tr -d ,)
        misses=$(sed -n 's/.*I1 *misses: *//p' "$work/$name-$variant.err" | tr -d ,)
        line="$line $refs $misses"
    done
    echo "$line" | awk '{
        printf "%-22s instr %13.0f  I1 misses %9.0f | use %.4fx %.3fx | inline %.4fx %.3fx | use+inline %.4fx %.3fx\n",
        $1, $2, $3, $4 / $2, $5 / $3, $6 / $2, $7 / $3, $8 / $2, $9 / $3 }'
    echo "$line" >> "$work/ratios"
done
awk '{ for (i = 4; i <= 9; i++) s[i] += log($i / $(2 + (i % 2 == 1))) }
     END { printf "geomean over %d workloads: use instr %.4fx I1 %.3fx | inline %.4fx %.3fx | use+inline %.4fx %.3fx\n",
           NR, exp(s[4] / NR), exp(s[5] / NR), exp(s[6] / NR), exp(s[7] / NR), exp(s[8] / NR), exp(s[9] / NR) }' "$work/ratios"
