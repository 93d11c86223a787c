#!/bin/sh
# Instructions executed by the executables of two kiln builds (KILN_A, KILN_B), per
# workload (cachegrind's `I refs`, `lib/workload.sh`'s count_instructions), the ratio
# B / A and their geometric mean. Deterministic, so it runs beside other work.
#
#   KILN_A=/tmp/main/kiln KILN_B=target/release/kiln benches/kilns/count.sh
#
# FEATURES, when set, is passed to both as `--target-features` (valgrind runs no
# AVX-512 code, so not `native` on a machine that has it; e.g. FEATURES=avx,avx2,fma).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=${SIGHTGLASS:-$here/../../../shared/corpora/sightglass/benchmarks}
benchmarks=${BENCHMARKS:-"blake3-scalar bz2 quicksort richards regex pulldown-cmark rust-json hashset shootout/shootout-sieve shootout/shootout-matrix shootout/shootout-heapsort shootout/shootout-keccak shootout/shootout-minicsv tinygo/tinygo-regex own/c-crc32 own/c-qsort own/c-matmul own/rust-sort own/rust-hashloop"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/../lib/workload.sh"
: > "$work/ratios"
for benchmark in $benchmarks; do
    workload "$benchmark"
    name=${benchmark##*/}
    "$KILN_A" build ${FEATURES:+--target-features "$FEATURES"} --dir .::. "$wasm" -o "$work/$name-a"
    "$KILN_B" build ${FEATURES:+--target-features "$FEATURES"} --dir .::. "$wasm" -o "$work/$name-b"
    a=$(count_instructions "$work/$name-a" "$work/$name-a.out")
    b=$(count_instructions "$work/$name-b" "$work/$name-b.out")
    cmp -s "$work/$name-a.out" "$work/$name-b.out" || echo "$name: output differs"
    echo "$name $a $b" | awk '{ printf "%-22s a %15.0f  b/a %.4fx\n", $1, $2, $3 / $2 }'
    echo "$a $b" >> "$work/ratios"
done
awk '{ r += log($2 / $1) } END { printf "geomean over %d: b/a %.4fx\n", NR, exp(r / NR) }' "$work/ratios"
