#!/bin/sh
# What profile-guided optimization (`--profile-generate` / `--profile-use`, issue 18's PGO
# lever) changes: for each workload (as benches/inline/run.sh: sightglass benchmarks from
# ../shared/corpora/sightglass, and kiln's own programs as `own/c-NAME`, `own/rust-NAME`),
# builds a counting executable with `--profile-generate`, runs it once in the workload's
# folder (the training run: the workload's own input, so this is the best case of a
# training input that matches the measured one), then builds four executables: plain,
# `--profile-use` (placement alone), `--inline` (inlining without a profile) and
# `--profile-use --inline` (placement and profile-guided inlining). It runs the four
# alternately, RUNS times each (default 5), and prints for each workload the median of the
# measured region (between `bench.start` and `bench.end`, from KILN_BENCH_TIMES) and the
# ratios to plain (and of profile-guided inlining to plain inlining), then the geometric
# means. All outputs must equal the plain one's. Extra arguments go to every `kiln build`
# (the harness gives kiln `--target-features native`). Needs target/release/kiln.
#
#   benches/pgo/run.sh --target-features native
#   BENCHMARKS="bz2 shootout/shootout-fib2 own/c-qsort" RUNS=9 benches/pgo/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kiln=${KILN:-$here/../../target/release/kiln}
corpus=${SIGHTGLASS:-$here/../../../shared/corpora/sightglass/benchmarks}
runs=${RUNS:-5}
benchmarks=${BENCHMARKS:-"blake3-scalar bz2 quicksort richards regex pulldown-cmark rust-json hashset shootout/shootout-sieve shootout/shootout-fib2 shootout/shootout-ackermann shootout/shootout-matrix shootout/shootout-heapsort shootout/shootout-keccak shootout/shootout-base64 shootout/shootout-ed25519 shootout/shootout-minicsv shootout/shootout-random"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/../lib/workload.sh"
. "$here/variants.sh"
median() { sort -n "$1" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
: > "$work/ratios"
for benchmark in $benchmarks; do
    workload "$benchmark"
    name=${benchmark##*/}
    pgo_builds "$name" "$@"
    for i in $(seq "$runs"); do
        for variant in $pgo_variants; do
            (cd "$dir" && KILN_BENCH_TIMES="$work/$name-$variant.times" \
                "$work/$name-$variant" > "$work/$name-$variant.out" 2>&1 < /dev/null)
        done
    done
    for variant in generate $pgo_variants; do
        cmp -s "$work/$name-plain.out" "$work/$name-$variant.out" ||
            echo "$name: $variant output differs"
    done
    line=$name
    for variant in $pgo_variants; do line="$line $(median "$work/$name-$variant.times")"; done
    echo "$line" | awk '{
        printf "%-26s run %9.3f ms  use %.3fx  inline %.3fx  use+inline %.3fx (%.3fx of inline)\n",
        $1, $2 / 1e6, $3 / $2, $4 / $2, $5 / $2, $5 / $4 }'
    echo "$line" >> "$work/ratios"
done
awk '{ u += log($3 / $2); i += log($4 / $2); ui += log($5 / $2); g += log($5 / $4) }
     END { printf "geomean over %d workloads: use %.3fx, inline %.3fx, use+inline %.3fx (%.3fx of inline)\n",
           NR, exp(u / NR), exp(i / NR), exp(ui / NR), exp(g / NR) }' "$work/ratios"
