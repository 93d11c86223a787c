#!/bin/sh
# What fuel metering and interruption checks cost: builds each sightglass benchmark
# (../shared/corpora/sightglass; default a mix of integer, memory and call-heavy ones)
# three times with kiln, plain, with `--fuel` (more than any run spends) and with
# `--timeout 1h`, and runs the three executables alternately in the benchmark's folder,
# RUNS times each (default 5). For each benchmark it prints the median of the measured
# region (between `bench.start` and `bench.end`, from KILN_BENCH_TIMES) per variant and
# the ratios to plain, then the geometric means of the ratios. Extra arguments go to
# `kiln build`. Needs target/release/kiln (`cargo build --release -p kiln`).
#
#   benches/limits/run.sh                          # the default list
#   BENCHMARKS="bz2 shootout/shootout-sieve" benches/limits/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kiln=${KILN:-$here/../../target/release/kiln}
corpus=${SIGHTGLASS:-$here/../../../shared/corpora/sightglass/benchmarks}
runs=${RUNS:-5}
benchmarks=${BENCHMARKS:-"blake3-scalar bz2 quicksort richards regex shootout/shootout-sieve shootout/shootout-fib2 shootout/shootout-matrix shootout/shootout-heapsort shootout/shootout-keccak shootout/shootout-base64 shootout/shootout-ed25519"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -n "$1" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
: > "$work/ratios"
for benchmark in $benchmarks; do
    case $benchmark in
        */*) dir=$corpus/${benchmark%/*}; wasm=$corpus/$benchmark.wasm ;;
        *) dir=$corpus/$benchmark; wasm=$dir/benchmark.wasm ;;
    esac
    name=$(echo "$benchmark" | tr / -)
    "$kiln" build --dir .::. "$wasm" -o "$work/$name-plain" "$@"
    "$kiln" build --dir .::. --fuel 9000000000000000000 "$wasm" -o "$work/$name-fuel" "$@"
    "$kiln" build --dir .::. --timeout 1h "$wasm" -o "$work/$name-timeout" "$@"
    for i in $(seq "$runs"); do
        for variant in plain fuel timeout; do
            (cd "$dir" && KILN_BENCH_TIMES="$work/$name-$variant.times" \
                "$work/$name-$variant" > "$work/$name-$variant.out" 2>&1 < /dev/null)
        done
    done
    cmp -s "$work/$name-plain.out" "$work/$name-fuel.out" || echo "$name: fuel output differs"
    cmp -s "$work/$name-plain.out" "$work/$name-timeout.out" || echo "$name: timeout output differs"
    plain=$(median "$work/$name-plain.times")
    fuel=$(median "$work/$name-fuel.times")
    timeout=$(median "$work/$name-timeout.times")
    echo "$name $plain $fuel $timeout" | awk '{ printf "%-28s plain %9.2f ms  fuel %.3fx  timeout %.3fx\n",
        $1, $2 / 1e6, $3 / $2, $4 / $2 }'
    echo "$plain $fuel $timeout" >> "$work/ratios"
done
awk '{ f += log($2 / $1); t += log($3 / $1) }
     END { printf "geomean over %d benchmarks: fuel %.3fx, timeout %.3fx\n", NR, exp(f / NR), exp(t / NR) }' \
    "$work/ratios"
