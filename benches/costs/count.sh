#!/bin/sh
# What a build option costs in instructions executed (cachegrind's `I refs`, the whole
# process): builds each benchmark twice with kiln, by default and with the options in
# VARIANT (default `--bounds-checks`: explicit bounds checks instead of guard pages, the
# cost of Wasm's memory semantics where no reservation is possible), runs both under
# valgrind in the benchmark's folder, checks that the outputs are equal and prints the
# ratio variant / default per benchmark and their geometric mean. Instruction counts do
# not move with the machine's load, unlike times (and do not see what a change costs in
# latency or branch prediction). Workloads as benches/lib/workload.sh; extra arguments go to
# both builds. Needs target/release/kiln and valgrind.
#
#   benches/costs/count.sh
#   VARIANT=--fuel-metering BENCHMARKS="bz2 own/c-qsort" benches/costs/count.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kiln=${KILN:-$here/../../target/release/kiln}
corpus=${SIGHTGLASS:-$here/../../../shared/corpora/sightglass/benchmarks}
variant=${VARIANT:---bounds-checks}
benchmarks=${BENCHMARKS:-"blake3-scalar bz2 quicksort richards regex pulldown-cmark rust-json hashset shootout/shootout-sieve shootout/shootout-matrix shootout/shootout-heapsort shootout/shootout-keccak shootout/shootout-minicsv tinygo/tinygo-regex own/c-crc32 own/c-qsort own/c-matmul own/rust-sort own/rust-hashloop"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/../lib/workload.sh"
: > "$work/ratios"
for benchmark in $benchmarks; do
    workload "$benchmark"
    name=${benchmark##*/}
    "$kiln" build --dir .::. "$wasm" -o "$work/$name-default" "$@"
    # shellcheck disable=SC2086 # VARIANT is a list of options
    "$kiln" build --dir .::. $variant "$wasm" -o "$work/$name-variant" "$@"
    default=$(count_instructions "$work/$name-default" "$work/$name-default.out")
    changed=$(count_instructions "$work/$name-variant" "$work/$name-variant.out")
    cmp -s "$work/$name-default.out" "$work/$name-variant.out" || echo "$name: output differs with $variant"
    echo "$name $default $changed" | awk -v variant="$variant" '{
        printf "%-22s instructions %15.0f  %s %.4fx\n", $1, $2, variant, $3 / $2 }'
    echo "$default $changed" >> "$work/ratios"
done
awk -v variant="$variant" '{ r += log($2 / $1) }
     END { printf "geomean over %d benchmarks: %s instructions %.4fx\n", NR, variant, exp(r / NR) }' "$work/ratios"
