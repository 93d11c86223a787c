# Shared by the scripts that compare two kiln builds workload by workload
# (benches/inline/run.sh, benches/devirt/run.sh, benches/devirt/count.sh); sourced with
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
            dir=$work; wasm=$work/${1#own/}.wasm
            clang -O2 -ffp-contract=off --target=wasm32-wasi \
                "$here/../programs/c/${1#own/c-}.c" -o "$wasm" ;;
        own/rust-*)
            dir=$work; wasm=$work/${1#own/}.wasm
            cargo build -q --release --target wasm32-wasip1 --target-dir "$work/rust" \
                --manifest-path "$here/../programs/rust/Cargo.toml" --bin "${1#own/rust-}"
            cp "$work/rust/wasm32-wasip1/release/${1#own/rust-}.wasm" "$wasm" ;;
        *.wat) dir=$work; wasm=$here/$1 ;;
        */*) dir=$corpus/${1%/*}; wasm=$corpus/$1.wasm ;;
        *) dir=$corpus/$1; wasm=$dir/benchmark.wasm ;;
    esac
}
