"""How well gw.diagnose flags the labelled zoo of tests/diagnose_zoo.py.

Accuracy: diagnose runs once on each case; a table shows each case's labels (the flags a
correct diagnosis must raise, each measured independently of gradwidgets) against the flags
raised, with the misses and false alarms, then precision and recall per flag and overall
(micro-averaged over (model, flag) pairs). The target is 0.95 for both
(tests/test_diagnose_zoo.py holds it).

    .venv/bin/python benchmarks/bench_diagnose.py                      # every case
    .venv/bin/python benchmarks/bench_diagnose.py --cases rnn_ 'hf_*'  # names containing rnn_, or hf_*

Sections run in order, each from :data:`SECTIONS`: ``accuracy`` only, for now.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import diagnose_zoo as zoo

TARGET = 0.95


def select(patterns: list[str] | None) -> list[zoo.Case]:
    """The cases whose name matches any pattern (a glob, or a plain substring); all without patterns."""
    if not patterns:
        return list(zoo.CASES)
    globs = [p if any(ch in p for ch in "*?[") else f"*{p}*" for p in patterns]
    chosen = [c for c in zoo.CASES if any(fnmatch.fnmatchcase(c.name, g) for g in globs)]
    if not chosen:
        raise SystemExit(f"--cases {' '.join(patterns)} matches no case; the cases: {', '.join(zoo.BY_NAME)}")
    return chosen


def accuracy(cases: list[zoo.Case]) -> dict:
    """Run diagnose on each case: {"rows": one dict per case, "scores": Tally per flag and overall}.

    A case on which diagnose raises counts as raising no flag; its error is in its row.
    """
    rows, raised = [], {}
    for case in cases:
        error = None
        try:
            flags = zoo.diagnose_flags(case)
        except Exception as err:
            flags, error = frozenset(), f"{type(err).__name__}: {err}"
        raised[case.name] = flags
        rows.append(
            {
                "case": case.name,
                "family": case.family,
                "labels": case.labels,
                "raised": flags,
                "missed": zoo.misses(case, flags),
                "false_alarms": zoo.false_alarms(case, flags),
                "unscored": case.unscored,
                "error": error,
            }
        )
    return {"rows": rows, "scores": zoo.score(raised)}


def _names(flags: frozenset[str]) -> str:
    return ",".join(f for f in zoo.FLAGS if f in flags) or "-"


def print_accuracy(result: dict) -> None:
    rows = result["rows"]
    width = max(len(r["case"]) for r in rows)
    print(f"{'case':{width}}  {'family':11}  {'labels':22}  {'raised':22}  result")
    for r in rows:
        marks = [f"MISS {_names(r['missed'])}"] if r["missed"] else []
        marks += [f"FALSE ALARM {_names(r['false_alarms'])}"] if r["false_alarms"] else []
        marks += [f"ERROR {r['error']}"] if r["error"] else []
        marks = marks or ["ok"]
        marks += [f"(unscored: {_names(r['unscored'])})"] if r["unscored"] else []
        print(
            f"{r['case']:{width}}  {r['family']:11}  {_names(r['labels']):22}  {_names(r['raised']):22}  "
            + " ".join(marks)
        )
    print()
    print(f"{'flag':11}  {'precision':>9}  {'recall':>6}  {'hits':>4}  {'false':>5}  {'missed':>6}")
    for flag, t in result["scores"].items():
        below = " <" if min(t.precision, t.recall) < TARGET else ""
        print(f"{flag:11}  {t.precision:9.2f}  {t.recall:6.2f}  {t.tp:4d}  {t.fp:5d}  {t.fn:6d}{below}")
    n = len(rows)
    wrong = sum(bool(r["missed"] or r["false_alarms"] or r["error"]) for r in rows)
    print(f"\n{n} cases, {wrong} with a miss or false alarm; target {TARGET} ('<': below it)")


def accuracy_section(cases: list[zoo.Case]) -> None:
    print("== accuracy ==")
    print_accuracy(accuracy(cases))


SECTIONS = {"accuracy": accuracy_section}
"""Each section: a function of the selected cases that prints its part of the report."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases",
        nargs="+",
        metavar="PATTERN",
        help="only the cases matching a glob or containing a substring",
    )
    args = parser.parse_args(argv)
    cases = select(args.cases)
    torch.set_num_threads(1)  # as the tests run; the zoo's models are small
    for section in SECTIONS.values():
        section(cases)


if __name__ == "__main__":
    main()
