# Shared by the scripts that compare two kiln builds workload by workload
# (benches/inline/run.sh, benches/devirt/run.sh, benches/devirt/count.sh,
# benches/pgo/run.sh, benches/pgo/count.sh); sourced with
# `here` (the calling script's folder), `work` (a scratch folder) and `corpus` (sightglass's
# benchmarks) set.
#
# workload BENCHMARK sets `wasm` (the module) and `dir` (where it runs): `own/c-NAME` and
# `own/rust-NAME` are kiln's own programs (benches/programs/), built here for WASI with
# clang and cargo as the harness builds them; `NAME.wat` is a module of the calling
# script's folder; `DIR/NAME` is sightglass's `DIR/NAME.wasm`, run in `DIR`; `NAME` is
# sightglass's `NAME/benchmark.wasm`.
workload() {
    case $1 in
        own/c-*)
            # The flags and extra files of benches/harness/src/programs.rs (C_FLAGS,
            # C_WASM_FLAGS, C_PROGRAMS).
            dir=$work; wasm=$work/${1#own/}.wasm
            set -- "$1" "$here/../programs/c/${1#own/c-}.c"
            [ "$1" = own/c-qsort ] && set -- "$@" "$here/../programs/c/merge_sort.c"
            shift
            clang -O2 -ffp-contract=off -msimd128 --target=wasm32-wasi "$@" -o "$wasm" ;;
        own/rust-*)
            dir=$work; wasm=$work/${1#own/}.wasm
            CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128" \
                cargo build -q --release --target wasm32-wasip1 --target-dir "$work/rust" \
                --manifest-path "$here/../programs/rust/Cargo.toml" --bin "${1#own/rust-}"
            cp "$work/rust/wasm32-wasip1/release/${1#own/rust-}.wasm" "$wasm" ;;
        *.wat) dir=$work; wasm=$here/$1 ;;
        */*) dir=$corpus/${1%/*}; wasm=$corpus/$1.wasm ;;
        *) dir=$corpus/$1; wasm=$dir/benchmark.wasm ;;
    esac
}

# count_instructions EXE OUT runs EXE under cachegrind in `dir` (set by `workload`), its
# standard output to OUT and cachegrind's report to OUT.err, and prints the instructions
# executed (cachegrind's `I refs`).
count_instructions() {
    (cd "$dir" && valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$1" > "$2" 2> "$2.err" < /dev/null)
    sed -n 's/.*I *refs: *//p' "$2.err" | tr -d ,
}
