"""The threat table of docs/security.md: run the red-team attacks in more modes and print markdown.

    .venv/bin/python -m tests.redteam.table                  # every attack, every mode (~1 h)
    .venv/bin/python -m tests.redteam.table --modes root,user-none --attacks git_show,net_tcp
    .venv/bin/python -m tests.redteam.table --details --json build/redteam.json

Run as root (the judge runs as root, and as an unprivileged user through setpriv). The modes:
as root with every mechanism, as root with ``isolation: [landlock, uid]`` and ``[uid]`` (what a
container gives: no namespaces; Landlock where its seccomp profile lets it through), and as a
normal user with ``[landlock, namespaces]``, ``[landlock]``, ``[namespaces]`` and ``none`` (no
isolation on purpose: grading refuses otherwise). An attack with an ``isolation`` of its own
(the fail-open configurations) is graded with it in every column. A cell is ✔ when every check
of the attack held (see
:mod:`tests.redteam.harness`), ✘ when one did not; ``--details`` lists why under the table.
Each mode has its own scratch clone, restored from a pristine copy after any attack that
changed it, so an attack never sees another's damage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tests.redteam.harness import MODES, HarnessError, Outcome, Pool, load_attacks, skip_reason

TABLE_MODES = ("root", "root-landlock-uid", "root-uid", "user-landlock-namespaces",
               "user-landlock", "user-namespaces", "user-none")
HEADERS = {"root": "root", "root-landlock-uid": "root, uid + Landlock", "root-uid": "root, uid only",
           "user": "user", "user-landlock-namespaces": "user, Landlock + ns",
           "user-landlock": "user, Landlock", "user-namespaces": "user, ns",
           "user-none": "user, none"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.redteam.table",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default=",".join(TABLE_MODES),
                        help=f"comma-separated (default: {','.join(TABLE_MODES)}; known: "
                             f"{','.join(MODES)})")
    parser.add_argument("--attacks", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--details", action="store_true", help="list why each ✘ failed")
    parser.add_argument("--json", type=Path, default=None, help="also write every outcome here")
    parser.add_argument("--worktree", action="store_true",
                        help="grade the working tree, uncommitted changes included")
    args = parser.parse_args(argv)
    reason = skip_reason()
    if reason:
        print(f"table: cannot run: {reason}", file=sys.stderr)
        return 2
    if args.worktree:
        os.environ["DLGRADE_REDTEAM_WORKTREE"] = "1"
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    attacks = load_attacks()
    if args.attacks:
        wanted = [a.strip() for a in args.attacks.split(",") if a.strip()]
        unknown += [a for a in wanted if a not in {x.name for x in attacks}]
        attacks = [a for a in attacks if a.name in wanted]
    if unknown:
        print(f"table: unknown: {', '.join(unknown)}", file=sys.stderr)
        return 2
    outcomes: dict[tuple[str, str], Outcome | str] = {}
    notices: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for mode in modes:
        pool = Pool(MODES[mode], attacks)
        try:
            for attack in attacks:
                try:
                    outcome = pool.outcome(attack)
                except HarnessError as err:
                    outcome = f"harness error: {err}"
                outcomes[attack.name, mode] = outcome
                mark = "?" if isinstance(outcome, str) else ("held" if outcome.held else "FAILED")
                print(f"[{mode}] {attack.name}: {mark}", file=sys.stderr, flush=True)
            notices[mode] = pool.notices()
        finally:
            pool.close()
        seconds[mode] = pool.seconds
    print(markdown(attacks, modes, outcomes))
    print()
    for mode in modes:
        print(f"- {HEADERS.get(mode, mode)} ({seconds[mode]:.0f} s): "
              f"{notices.get(mode, '').strip() or '(no notice)'}")
    if args.details:
        print()
        for (name, mode), outcome in outcomes.items():
            if isinstance(outcome, str) or not outcome.held:
                text = outcome if isinstance(outcome, str) else "; ".join(outcome.failures)
                print(f"- **{name}**, {HEADERS.get(mode, mode)}: {text[:600]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(
            [{"attack": name, "mode": mode, "held": not isinstance(o, str) and o.held,
              "failures": [o] if isinstance(o, str) else o.failures,
              "notes": [] if isinstance(o, str) else o.notes,
              "seconds": None if isinstance(o, str) else round(o.seconds, 1)}
             for (name, mode), o in outcomes.items()], indent=2))
    return 0


def markdown(attacks, modes, outcomes) -> str:
    head = ["threat", "defence", *(HEADERS.get(m, m) for m in modes)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    group = None
    for attack in attacks:
        if attack.group != group:
            group = attack.group
            lines.append(f"| **{group}** |" + " |" * (len(head) - 1))
        cells = []
        for mode in modes:
            o = outcomes.get((attack.name, mode))
            cells.append("?" if o is None or isinstance(o, str) else ("✔" if o.held else "✘"))
        threat = attack.threat.replace("|", "\\|")
        lines.append(f"| {threat} (`{attack.name}`) | {attack.defence.replace('|', '/')} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
