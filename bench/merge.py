"""Replace cells (or rows of cells) of a results JSON with the same cells of a re-run.

    python merge.py results/full.json results/tmp/rerun.json --why "engine change X"
    python merge.py results/full.json results/tmp/rerun.json --rows clostera-auto --why "..."

For when part of a long run has to be measured again: a row disturbed by another process (its
`other-cpu` in the log), or cells whose vorn row changed after the run. The re-run must use the
same protocol (threads, cores, repetitions, timeout, iteration cap, seed) on the same CPU
model with the same number of logical CPUs; whole cells are
replaced by default, so every row of a replaced cell comes from the same run. The target JSON
records each merge under ``reruns`` (source file, its creation time, vorn source, cells, rows,
reason) and marks the replaced cells or rows with the merge's index; the report lists them.
The target's report is re-rendered.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

SAME = ("threads", "cores", "reps", "timeout_s", "max_iter", "seed")
# A re-run must come from the same kind of machine (a cloud VM can change CPU between sessions).
MACHINE = ("cpu_model", "logical_cpus")


def merge(target: dict, rerun: dict, rows: list | None, why: str) -> list:
    """Merges ``rerun`` into ``target`` in place; returns the (dataset, metric, k) replaced."""
    tp, rp = target.get("protocol", {}), rerun.get("protocol", {})
    diff = [k for k in SAME if tp.get(k) != rp.get(k)]
    if diff:
        raise SystemExit(f"protocols differ in {diff}: {[tp.get(k) for k in diff]} vs {[rp.get(k) for k in diff]}")
    tm, rm = target.get("machine", {}), rerun.get("machine", {})
    mdiff = [k for k in MACHINE if tm.get(k) != rm.get(k)]
    if mdiff:
        raise SystemExit(f"the re-run ran on another machine ({', '.join(f'{k}: {tm.get(k)!r} vs {rm.get(k)!r}' for k in mdiff)}): "
                         "its cells cannot be compared with the rest of the target; run the whole suite again")
    key = lambda c: (c["dataset"], c["metric"], c["k"])  # noqa: E731
    by_key = {key(c): i for i, c in enumerate(target["cells"])}
    idx = len(target.setdefault("reruns", []))
    done = []
    for c in rerun["cells"]:
        if key(c) not in by_key:
            raise SystemExit(f"cell {key(c)} is not in the target")
        tc = target["cells"][by_key[key(c)]]
        if rows is None:
            c = dict(c, rerun=idx)
            target["cells"][by_key[key(c)]] = c
        else:
            new = {r["row"]: r for r in c["rows"]}
            missing = [r for r in rows if r not in new]
            if missing:
                raise SystemExit(f"rows {missing} are not in the re-run's cell {key(c)}")
            tc["rows"] = [dict(new[r["row"]], rerun=idx) if r["row"] in rows else r for r in tc["rows"]]
        done.append(key(c))
    target["reruns"].append({"source": rerun.get("name"), "created": rerun.get("created"),
                             "git": rerun.get("git", {}).get("describe"), "cells": [list(k) for k in done],
                             "rows": rows or "all", "why": why})
    return done


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target")
    ap.add_argument("rerun")
    ap.add_argument("--rows", help="comma list: replace only these rows of each cell (default: whole cells)")
    ap.add_argument("--why", required=True, help="reason, recorded in the JSON and the report")
    a = ap.parse_args(argv)
    tpath = Path(a.target)
    target = json.loads(tpath.read_text())
    rerun = json.loads(Path(a.rerun).read_text())
    done = merge(target, rerun, a.rows.split(",") if a.rows else None, a.why)
    tpath.write_text(json.dumps(target, indent=1))
    print(f"merged {len(done)} cell(s) into {tpath}: {done}")
    report.write_all(target, tpath.parent, target.get("name") or tpath.stem, log=print)


if __name__ == "__main__":
    main()
