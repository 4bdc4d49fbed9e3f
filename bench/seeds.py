"""Quality over seeds: is a cell's quality loss one unlucky draw or a systematic gap?

Every row of the suite fits with seed 0 (once, n_init = 1, except that the `auto` rows choose
their runs: vorn's two where 2^22 <= n·d·k <= 2^27, Clostera's restarts on small data), so a
cell's objective is one draw
from each library's distribution over seeds, and a loss of 1% can be the luck of that draw.
For chosen cells (default: the cells of a results JSON where vorn `auto` is outside the 0.5%
quality band) this fits each row again with seeds 0 .. S-1 and reports, per row, the mean,
median, min and max of the objective, vorn `auto`'s rank by mean and its gap to the best
mean with one standard error, and where seed 0 falls in vorn `auto`'s own distribution. The report (``report.py``) cites it in "where vorn `auto`
falls short" when ``<name>-seeds.json`` sits beside ``<name>.json``.

Quality only: nothing here is timed. The rows run in this process one after another with the
suite's thread count and iteration cap; the objective is recomputed from the returned
centroids exactly as in the suite (``quality.evaluate``).

    python seeds.py --results results/full.json --seeds 20        # -> results/full-seeds.{json,md}
    python seeds.py --cells digits:l2:5 --rows vorn-auto,faiss-full --seeds 5 --out /tmp/s --name t
    python seeds.py --render results/full-seeds.json                # markdown only
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import datasets as ds  # noqa: E402
import quality  # noqa: E402
import report  # noqa: E402
import run as harness  # noqa: E402
from rows import ROWS_BY_NAME  # noqa: E402


CONTENDER_TOL = 0.05


def cells_from_results(results: dict, tol: float = report.TOL) -> list:
    """(dataset, metric, k, rows) for every cell where vorn `auto` is outside the quality band;
    rows = vorn `auto` first, then every other row that ran to completion in that cell within
    ``CONTENDER_TOL`` of the best objective (a row 25% off the best, like Clostera's `fastest`,
    says nothing about seeds and can cost minutes per seed)."""
    out = []
    for c in results["cells"]:
        a = report.analyse_cell(c, tol)
        if "vorn_auto_admitted" not in a or a["vorn_auto_admitted"]:
            continue
        higher = a["higher_is_better"]
        rows = [report.VORN_AUTO] + [
            r["row"] for r in c["rows"]
            if r.get("status") == "ok" and r["row"] != report.VORN_AUTO and report._obj(r) is not None
            and report.admitted(a["best_objective"], report._obj(r), higher, CONTENDER_TOL)]
        out.append((c["dataset"], c["metric"], int(c["k"]), rows))
    return out


def parse_cells(spec: str, rows: list) -> list:
    out = []
    for item in spec.split(","):
        try:
            d, m, k = item.split(":")
            out.append((d, m, int(k), rows))
        except ValueError:
            raise SystemExit(f"--cells: {item!r} is not DATASET:METRIC:K") from None
    return out


def summarise(objs: list, higher: bool) -> dict:
    v = np.asarray([o for o in objs if o is not None], dtype=np.float64)
    if v.size == 0:
        return {"n": 0}
    return {"n": int(v.size), "mean": float(v.mean()), "median": float(np.median(v)),
            "min": float(v.min()), "max": float(v.max()), "std": float(v.std()),
            # standard error of the mean (sample standard deviation / sqrt(n))
            "sem": float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0,
            "best": float(v.max() if higher else v.min())}


def seed0_rank(objs: list, higher: bool):
    """1-based rank of seed 0's objective among the row's seeds (1 = its best draw)."""
    if not objs or objs[0] is None:
        return None
    v = [o for o in objs if o is not None]
    return 1 + sum((o > objs[0]) if higher else (o < objs[0]) for o in v)


def analyse(cell: dict) -> dict:
    """vorn `auto`'s standing in one seeds cell: rank by mean, gap to the best mean, seed 0's rank."""
    higher = cell["higher_is_better"]
    stats = {r: s for r, s in cell["stats"].items() if s.get("n")}
    if not stats:
        return {}
    order = sorted(stats, key=lambda r: stats[r]["mean"], reverse=higher)
    best = order[0]
    res = {"best_mean_row": best, "best_mean": stats[best]["mean"], "rows_ranked": len(order),
           "seed0_ranks": {r: seed0_rank(cell["objectives"][r], higher) for r in order}}
    va = stats.get(report.VORN_AUTO)
    if va is not None:
        gap = (va["mean"] - stats[best]["mean"]) / abs(stats[best]["mean"])
        # One standard error of the difference of the two means, relative to the best mean.
        se = float(np.hypot(va.get("sem", 0.0), stats[best].get("sem", 0.0))) / abs(stats[best]["mean"])
        res.update(vorn_auto_mean=va["mean"], vorn_auto_rank=order.index(report.VORN_AUTO) + 1,
                   vorn_auto_mean_gap=-gap if higher else gap, vorn_auto_mean_gap_se=se,
                   vorn_auto_seed0_rank=seed0_rank(cell["objectives"][report.VORN_AUTO], higher))
    return res


def run_cells(cells: list, seeds: int, threads: int, max_iter, cache_dir: Path, log=print) -> list:
    out = []
    for dname, metric, k, rows in cells:
        ds.ensure_cached(dname, cache_dir, log=log)
        x, _ = ds.load_cached(dname, cache_dir)
        x = np.ascontiguousarray(x, dtype=np.float32)
        cell = {"dataset": dname, "metric": metric, "k": k, "n": int(x.shape[0]), "d": int(x.shape[1]),
                "objectives": {}, "errors": {}}
        for name in rows:
            row = ROWS_BY_NAME[name]
            objs, errs, t0 = [], [], time.perf_counter()
            if not row.available():
                cell["errors"][name] = ["unavailable"]
                continue
            for s in range(seeds):
                cfg = SimpleNamespace(threads=threads, seed=s, max_iter=max_iter)
                try:
                    c, _, _ = row.run(x, k, metric, cfg)
                    q = quality.evaluate(x, c, metric)
                    objs.append(q["objective"])
                    cell["higher_is_better"] = q["higher_is_better"]
                    cell["objective_name"] = q["objective_name"]
                except Exception as e:  # noqa: BLE001 - a failing seed is recorded, not fatal
                    objs.append(None)
                    errs.append(f"seed {s}: {e!r}")
            cell["objectives"][name] = objs
            if errs:
                cell["errors"][name] = errs
            log(f"[seeds] {dname} {metric} K={k} {name}: {seeds} seeds in {time.perf_counter() - t0:.1f} s")
        higher = cell.get("higher_is_better", metric == "cosine")
        cell["higher_is_better"] = higher
        cell["stats"] = {r: summarise(o, higher) for r, o in cell["objectives"].items()}
        cell["analysis"] = analyse(cell)
        out.append(cell)
    return out


def render(res: dict) -> str:
    s = res["seeds"]
    L = [f"# Quality over seeds 0–{s - 1}" + (f" (cells of `{res['for']}.json`)" if res.get("for") else ""),
         "",
         f"Generated {res['generated']} by `bench/seeds.py`. Each row fits once per seed as in the suite (n_init = 1; the `auto` rows choose their runs), "
         f"{res['threads']} thread(s), iteration cap {res['max_iter']}; the objective is recomputed from "
         "the returned centroids as in the suite. Nothing here is timed. "
         f"vorn source: `{(res.get('source') or {}).get('describe')}`.",
         ""]
    for c in res["cells"]:
        higher = c["higher_is_better"]
        name = c.get("objective_name", "objective")
        arrow = "↑" if higher else "↓"
        L += [f"## {c['dataset']} {c['metric']} K={c['k']}", "",
              f"n = {c['n']}, d = {c['d']}; {name} {arrow}.", "",
              "| row | seed 0 | mean | median | best | worst | std |", "|---|---:|---:|---:|---:|---:|---:|"]
        ranked = sorted((r for r in c["stats"] if c["stats"][r].get("n")),
                        key=lambda r: c["stats"][r]["mean"], reverse=higher)
        for r in ranked:
            st, o = c["stats"][r], c["objectives"][r]
            worst = st["min"] if higher else st["max"]
            L.append(f"| {r} | {report.fmt_q(o[0]) if o and o[0] is not None else '–'} | "
                     f"{report.fmt_q(st['mean'])} | {report.fmt_q(st['median'])} | {report.fmt_q(st['best'])} | "
                     f"{report.fmt_q(worst)} | {st['std']:.3g} |")
        for r, e in c.get("errors", {}).items():
            L.append(f"| {r} | failed: {'; '.join(e)[:200]} | | | | | |")
        L += ["", standing_text(c), ""]
    return "\n".join(L)


def standing_text(c: dict) -> str:
    a = c.get("analysis") or {}
    if "vorn_auto_rank" not in a:
        return "vorn `auto` was not run in this cell."
    s = len(c["objectives"][report.VORN_AUTO])
    where = (f"its mean is the best of the {a['rows_ranked']} rows" if a["vorn_auto_rank"] == 1 else
             f"its mean ranks {a['vorn_auto_rank']} of {a['rows_ranked']}, "
             f"{a['vorn_auto_mean_gap'] * 100:.2f}% ± {a.get('vorn_auto_mean_gap_se', 0) * 100:.2f}% "
             f"(one standard error) worse than {a['best_mean_row']}'s")
    return (f"vorn `auto`: {where}; seed 0 is its draw number {a['vorn_auto_seed0_rank']} of {s} "
            "from the best.")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", help="results JSON: take the cells where vorn auto is outside the band")
    ap.add_argument("--cells", help="comma list of DATASET:METRIC:K (instead of --results)")
    ap.add_argument("--rows", help="comma list of rows for --cells (default: vorn-auto)")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None, help="default: the results' thread count, else 2")
    ap.add_argument("--max-iter", type=int, default=harness.DEFAULT_MAX_ITER)
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--name", help="default: <results stem>-seeds, or 'seeds'")
    ap.add_argument("--cache-dir", default=str(ds.DEFAULT_CACHE))
    ap.add_argument("--render", metavar="JSON", help="only re-render the markdown of a seeds JSON")
    a = ap.parse_args(argv)
    if a.render:
        p = Path(a.render)
        p.with_suffix(".md").write_text(render(json.loads(p.read_text())))
        print(f"[seeds] {p.with_suffix('.md')}")
        return None
    if a.seeds < 1:
        raise SystemExit("--seeds must be at least 1")
    results, stem = None, None
    if a.results:
        results = json.loads(Path(a.results).read_text())
        stem = Path(a.results).stem
    if a.cells:
        rows = (a.rows or report.VORN_AUTO).split(",")
        unknown = [r for r in rows if r not in ROWS_BY_NAME]
        if unknown:
            raise SystemExit(f"unknown rows {unknown}; known: {', '.join(ROWS_BY_NAME)}")
        cells = parse_cells(a.cells, rows)
    elif results is not None:
        cells = cells_from_results(results)
    else:
        raise SystemExit("give --results or --cells")
    threads = a.threads or ((results or {}).get("machine", {}).get("threads_used")) or 2
    for k in harness.THREAD_ENV:
        os.environ[k] = str(threads)
    res = {"schema": 1, "for": stem if not a.cells else None, "seeds": a.seeds, "threads": threads,
           "max_iter": a.max_iter,
           "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "machine": harness.machine_info(threads, []), "source": harness.git_info(),
           "cells": run_cells(cells, a.seeds, threads, a.max_iter, Path(a.cache_dir))}
    name = a.name or (f"{stem}-seeds" if stem and not a.cells else "seeds")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(res, indent=1))
    (out / f"{name}.md").write_text(render(res))
    print(f"[seeds] {out / (name + '.json')} + .md")
    return res


if __name__ == "__main__":
    main()
