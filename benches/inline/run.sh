#!/bin/sh
# What inlining across the module (`--inline`, issue 18's first lever) changes: builds each
# sightglass benchmark (../shared/corpora/sightglass; default a mix of call-heavy, integer
# and memory-bound ones) twice with kiln, plain and with `--inline`, and runs the two
# executables alternately in the benchmark's folder, RUNS times each (default 5). For each
# benchmark it prints the median of the measured region (between `bench.start` and
# `bench.end`, from KILN_BENCH_TIMES) and of `kiln compile`'s wall time per variant, the
# ratios inline / plain and the object sizes, then the geometric means of the ratios. The
# two outputs must be equal. Extra arguments go to `kiln build` and `kiln compile` (the
# harness gives kiln `--target-features native`). Needs target/release/kiln. Entries
# `own/c-NAME` and `own/rust-NAME` are kiln's own programs (`benches/programs/`), built
# here for WASI with clang and cargo as the harness builds them.
#
#   benches/inline/run.sh --target-features native
#   BENCHMARKS="bz2 shootout/shootout-fib2 own/c-qsort own/rust-sort" RUNS=9 benches/inline/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kiln=${KILN:-$here/../../target/release/kiln}
corpus=${SIGHTGLASS:-$here/../../../shared/corpora/sightglass/benchmarks}
runs=${RUNS:-5}
benchmarks=${BENCHMARKS:-"blake3-scalar bz2 quicksort richards regex pulldown-cmark rust-json hashset shootout/shootout-sieve shootout/shootout-fib2 shootout/shootout-ackermann shootout/shootout-matrix shootout/shootout-heapsort shootout/shootout-keccak shootout/shootout-base64 shootout/shootout-ed25519 shootout/shootout-minicsv shootout/shootout-random"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/../lib/workload.sh"
median() { sort -n "$1" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
now() { date +%s%N; }
: > "$work/ratios"
for benchmark in $benchmarks; do
    workload "$benchmark"
    name=${benchmark##*/}
    "$kiln" build --dir .::. "$wasm" -o "$work/$name-plain" "$@"
    "$kiln" build --dir .::. --inline "$wasm" -o "$work/$name-inline" "$@"
    for i in $(seq "$runs"); do
        for variant in plain inline; do
            flag=; [ $variant = inline ] && flag=--inline
            start=$(now)
            "$kiln" compile $flag "$wasm" -o "$work/$name-$variant.o" "$@"
            echo $(( $(now) - start )) >> "$work/$name-$variant.compile"
            (cd "$dir" && KILN_BENCH_TIMES="$work/$name-$variant.times" \
                "$work/$name-$variant" > "$work/$name-$variant.out" 2>&1 < /dev/null)
        done
    done
    cmp -s "$work/$name-plain.out" "$work/$name-inline.out" || echo "$name: inline output differs"
    plain=$(median "$work/$name-plain.times")
    inline=$(median "$work/$name-inline.times")
    cplain=$(median "$work/$name-plain.compile")
    cinline=$(median "$work/$name-inline.compile")
    splain=$(stat -c %s "$work/$name-plain.o")
    sinline=$(stat -c %s "$work/$name-inline.o")
    echo "$name $plain $inline $cplain $cinline $splain $sinline" | awk '{
        printf "%-26s run %9.3f ms  inline %.3fx   compile %7.1f ms  inline %.3fx   object %.3fx\n",
        $1, $2 / 1e6, $3 / $2, $4 / 1e6, $5 / $4, $7 / $6 }'
    echo "$plain $inline $cplain $cinline $splain $sinline" >> "$work/ratios"
done
awk '{ r += log($2 / $1); c += log($4 / $3); s += log($6 / $5) }
     END { printf "geomean over %d benchmarks: run %.3fx, compile %.3fx, object %.3fx\n",
           NR, exp(r / NR), exp(c / NR), exp(s / NR) }' "$work/ratios"
