#!/bin/sh
# Cold start of a static kiln hello against a static C hello (issue 20: goal <= 1.3x),
# measured with alternating spawns (alternate.c), and both programs' peak RSS (GNU time).
# Usage: benches/coldstart/run.sh [ROUNDS] (default 3000), from the repository root, after
# `cargo build --release -p kiln`. Needs clang, musl-gcc (musl-tools) and /usr/bin/time.
set -eu
rounds=${1:-3000}
out=target/coldstart
mkdir -p "$out"
clang -O2 benches/coldstart/alternate.c -o "$out/alternate"
printf '#include <stdio.h>\nint main(void) { puts("hello from kiln"); return 0; }\n' > "$out/hello.c"
musl-gcc -static -O2 "$out/hello.c" -o "$out/c-hello"
strip "$out/c-hello"
target/release/kiln build --strip --target x86_64-unknown-linux-musl examples/hello.wat \
    -o "$out/kiln-hello"
ls -l "$out/kiln-hello" "$out/c-hello"
for program in kiln-hello c-hello; do
    /usr/bin/time -f "$program: peak RSS %M KiB" "$out/$program" > /dev/null
done
"$out/alternate" "$rounds" "$out/kiln-hello" "$out/c-hello"
