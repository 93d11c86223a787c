#!/bin/sh
# The instructions executed (cachegrind's `I refs`) by each benchmark built with
# `--no-devirt` (checked) and by default (devirtualized), and their ratio: a measure that
# other processes on the machine do not disturb, unlike run.sh's times (it does not see
# what devirtualization saves in load latency, only in instructions). Same workloads,
# arguments and environment as run.sh; the whole process is counted (start-up included),
# under valgrind, so builds are made without `--target-features` beyond what valgrind
# emulates (no AVX-512). Needs target/release/kiln and valgrind.
#
#   BENCHMARKS="call_indirect.wat tinygo/tinygo-regex own/c-qsort" benches/devirt/count.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kiln=${KILN:-$here/../../target/release/kiln}
corpus=${SIGHTGLASS:-$here/../../../shared/corpora/sightglass/benchmarks}
benchmarks=${BENCHMARKS:-"call_indirect.wat regex tinygo/tinygo-regex tinygo/tinygo-json libsodium/libsodium-box_easy libsodium/libsodium-box rust-html-rewriter pulldown-cmark rust-json blind-sig rust-compression bz2 own/c-qsort"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/../lib/workload.sh"
: > "$work/ratios"
for benchmark in $benchmarks; do
    workload "$benchmark"
    name=${benchmark##*/}
    "$kiln" build --dir .::. --no-devirt "$wasm" -o "$work/$name-checked" "$@"
    "$kiln" build --dir .::. "$wasm" -o "$work/$name-devirt" "$@"
    checked=$(count_instructions "$work/$name-checked" "$work/$name-checked.out")
    devirt=$(count_instructions "$work/$name-devirt" "$work/$name-devirt.out")
    cmp -s "$work/$name-checked.out" "$work/$name-devirt.out" || echo "$name: devirtualized output differs"
    echo "$name $checked $devirt" | awk '{
        printf "%-26s instructions %15.0f  devirt %.4fx\n", $1, $2, $3 / $2 }'
    echo "$checked $devirt" >> "$work/ratios"
done
awk '{ r += log($2 / $1) } END { printf "geomean over %d benchmarks: instructions %.4fx\n", NR, exp(r / NR) }' "$work/ratios"
