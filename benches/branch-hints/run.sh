#!/bin/sh
# Measures what branch hints (`metadata.code.branch_hint`) buy: builds branch_hints.wat
# with kiln twice, as written and with its hint annotations removed, and runs the two
# executables alternately, RUNS times each (default 21). For each it reports the median
# and range of the measured region (between `bench.start` and `bench.end`, wall time, from
# KILN_BENCH_TIMES) and of the process's CPU time (`perf stat -e task-clock`, which a busy
# machine disturbs less than wall time), and the hinted / unhinted ratios of the medians.
# Extra arguments go to `kiln build` (e.g. `--target-features native`). Needs
# target/release/kiln (`cargo build --release -p kiln`) and perf.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kiln=${KILN:-$here/../../target/release/kiln}
runs=${RUNS:-21}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed '/@metadata.code.branch_hint/d' "$here/branch_hints.wat" > "$work/unhinted.wat"
"$kiln" build "$here/branch_hints.wat" -o "$work/hinted" "$@"
"$kiln" build "$work/unhinted.wat" -o "$work/unhinted" "$@"
for i in $(seq "$runs"); do
    for variant in hinted unhinted; do
        KILN_BENCH_TIMES="$work/$variant.times" perf stat -x, -e task-clock \
            -o "$work/$variant.perf" "$work/$variant" > "$work/$variant.out"
        # task-clock in ms, as nanoseconds like the region.
        awk -F, '/task-clock/ { printf "%d\n", $1 * 1e6 }' "$work/$variant.perf" \
            >> "$work/$variant.cpu"
    done
done
cmp "$work/hinted.out" "$work/unhinted.out"
summary() { # file label
    sort -n "$1" | awk -v name="$2" '
        { t[NR] = $1 }
        END { printf "%-20s median %8.2f ms  (min %.2f, max %.2f, %d runs)\n",
              name, t[int((NR + 1) / 2)] / 1e6, t[1] / 1e6, t[NR] / 1e6, NR }'
}
for measure in times cpu; do
    for variant in hinted unhinted; do
        summary "$work/$variant.$measure" "$variant $measure"
    done
done | tee "$work/summary"
awk '{ m[$2 "," $1] = $4 }
     END { printf "hinted / unhinted: region %.3f, cpu %.3f\n",
           m["times,hinted"] / m["times,unhinted"], m["cpu,hinted"] / m["cpu,unhinted"] }' \
    "$work/summary"
