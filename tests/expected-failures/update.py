#!/usr/bin/env python3
"""Rewrites expected-failure lists from a verbose spec run.

    KILN_SPEC_VERBOSE=1 cargo test --release -p kiln-tests --test spec > run.log
    python3 tests/expected-failures/update.py run.log

For every suite the log has a `<suite>: N passed, M failed` line for, the suite's list
becomes exactly the failures printed under it (`  failed <case>: <message>`): a case
already listed keeps its reason, a new one gets `gc` when the compiler refused GC,
`<feature>: not yet supported` when it refused another feature, and its message
otherwise. Run it only on logs of whole suites (no FILTER argument): a filtered run
would drop the cases of every other script.
Review the diff: a new failure is a regression until shown otherwise.
"""

import re
import sys
from pathlib import Path

LISTS = Path(__file__).resolve().parent
SUITE_LINE = re.compile(r"^([\w-]+)(?: \(([^)]*)\))?: (\d+) passed, (\d+) failed$")
FAILED_LINE = re.compile(r"^  failed (\S+?:\d+): (.*)$")


def reason_for(message: str) -> str:
    if "unsupported: GC" in message:
        return "gc"
    match = re.search(r"unsupported: (.*?)(?:, at offset|$)", message)
    if match:
        return f"{match.group(1)}: not yet supported"
    return " ".join(message.split())[:160]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    runs = {}
    suite = None
    for line in Path(sys.argv[1]).read_text().splitlines():
        match = SUITE_LINE.match(line)
        if match:
            # Runs on other architectures or page sizes are labelled; they share the list.
            suite = match.group(1)
            runs[suite] = {}
            continue
        match = FAILED_LINE.match(line)
        if match and suite is not None:
            runs[suite][match.group(1)] = match.group(2)
    for suite, failures in runs.items():
        path = LISTS / f"{suite}.txt"
        header, listed = [], {}
        if path.exists():
            for raw in path.read_text().splitlines():
                if raw.startswith("#") or not raw.strip():
                    if not listed:
                        header.append(raw)
                    continue
                case, _, reason = raw.partition("#")
                listed[case.strip()] = reason.strip()
        if not header:
            header = [f"# Expected failures of the {suite} suite: `<script>:<line>  # reason`.",
                      "# A listed case that no longer fails makes the run fail: remove it then."]
        lines = list(header)
        for case in sorted(failures, key=lambda c: (c.rsplit(":", 1)[0], int(c.rsplit(":", 1)[1]))):
            reason = listed.get(case) or reason_for(failures[case])
            lines.append(f"{case}  # {reason}")
        path.write_text("\n".join(lines) + "\n")
        gone = len(set(listed) - set(failures))
        new = len(set(failures) - set(listed))
        print(f"{suite}: {len(failures)} listed ({new} new, {gone} removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
