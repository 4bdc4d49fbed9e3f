"""What restarts and split-merge moves buy on small fits: share of seeds inside the quality band,
and time, per n_init and split_merge setting.

For each cell (dataset, metric, K) this fits vorn `auto` with k-means++, ``n_init`` = R and
``split_merge`` = M for every R and M asked (M: ``off`` = 0, ``auto`` = None), over seeds
0 .. S-1, in this one process (warm: the times are in-process fit
times, not the suite's fresh-process ones). The objective is recomputed from the returned
centroids exactly as in the suite (``quality.evaluate``), and a seed counts as "in band" when
it is within the suite's 0.5% of the best objective of the cell in a results JSON (default
``results/full.json``: the best row of the committed run, peers and vorn alike).

    python restarts.py                                   # digits l2 K=5,10,20, R = 1,2,4,6, moves off
    python restarts.py --cells digits:l2:5 --runs 1,6 --seeds 20
    python restarts.py --cells digits:l2:5,digits:l2:10,digits:l2:20,digits:l2:40 \
        --runs 1,2 --split-merge off,auto                # what split-merge moves buy

Prints a markdown table; nothing is written. The figures of ``n_init`` in vorn's docstring
come from the default run, those of ``split_merge`` from the last command.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import datasets as ds  # noqa: E402
import quality  # noqa: E402
import report  # noqa: E402
import seeds as seeder  # noqa: E402


def best_objective(results: dict, dataset: str, metric: str, k: int):
    """The best objective of the cell in a results JSON and whether higher is better."""
    for c in results["cells"]:
        if c["dataset"] == dataset and c["metric"] == metric and int(c["k"]) == k:
            a = report.analyse_cell(c)
            return a["best_objective"], a["higher_is_better"]
    raise SystemExit(f"no cell {dataset}:{metric}:{k} in the results JSON")


SPLIT_MERGE = {"off": 0, "auto": None}


def sweep(x: np.ndarray, metric: str, k: int, runs: int, seeds: int, threads: int,
          split_merge: str = "off") -> tuple:
    """Objectives (recomputed) and in-process fit times of `seeds` fits with n_init = runs."""
    import vorn

    cents, times = [], []
    for s in range(seeds):
        km = vorn.KMeans(k, metric=metric, init="k-means++", n_init=runs, random_state=s,
                         n_threads=threads, split_merge=SPLIT_MERGE[split_merge])
        t = time.perf_counter()
        km.fit(x)
        times.append(time.perf_counter() - t)
        cents.append(km.cluster_centers_)
    # Scored after the timed fits: the BLAS threads of the scoring keep spinning for a while
    # after each product and would take the cores from the next fit (2x its time on 2 cores).
    objs = [quality.evaluate(x, c, metric)["objective"] for c in cents]
    return objs, times


def run(cells: list, runs: list, seeds: int, threads: int, results: dict, cache_dir: Path,
        split_merge: tuple = ("off",)) -> list:
    """One entry per (cell, n_init, split_merge): the cell's best objective, the recomputed
    objective and the fit time of every seed."""
    out = []
    for dname, metric, k in cells:
        ds.ensure_cached(dname, cache_dir, log=lambda *_: None)
        x, _ = ds.load_cached(dname, cache_dir)
        x = np.ascontiguousarray(x, dtype=np.float32)
        best, higher = best_objective(results, dname, metric, k)
        for r in runs:
            for sm in split_merge:
                objs, times = sweep(x, metric, k, r, seeds, threads, sm)
                inside = sum(report.admitted(best, o, higher) for o in objs)
                out.append({"dataset": dname, "metric": metric, "k": k, "n_init": r,
                            "split_merge": sm, "best": best, "higher_is_better": higher,
                            "objectives": objs, "times_s": times,
                            "in_band": inside / len(objs)})
    return out


def render(rows: list, seeds: int, threads: int, results_name: str) -> str:
    L = [f"Seeds 0-{seeds - 1}, {threads} thread(s), vorn `auto` with k-means++; band: "
         f"{report.TOL * 100:g}% of the best objective in `{results_name}`.", "",
         "| cell | best | n_init | split_merge | in band | seed 0 | mean | median fit |",
         "|---|---:|---:|---|---:|---:|---:|---:|"]
    for e in rows:
        L.append(f"| {e['dataset']} {e['metric']} K={e['k']} | {report.fmt_q(e['best'])} | "
                 f"{e['n_init']} | {e.get('split_merge', 'off')} | {100 * e['in_band']:.0f}% | {report.fmt_q(e['objectives'][0])} | "
                 f"{report.fmt_q(float(np.mean(e['objectives'])))} | "
                 f"{np.median(e['times_s']) * 1e3:.2f} ms |")
    return "\n".join(L)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", default="digits:l2:5,digits:l2:10,digits:l2:20",
                    help="comma list of DATASET:METRIC:K")
    ap.add_argument("--runs", default="1,2,4,6", help="comma list of n_init values")
    ap.add_argument("--split-merge", default="off",
                    help="comma list among off (split_merge=0), auto (split_merge=None)")
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--results", default=str(BENCH / "results" / "full.json"),
                    help="results JSON whose best row per cell sets the band")
    ap.add_argument("--cache-dir", default=str(ds.DEFAULT_CACHE))
    a = ap.parse_args(argv)
    cells = [(d, m, k) for d, m, k, _ in seeder.parse_cells(a.cells, [])]
    sms = tuple(a.split_merge.split(","))
    if any(m not in SPLIT_MERGE for m in sms):
        ap.error(f"--split-merge takes a comma list among {', '.join(SPLIT_MERGE)}")
    rows = run(cells, [int(r) for r in a.runs.split(",")], a.seeds, a.threads,
               json.loads(Path(a.results).read_text()), Path(a.cache_dir), sms)
    print(render(rows, a.seeds, a.threads, Path(a.results).name))


if __name__ == "__main__":
    main()
