"""Per-call latency of assigning a small batch to fitted centroids (online use: routing queries).

    python latency.py                          # default shapes and batches, threads = all allowed cores
    python latency.py --shapes 256x64,1024x384 --batches 1,10,100,1000 --calls 2000

For each k x d set of centroids (rows of a fixed normal matrix) and each batch of b query rows it
times, in this one process with the same threads, the median wall time of one call of:

* ``vorn.KMeans.predict`` (a fitted estimator; the model keeps its packed centroids);
* FAISS: ``IndexFlatL2(d)`` holding the centroids, ``search(q, 1)``;
* scikit-learn: ``KMeans.predict`` with the same centroids as ``cluster_centers_``.

Every call gets fresh query rows from a pool so no cache of results helps. Labels are compared
across the three (fraction of rows that differ, ties aside they must agree). Median and p90 of
``--calls`` calls after 50 warm-up calls. Writes results/latency.json and results/latency.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="256x64,1024x128,256x768", help="comma list of KxD")
    ap.add_argument("--batches", default="1,10,100,1000", help="comma list of rows per call")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--name", default="latency")
    ap.add_argument("--render", metavar="JSON", help="only re-render the markdown of a latency JSON")
    return ap.parse_args(argv)


ARGS = parse_args()
_ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count()))
THREADS = ARGS.threads or len(_ALLOWED)
import run as harness  # noqa: E402

# thread knobs before numpy / faiss load their runtimes
for _k in harness.THREAD_ENV:
    os.environ[_k] = str(THREADS)
os.environ["OMP_DYNAMIC"] = "FALSE"

import numpy as np  # noqa: E402

POOL_ROWS = 1 << 16
WARMUP = 50


def _time_calls(fn, queries, calls):
    """Median and p90 (seconds) of ``calls`` calls, each on the next slice of ``queries``."""
    n = len(queries)
    for i in range(WARMUP):
        fn(queries[i % n])
    ts = np.empty(calls)
    for i in range(calls):
        q = queries[i % n]
        t = time.perf_counter()
        fn(q)
        ts[i] = time.perf_counter() - t
    return float(np.median(ts)), float(np.percentile(ts, 90))


def implementations(c: np.ndarray):
    """name -> (predict(q) -> int labels), for the centroids ``c``; missing libraries skipped."""
    impls = {}
    import vorn

    km = vorn.KMeans(c.shape[0], init=c, n_init=1, max_iter=1, n_threads=THREADS)
    # Fit on the centroids themselves: one iteration keeps them (each is its own cluster).
    km.fit(c)
    assert np.array_equal(km.cluster_centers_, c), "vorn estimator does not hold the given centroids"
    impls["vorn KMeans.predict"] = km.predict
    try:
        import faiss

        faiss.omp_set_num_threads(THREADS)
        index = faiss.IndexFlatL2(c.shape[1])
        index.add(c)
        impls["faiss IndexFlatL2.search"] = lambda q: index.search(q, 1)[1].reshape(-1)
    except ImportError:
        pass
    try:
        from sklearn.cluster import KMeans as SK

        sk = SK(c.shape[0], init=c, n_init=1, max_iter=1).fit(c)
        sk.cluster_centers_ = c.copy()
        impls["sklearn KMeans.predict"] = sk.predict
    except ImportError:
        pass
    return impls


def main():
    if ARGS.render:
        p = Path(ARGS.render)
        p.with_suffix(".md").write_text(render(json.loads(p.read_text())))
        print(f"[latency] {p.with_suffix('.md')}")
        return
    rng = np.random.default_rng(0)
    shapes = [tuple(int(v) for v in s.split("x")) for s in ARGS.shapes.split(",")]
    batches = [int(b) for b in ARGS.batches.split(",")]
    rows = []
    for k, d in shapes:
        c = rng.standard_normal((k, d)).astype(np.float32)
        pool = rng.standard_normal((POOL_ROWS, d)).astype(np.float32)
        impls = implementations(c)
        for b in batches:
            queries = [pool[s:s + b] for s in range(0, POOL_ROWS - b + 1, max(b, 1))][:4096]
            ref = None
            for name, fn in impls.items():
                med, p90 = _time_calls(fn, queries, ARGS.calls)
                lab = np.concatenate([np.asarray(fn(q)).reshape(-1) for q in queries[:64]])
                if ref is None:
                    ref = lab
                rows.append({"k": k, "d": d, "batch": b, "impl": name, "median_s": med, "p90_s": p90,
                             "differs_from_vorn": float((lab != ref).mean())})
                print(f"[latency] k={k} d={d} batch={b:5d} {name:26s} median {med * 1e6:9.1f} us  "
                      f"p90 {p90 * 1e6:9.1f} us", flush=True)
    res = {"schema": 1, "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "machine": harness.machine_info(THREADS, _ALLOWED[:THREADS]), "threads": THREADS,
           "calls": ARGS.calls, "source": harness.git_info(), "versions": _versions(), "rows": rows}
    out = Path(ARGS.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{ARGS.name}.json").write_text(json.dumps(res, indent=1))
    (out / f"{ARGS.name}.md").write_text(render(res))
    print(f"[latency] {out / (ARGS.name + '.json')} + .md")


def _versions():
    out = {}
    for mod in ("vorn", "faiss", "sklearn", "numpy"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            out[mod] = None
    return out


def render(res) -> str:
    m, v = res["machine"], res["versions"]
    L = ["# Latency: assigning a small batch to fitted centroids", "",
         f"{m.get('cpu_model')}, {res['threads']} thread(s), {res['generated'][:10]}; "
         + ", ".join(f"{k} {val}" for k, val in v.items() if val) + f"; vorn source "
         f"`{(res.get('source') or {}).get('describe', '')[:60]}`.", "",
         f"Median (p90) wall time of one call over {res['calls']} calls, fresh query rows each call, "
         "all in one process. k × d centroids from a normal matrix, queries from another. "
         "\"≠ vorn\" = fraction of a sample of rows whose label differs from vorn's.", "",
         "| k × d | rows per call | implementation | median | p90 | ≠ vorn |", "|---|---:|---|---:|---:|---:|"]
    for r in res["rows"]:
        L.append(f"| {r['k']} × {r['d']} | {r['batch']} | {r['impl']} | {_us(r['median_s'])} | "
                 f"{_us(r['p90_s'])} | {r['differs_from_vorn']:.1e} |")
    return "\n".join(L) + "\n"


def _us(s: float) -> str:
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms"


if __name__ == "__main__":
    main()
