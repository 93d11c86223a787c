#!/usr/bin/env python3
"""Where an executable's instructions go: runs it under callgrind with per-instruction
counts, disassembles it with objdump and prints the instructions executed by kind (spill
loads and stores, other loads and stores, moves, branches, compares, arithmetic) and the
functions that execute the most, each with its share of spill traffic. Run it on a kiln
executable and on the native build of the same source to see what the distance between
them is made of (benches/README.md, "Where the distance to native comes from").

    benches/costs/breakdown.py [--functions N] EXE [ARGS...]

Spill traffic is a `mov` to or from a stack slot (`(%rsp)`): register allocator spills and
reloads, and the callee-saved registers Cranelift saves with moves (native code pushes and
pops them: counted apart). x86-64 only. Needs valgrind and objdump.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

INSTRUCTION = re.compile(r"\s*([0-9a-f]+):\s*(\S+)\s*(.*)")


def self_costs(path):
    """Instructions executed per address, from a `callgrind --dump-instr=yes` file. Cost
    lines hold the address (absolute, `+n`/`-n` relative, or `*` the same), the line and
    the count; the line after a `calls=` line is the call's inclusive cost, not the
    caller's own, and is skipped."""
    costs = collections.Counter()
    address = 0
    skip = False
    with open(path) as lines:
        for line in lines:
            if line.startswith("calls="):
                skip = True
                continue
            if not line or line[0] not in "0123456789+-*":
                continue
            fields = line.split()
            position = fields[0]
            if position.startswith("+"):
                address += int(position[1:], 0)
            elif position.startswith("-"):
                address -= int(position[1:], 0)
            elif position != "*":
                address = int(position, 0)
            if skip:
                skip = False
                continue
            if len(fields) > 2:
                costs[address] += int(fields[2])
    return costs


def kind(opcode, operands):
    """The kind an instruction is counted under."""
    operands = operands.split("#")[0].strip()
    if opcode.startswith("mov") and "(%rsp)" in operands:
        return "spill store" if operands.endswith("(%rsp)") else "spill load"
    if opcode in ("push", "pop"):
        return "push/pop"
    if opcode.startswith(("mov", "vmov")) and "(" in operands:
        return "store" if operands.endswith(")") else "load"
    if opcode.startswith(("mov", "vmov", "cmov")):
        return "register move"
    if opcode.startswith("j") or opcode in ("call", "ret"):
        return "branch, call, return"
    if opcode.startswith(("cmp", "test")):
        return "compare"
    if opcode.startswith("lea"):
        return "lea"
    return "other"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", type=int, default=15)
    parser.add_argument("exe")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        output = os.path.join(scratch, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--dump-instr=yes",
             f"--callgrind-out-file={output}", options.exe, *options.args],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        costs = self_costs(output)
    disassembly = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", options.exe],
        check=True, capture_output=True, text=True,
    ).stdout

    kinds = collections.Counter()
    functions = collections.defaultdict(collections.Counter)
    function = None
    for line in disassembly.splitlines():
        if line.endswith(">:"):
            function = line.split("<", 1)[1][:-2]
            continue
        match = INSTRUCTION.match(line)
        if not match or function is None:
            continue
        count = costs.get(int(match.group(1), 16), 0)
        if count == 0:
            continue
        what = kind(match.group(2), match.group(3))
        kinds[what] += count
        functions[function]["all"] += count
        functions[function][what] += count

    total = sum(costs.values())
    in_binary = sum(kinds.values())
    print(f"{options.exe}: {total:,} instructions executed, "
          f"{in_binary:,} in the executable itself (the rest in shared libraries)")
    for what, count in kinds.most_common():
        print(f"  {what:22} {count:>15,} {100 * count / in_binary:5.1f}%")
    print(f"\nthe {options.functions} functions that execute the most:")
    ranked = sorted(functions.items(), key=lambda item: -item[1]["all"])
    for name, counts in ranked[: options.functions]:
        spills = counts["spill load"] + counts["spill store"]
        print(f"  {counts['all']:>15,}  spills {100 * spills / counts['all']:4.1f}%  "
              f"push/pop {counts['push/pop']:>12,}  {name[:60]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
