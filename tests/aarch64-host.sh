#!/usr/bin/env bash
# kiln on an aarch64 build machine, emulated: kiln itself is cross-built for
# aarch64-unknown-linux-gnu and run under qemu-aarch64, and from there builds executables
# for all four supported targets. Checks, for every target and every program:
# - the aarch64 kiln's object and executable are byte-for-byte the x86_64 kiln's (the
#   same module gives the same artifact whichever machine builds it);
# - the executable runs (x86_64 natively, aarch64 under qemu) with the same stdout,
#   stderr and exit status as the host build run natively: output, traps and backtraces;
#   aarch64 executables also with 64 KiB pages (`qemu-aarch64 -p 65536`: the page size
#   the program sees and mmap's alignment), as on kernels built with 64 KiB pages.
# `kiln targets` on the aarch64 host must report every target ready.
#
# On a real aarch64 machine `cc` is the native compiler; here CC=aarch64-linux-gnu-gcc
# stands in for it. The linkers the aarch64 kiln starts (x86_64-linux-gnu-gcc, ld.lld) are
# host programs: qemu-user passes their execve to the kernel.
#
# Needs: rustup target aarch64-unknown-linux-gnu (+ musl targets), gcc-aarch64-linux-gnu,
# qemu-user, lld, clang with wasi-libc (see .ci/run). Takes about 4 minutes from cold.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGETS=(
    x86_64-unknown-linux-gnu x86_64-unknown-linux-musl
    aarch64-unknown-linux-gnu aarch64-unknown-linux-musl
)
QEMU=(qemu-aarch64 -L /usr/aarch64-linux-gnu)

cargo build --quiet --release --locked -p kiln
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    cargo build --quiet --release --locked -p kiln --target aarch64-unknown-linux-gnu

host_kiln=(target/release/kiln)
# CC: the compiler for the aarch64 kiln's own architecture.
arm_kiln=(env CC=aarch64-linux-gnu-gcc "${QEMU[@]}" target/aarch64-unknown-linux-gnu/release/kiln)

work=target/aarch64-host
rm -rf "${work}"
mkdir -p "${work}"

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# `kiln targets` as the aarch64 host sees it.
"${arm_kiln[@]}" targets >"${work}/targets.txt"
for target in "${TARGETS[@]}"; do
    grep -q "^${target}\( (host)\)\?: ready$" "${work}/targets.txt" ||
        fail "kiln targets on aarch64 does not report ${target} ready: $(cat "${work}/targets.txt")"
done
grep -q "^aarch64-unknown-linux-gnu (host): ready$" "${work}/targets.txt" ||
    fail "kiln targets on aarch64 does not name aarch64-unknown-linux-gnu as the host"

# The programs: WAT from the repository, and a C program compiled to wasm32-wasi.
clang --target=wasm32-wasi -O2 tests/programs/c/compute.c -o "${work}/compute.wasm"
PROGRAMS=(
    examples/hello.wat "${work}/compute.wasm"
    tests/programs/wat/{divide_by_zero,out_of_bounds,stack_overflow}.wat
)

# Runs the executable $1 (under the runner $2..., if any), leaving stdout, stderr and the
# status in files named after it.
run_built() {
    local exe=$1
    shift
    local status=0
    "$@" "${exe}" >"${exe}.stdout" 2>"${exe}.stderr" </dev/null || status=$?
    echo "${status}" >"${exe}.status"
}

# Fails unless the run of $2 left what the run of $1 did.
same_run() {
    local reference=$1 run=$2 what=$3 stream
    for stream in stdout stderr status; do
        cmp -s "${reference}.${stream}" "${run}.${stream}" ||
            fail "${what}: ${stream} differs from the host build's:
$(diff "${reference}.${stream}" "${run}.${stream}" || true)"
    done
}

for program in "${PROGRAMS[@]}"; do
    name=$(basename "${program%.*}")
    reference="${work}/${name}.reference"
    "${host_kiln[@]}" build "${program}" -o "${reference}"
    run_built "${reference}"
    for target in "${TARGETS[@]}"; do
        from_x86="${work}/${name}.${target}.from-x86_64"
        from_arm="${work}/${name}.${target}.from-aarch64"
        "${host_kiln[@]}" compile --target "${target}" "${program}" -o "${from_x86}.o"
        "${arm_kiln[@]}" compile --target "${target}" "${program}" -o "${from_arm}.o"
        cmp -s "${from_x86}.o" "${from_arm}.o" ||
            fail "${name} for ${target}: the objects of the two hosts differ"
        "${host_kiln[@]}" build --target "${target}" "${program}" -o "${from_x86}"
        "${arm_kiln[@]}" build --target "${target}" "${program}" -o "${from_arm}"
        cmp -s "${from_x86}" "${from_arm}" ||
            fail "${name} for ${target}: the executables of the two hosts differ"
        pages=""
        case "${target}" in
        x86_64-*) run_built "${from_arm}" ;;
        aarch64-*)
            pages=", also with 64 KiB pages"
            run_built "${from_arm}" "${QEMU[@]}"
            ln -f "${from_arm}" "${from_arm}.64k"
            run_built "${from_arm}.64k" "${QEMU[@]}" -p 65536
            same_run "${reference}" "${from_arm}.64k" "${name} for ${target}, 64 KiB pages"
            ;;
        esac
        same_run "${reference}" "${from_arm}" "${name} for ${target} built on aarch64"
        echo "${name} for ${target}: built on aarch64, same bytes, same run${pages} (status $(cat "${from_arm}.status"))"
    done
done

if [ "${failures}" -ne 0 ]; then
    echo "kiln on an aarch64 host: ${failures} failures" >&2
    exit 1
fi
echo "kiln on an aarch64 host: ${#PROGRAMS[@]} programs x ${#TARGETS[@]} targets, all identical"
