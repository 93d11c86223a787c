"""Runs a WASI preview1 program under wasmtime, the reference runtime, as
cli/tests/other_languages.rs runs it under kiln, to make or check the `.stdout` files
beside the Go and Zig programs:

    python3 -m pip install wasmtime
    python3 tests/programs/wasmtime_run.py x.wasm SCRATCH 7 'two words' über '' > hello.stdout

SCRATCH (an empty directory) is preopened as /sandbox; the environment is
KILN_A=1 KILN_B=two; the exit code is the program's.
"""

import sys

import wasmtime


def main() -> int:
    wasm, scratch, *args = sys.argv[1:]
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    config = wasmtime.WasiConfig()
    config.argv = ["hello", *args]
    config.env = [("KILN_A", "1"), ("KILN_B", "two")]
    config.preopen_dir(scratch, "/sandbox")
    config.inherit_stdin()
    config.inherit_stdout()
    config.inherit_stderr()
    store = wasmtime.Store(engine)
    store.set_wasi(config)
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, wasm))
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as exit_trap:
        return exit_trap.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
