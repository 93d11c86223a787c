#!/bin/sh
# What leaving out unused functions (`CompileOptions::drop_unused_functions`, on by
# default; `--keep-unused-functions` turns it off) does to each module given (default:
# every .wasm of sightglass's benchmarks, the wasm3-wasi applications and Wasmtime's test
# programs): defined functions, how many are left out, bytes of `.text` and of the object
# with and without, the stripped static executable's size (`kiln build --strip`) with and
# without, and the compiler's CPU time (user + system, the least of RUNS runs, default 3)
# with and without. Prints one line per module and the totals. Needs target/release/kiln.
#
#   benches/dce/count.sh
#   RUNS=1 benches/dce/count.sh path/to/module.wasm ...
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kiln=${KILN:-$here/../../target/release/kiln}
corpora=${CORPORA:-$here/../../../shared/corpora}
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -eq 0 ]; then
    set -- $(find "$corpora/sightglass/benchmarks" "$corpora/wasm3-wasi" \
        "$corpora/wasmtime-test-programs" -name '*.wasm' | sort)
fi
# cpu_seconds ARGS...: the least user + system time of `runs` runs of kiln ARGS.
cpu_seconds() {
    best=
    i=0
    while [ $i -lt "$runs" ]; do
        /usr/bin/time -f '%U %S' -o "$work/time" "$kiln" "$@" > /dev/null 2>&1 || return 1
        t=$(awk '{ print $1 + $2 }' "$work/time")
        best=$(awk -v best="$best" -v t="$t" 'BEGIN { print (best == "" || t < best + 0) ? t : best }')
        i=$((i + 1))
    done
    echo "$best"
}
text_bytes() { size -A "$1" | awk '$1 == ".text" { print $2 }'; }
functions() { nm "$1" | awk '$2 == "t" && $3 !~ /^kiln_(entry|exit)_trampoline_/' | wc -l; }
printf '%-40s %6s %6s %10s %10s %10s %10s %8s %8s\n' module funcs left text-keep text \
    exe-keep exe cpu-keep cpu
: > "$work/totals"
for wasm in "$@"; do
    name=$(basename "$(dirname "$wasm")")/$(basename "$wasm" .wasm)
    keep=$(cpu_seconds compile --keep-unused-functions "$wasm" -o "$work/keep.o") || {
        echo "$name: does not compile"; continue; }
    drop=$(cpu_seconds compile "$wasm" -o "$work/drop.o")
    kept_functions=$(functions "$work/keep.o")
    left_out=$((kept_functions - $(functions "$work/drop.o")))
    exe_keep=-; exe=-
    if "$kiln" build --strip --keep-unused-functions "$wasm" -o "$work/keep.exe" > /dev/null 2>&1 &&
        "$kiln" build --strip "$wasm" -o "$work/drop.exe" > /dev/null 2>&1; then
        exe_keep=$(stat -c %s "$work/keep.exe"); exe=$(stat -c %s "$work/drop.exe")
    fi
    line="$name $kept_functions $left_out $(text_bytes "$work/keep.o") $(text_bytes "$work/drop.o") $exe_keep $exe $keep $drop"
    echo "$line" | awk '{ printf "%-40s %6d %6d %10d %10d %10s %10s %8.2f %8.2f\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
    echo "$line" >> "$work/totals"
done
awk '{ n++; f += $2; l += $3; tk += $4; t += $5; ck += $8; c += $9; if ($3 > 0) m++
       if ($6 != "-") { ek += $6; e += $7 } }
     END { printf "%d modules (%d with functions left out): %d of %d functions left out; .text %d -> %d bytes (%.2f%%); stripped executables %d -> %d bytes (%.2f%%); compile CPU %.2f -> %.2f s\n",
           n, m, l, f, tk, t, (t - tk) * 100 / tk, ek, e, (e - ek) * 100 / ek, ck, c }' "$work/totals"
