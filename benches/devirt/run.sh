#!/bin/sh
# What devirtualized `call_indirect` (issue 18, `compiler/src/devirt.rs`) changes: builds
# each benchmark twice with kiln, with `--no-devirt` (checked: every `call_indirect` does
# the bounds, null and signature checks on the runtime's table) and by default
# (devirtualized), and runs the two executables alternately in the benchmark's folder,
# RUNS times each (default 5). For each benchmark it prints the median of the measured
# region (between `bench.start` and `bench.end`, from KILN_BENCH_TIMES) and of `kiln
# compile`'s wall time per variant, the ratios devirt / checked and the object sizes, then
# the geometric means of the ratios. The two outputs must be equal. Extra arguments go to
# `kiln build` and `kiln compile`. Needs target/release/kiln. Entries `own/c-NAME` and
# `own/rust-NAME` are kiln's own programs (`benches/programs/`), built here for WASI with
# clang and cargo as the harness builds them; `DIR/NAME` is `DIR/NAME.wasm` of sightglass
# run in `DIR`, `NAME` is `NAME/benchmark.wasm`, and `NAME.wat` is a module of this folder
# (`call_indirect.wat`: the micro-benchmark). Default: the micro-benchmark, then the
# sightglass workloads that make the most `call_indirect`s.
#
#   benches/devirt/run.sh --target-features native
#   BENCHMARKS="regex tinygo/tinygo-regex own/c-qsort" RUNS=9 benches/devirt/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kiln=${KILN:-$here/../../target/release/kiln}
corpus=${SIGHTGLASS:-$here/../../../shared/corpora/sightglass/benchmarks}
runs=${RUNS:-5}
benchmarks=${BENCHMARKS:-"call_indirect.wat regex tinygo/tinygo-regex tinygo/tinygo-json libsodium/libsodium-box_easy libsodium/libsodium-box rust-html-rewriter pulldown-cmark rust-json blind-sig rust-compression bz2 own/c-qsort"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/../lib/workload.sh"
median() { sort -n "$1" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
now() { date +%s%N; }
: > "$work/ratios"
for benchmark in $benchmarks; do
    workload "$benchmark"
    name=${benchmark##*/}
    "$kiln" build --dir .::. --no-devirt "$wasm" -o "$work/$name-checked" "$@"
    "$kiln" build --dir .::. "$wasm" -o "$work/$name-devirt" "$@"
    for i in $(seq "$runs"); do
        for variant in checked devirt; do
            flag=; [ $variant = checked ] && flag=--no-devirt
            start=$(now)
            "$kiln" compile $flag "$wasm" -o "$work/$name-$variant.o" "$@"
            echo $(( $(now) - start )) >> "$work/$name-$variant.compile"
            (cd "$dir" && KILN_BENCH_TIMES="$work/$name-$variant.times" \
                "$work/$name-$variant" > "$work/$name-$variant.out" 2>&1 < /dev/null)
        done
    done
    cmp -s "$work/$name-checked.out" "$work/$name-devirt.out" || echo "$name: devirtualized output differs"
    checked=$(median "$work/$name-checked.times")
    devirt=$(median "$work/$name-devirt.times")
    cchecked=$(median "$work/$name-checked.compile")
    cdevirt=$(median "$work/$name-devirt.compile")
    schecked=$(stat -c %s "$work/$name-checked.o")
    sdevirt=$(stat -c %s "$work/$name-devirt.o")
    echo "$name $checked $devirt $cchecked $cdevirt $schecked $sdevirt" | awk '{
        printf "%-26s run %9.3f ms  devirt %.3fx   compile %7.1f ms  devirt %.3fx   object %.3fx\n",
        $1, $2 / 1e6, $3 / $2, $4 / 1e6, $5 / $4, $7 / $6 }'
    echo "$checked $devirt $cchecked $cdevirt $schecked $sdevirt" >> "$work/ratios"
done
awk '{ r += log($2 / $1); c += log($4 / $3); s += log($6 / $5) }
     END { printf "geomean over %d benchmarks: run %.3fx, compile %.3fx, object %.3fx\n",
           NR, exp(r / NR), exp(c / NR), exp(s / NR) }' "$work/ratios"
