# Shared by benches/pgo/run.sh and benches/pgo/count.sh; sourced with `kiln`, `work`, and
# `wasm` and `dir` (benches/lib/workload.sh's `workload`) set.
#
# pgo_builds NAME [ARGS...] builds `wasm` counting function entries, runs it once in `dir`
# (the training run; its output to $work/NAME-generate.out) and builds the variants of
# `pgo_variants` from that profile as $work/NAME-VARIANT, ARGS going to every `kiln build`.
pgo_variants="plain use inline use-inline"
pgo_builds() {
    pgo_name=$1
    shift
    pgo_profile=$work/$pgo_name.kilnprof
    "$kiln" build --dir .::. --profile-generate="$pgo_profile" "$wasm" -o "$work/$pgo_name-generate" "$@"
    (cd "$dir" && "$work/$pgo_name-generate" > "$work/$pgo_name-generate.out" 2>&1 < /dev/null)
    for pgo_variant in $pgo_variants; do
        case $pgo_variant in
            plain) pgo_flags= ;;
            use) pgo_flags="--profile-use $pgo_profile" ;;
            inline) pgo_flags=--inline ;;
            use-inline) pgo_flags="--profile-use $pgo_profile --inline" ;;
        esac
        # shellcheck disable=SC2086 # the flags are words
        "$kiln" build --dir .::. $pgo_flags "$wasm" -o "$work/$pgo_name-$pgo_variant" "$@"
    done
}
