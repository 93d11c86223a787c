#!/bin/sh
# Two kiln builds against each other (KILN_A, KILN_B: paths of `kiln` binaries, e.g. main
# and a branch): builds each workload as a static x86_64 musl executable with both, runs
# the two executables alternately in the workload's folder, RUNS times each (default 7),
# and prints per workload the median of the measured region (KILN_BENCH_TIMES) of A, the
# ratio B / A and the executables' size ratio, then the geometric means. Outputs are
# compared (hashset prints its own timing, so it always "differs"). Entries `own/...` are
# kiln's own programs, built as `inline/run.sh` builds them.
#
#   KILN_A=/tmp/main/kiln KILN_B=target/release/kiln benches/kilns/time.sh
#   BENCHMARKS="quicksort shootout/shootout-fib2" RUNS=21 KILN_A=... KILN_B=... benches/kilns/time.sh
#
# FEATURES, when set, is passed to both as `--target-features` (e.g. FEATURES=native, as
# the harness builds).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=${SIGHTGLASS:-$here/../../../shared/corpora/sightglass/benchmarks}
runs=${RUNS:-7}
benchmarks=${BENCHMARKS:-"blake3-scalar bz2 quicksort richards regex pulldown-cmark rust-json hashset shootout/shootout-sieve shootout/shootout-fib2 shootout/shootout-ackermann shootout/shootout-matrix shootout/shootout-heapsort shootout/shootout-keccak shootout/shootout-base64 shootout/shootout-ed25519 shootout/shootout-minicsv shootout/shootout-random tinygo/tinygo-regex own/c-qsort own/c-matmul own/rust-sort own/rust-hashloop own/c-crc32"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/../lib/workload.sh"
median() { sort -n "$1" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
: > "$work/ratios"
for benchmark in $benchmarks; do
    workload "$benchmark"
    name=${benchmark##*/}
    "$KILN_A" build --target x86_64-unknown-linux-musl ${FEATURES:+--target-features "$FEATURES"} \
        --dir .::. "$wasm" -o "$work/$name-a"
    "$KILN_B" build --target x86_64-unknown-linux-musl ${FEATURES:+--target-features "$FEATURES"} \
        --dir .::. "$wasm" -o "$work/$name-b"
    for i in $(seq "$runs"); do
        for v in a b; do
            (cd "$dir" && KILN_BENCH_TIMES="$work/$name-$v.times" "$work/$name-$v" \
                > "$work/$name-$v.out" 2>&1 < /dev/null)
        done
    done
    cmp -s "$work/$name-a.out" "$work/$name-b.out" || echo "$name: output differs"
    a=$(median "$work/$name-a.times"); b=$(median "$work/$name-b.times")
    sa=$(stat -c %s "$work/$name-a"); sb=$(stat -c %s "$work/$name-b")
    echo "$name $a $b $sa $sb" | awk '{ printf "%-22s a %9.3f ms  b/a %.3fx  exe %.3fx\n", $1, $2/1e6, $3/$2, $5/$4 }'
    echo "$a $b $sa $sb" >> "$work/ratios"
done
awk '{ r += log($2 / $1); s += log($4 / $3) } END { printf "geomean over %d: run b/a %.4fx, executable %.4fx\n", NR, exp(r / NR), exp(s / NR) }' "$work/ratios"
