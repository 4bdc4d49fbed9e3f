"""Kernel-level benchmark: one full nearest-centroid assignment pass, GFLOP/s.

    python kernel.py                      # all shapes, threads = all allowed cores
    python kernel.py --shapes 100000x64x64 --reps 5 --threads 1

For each shape n x d with k centroids it times, in this one process with the same threads:

* ``vorn.assign(x, c, metric="l2", n_threads=T)``  (vorn's tiled kernel, labels out);
* FAISS's own assignment: ``IndexFlatL2(d); add(c); search(x, 1)``;
* numpy: ``argmin(||c||^2 - 2 x c^T)`` in row blocks (sgemm + argmin, labels out);

and numpy's sgemm on 4096 x 4096 x 4096 (float32 ``x @ y``), the machine's practical FP32 peak.
flops = 2 n k d for an assignment pass (the ||x||^2, ||c||^2 and argmin terms are not counted),
2 m n k for the sgemm. Each shape is timed in ``--reps`` rounds after one warm-up per
implementation; a round times the sgemm once, then every implementation once (order rotated per
round), and "% sgemm" is the median over rounds of GFLOP/s over that round's sgemm. A timing of an
implementation is the mean over ``c`` back-to-back calls, ``c`` fixed per shape and implementation
by its warm-up call so that a timing spans at least ``--min-time`` seconds (default 0.25): a
single 40 ms pass caught one burst of a VM's host contention whole. Label correctness: the
fraction of rows where vorn's label differs from FAISS's, and where each differs from the exact
float64 nearest centroid with a distance that is not a tie (relative gap > 1e-6).

Writes results/kernel.json and results/kernel.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
# runner imports the standard library only: numpy is not loaded before the environment is set.
from runner import (FORCED_ISA_ENV, isa_suffix, load_delta, loadavg, read_proc_stat,  # noqa: E402
                    results_suffix, rusage_cpu, versions)

DEFAULT_SHAPES = ["1000000x64x1024", "100000x768x256", "200000x128x256", "100000x64x64"]
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
              "BLIS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS",
              "OMP_THREAD_LIMIT", "VORN_NUM_THREADS")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default=",".join(DEFAULT_SHAPES), help="comma list of NxDxK")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.25,
                    help="seconds a timing spans at least: short calls are repeated that many times "
                         "and their mean is the timing (the count is fixed by the warm-up call)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--gemm-size", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--name", default=None,
                    help="results basename, taken as given (default: --stem with the instruction-set "
                         "suffix)")
    ap.add_argument("--stem", default="kernel",
                    help="results basename before the suffix: '-avx2-forced' with --isa avx2, '-avx2' "
                         "on a CPU without AVX-512, else none (default: 'kernel')")
    ap.add_argument("--skip", default="", help="comma list among vorn,faiss,numpy")
    ap.add_argument("--render", metavar="JSON", help="only re-render the markdown of an existing kernel JSON")
    ap.add_argument("--isa", choices=sorted(FORCED_ISA_ENV),
                    help="every implementation on its AVX2 paths (runner.FORCED_ISA_ENV); "
                         "results named '<stem>-avx2-forced'")
    a = ap.parse_args(argv)
    if a.reps < 1:
        ap.error("--reps must be at least 1")
    return a


ARGS = parse_args()
_ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count()))
THREADS = ARGS.threads or len(_ALLOWED)
CORES = _ALLOWED[:THREADS]
# thread knobs must be set before numpy / faiss load their runtimes
for _k in THREAD_ENV:
    os.environ[_k] = str(THREADS)
os.environ["OMP_DYNAMIC"] = "FALSE"
if ARGS.isa:  # before numpy / faiss / vorn choose their code paths
    os.environ.update(FORCED_ISA_ENV[ARGS.isa])
# All implementations share this process: OpenMP (FAISS) and OpenBLAS (numpy) worker threads
# spin after a parallel region and would steal the cores from whichever implementation runs
# next. Passive waiting plus a pause before each implementation keeps the comparison fair.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, CORES)

import numpy as np  # noqa: E402


def time_once(fn, calls=1):
    """One timing of ``fn()``: the mean over ``calls`` back-to-back calls. Returns (seconds per
    call, last result, load of other processes meanwhile)."""
    st0, cpu0 = read_proc_stat(), rusage_cpu()
    t0 = time.perf_counter()
    for _ in range(calls):
        out = fn()
    t1 = time.perf_counter()
    cpu1, st1 = rusage_cpu(), read_proc_stat()
    ld = load_delta(st0, st1, cpu1 - cpu0, CORES)
    other = ld.get("pinned_other_cpu_s", ld.get("other_cpu_s"))
    if other is not None:
        ld["other_share"] = other / ((t1 - t0) * len(CORES))
    return (t1 - t0) / calls, out, ld


def calls_for(seconds, min_time):
    """Back-to-back calls for a timing to span ``min_time`` given one call's ``seconds``."""
    return max(1, math.ceil(min_time / max(seconds, 1e-9)))


def timed(fn, reps):
    """Warm-up once, then ``reps`` timings; returns (median_s, times, last_result, load)."""
    fn()
    times, loads, out = [], [], None
    for _ in range(reps):
        t, out, ld = time_once(fn)
        times.append(t)
        loads.append(ld)
    return statistics.median(times), times, out, loads


def interleaved(impls, gemm, gemm_flops, reps, tag="", min_time=0.0):
    """Times ``impls`` (list of (name, fn)) in ``reps`` rounds after one warm-up each: every
    round times the sgemm once, then each implementation once, in an order rotated by one per
    round, with a pause before each timing (worker threads of the previous one park). A VM's
    host contention drifts over seconds: timed back to back, an implementation's repetitions
    shared one stretch of it and the sgemm peak another (the forced-AVX2 run of 4311050 put
    vorn at 56% of sgemm at 200k × 128, K = 256 where a rerun gave 82%); interleaved, each
    round's ratio to its own sgemm compares like with like. Returns ({name: (times, last
    result, loads, calls per timing) or error string}, per-round sgemm GFLOP/s). The warm-up
    call of each implementation fixes its calls per timing (``calls_for``, ``min_time``); the
    sgemm (≈ 0.6 s) is one call."""
    out, live = {}, []
    for name, fn in impls:
        time.sleep(0.5)
        try:
            t0 = time.perf_counter()
            fn()
            out[name] = ([], None, [], calls_for(time.perf_counter() - t0, min_time))
            live.append((name, fn))
        except Exception as e:  # noqa: BLE001
            out[name] = f"{type(e).__name__}: {e}"
            print(f"[kernel] {tag} {name}: ERROR {e}", flush=True)
    sgemm = []
    for r in range(reps):
        time.sleep(0.5)
        t, _, _ = time_once(gemm)
        sgemm.append(gemm_flops / t / 1e9)
        order = live[r % len(live):] + live[:r % len(live)] if live else []
        for name, fn in order:
            time.sleep(0.5)
            times, _, loads, c = out[name]
            t, lab, ld = time_once(fn, c)
            times.append(t)
            loads.append(ld)
            out[name] = (times, lab, loads, c)
    return out, sgemm


def numpy_assign(x, c, block=32768):
    cn = np.einsum("ij,ij->i", c, c)
    out = np.empty(x.shape[0], dtype=np.int64)
    ct = np.ascontiguousarray(c.T)
    for s in range(0, x.shape[0], block):
        g = x[s:s + block] @ ct
        g *= -2.0
        g += cn
        out[s:s + block] = np.argmin(g, axis=1)
    return out


def exact_check(x, c, labels, block=16384):
    """Per-row exact float64 squared distance of ``labels`` and of the true nearest."""
    c64 = c.astype(np.float64)
    cn = np.einsum("ij,ij->i", c64, c64)
    chosen = np.empty(x.shape[0])
    best = np.empty(x.shape[0])
    for s in range(0, x.shape[0], block):
        xb = x[s:s + block].astype(np.float64)
        g = -2.0 * (xb @ c64.T) + cn
        j = np.argmin(g, axis=1)
        xn = np.einsum("ij,ij->i", xb, xb)
        d_best = xb - c64[j]
        best[s:s + block] = np.einsum("ij,ij->i", d_best, d_best)
        d_ch = xb - c64[labels[s:s + block]]
        chosen[s:s + block] = np.einsum("ij,ij->i", d_ch, d_ch)
        del xn
    return chosen, best


def main():
    a = ARGS
    if a.render:
        src = Path(a.render)
        src.with_suffix(".md").write_text(render(json.loads(src.read_text())))
        print(f"[kernel] wrote {src.with_suffix('.md')}")
        return
    out_name = a.name or a.stem + (isa_suffix(a.isa) or results_suffix())
    skip = set(filter(None, a.skip.split(",")))
    rng = np.random.default_rng(a.seed)
    res = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "threads": THREADS, "cores": CORES,
           "reps": a.reps, "min_time_s": a.min_time, "platform": platform.platform(), "versions": versions(),
           "loadavg_start": loadavg(), "shapes": [], "gemm": None}
    try:
        res["cpu_model"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    res["vorn_bf16_screen"] = bf16_screen(res["versions"])

    # ---- practical FP32 peak: numpy sgemm
    m = a.gemm_size
    A = rng.standard_normal((m, m), dtype=np.float32)
    B = rng.standard_normal((m, m), dtype=np.float32)
    med, times, _, loads = timed(lambda: A @ B, a.reps)
    res["gemm"] = {"m": m, "n": m, "k": m, "median_s": med, "times_s": times,
                   "gflops": 2 * m ** 3 / med / 1e9, "load": loads}
    print(f"[kernel] numpy sgemm {m}^3: {res['gemm']['gflops']:.1f} GFLOP/s", flush=True)
    gemm_flops = 2.0 * m ** 3  # A and B stay: every shape's rounds time the sgemm again

    try:
        import vorn
    except ImportError:
        vorn = None
    try:
        import faiss
        faiss.omp_set_num_threads(THREADS)
    except ImportError:
        faiss = None

    for spec in a.shapes.split(","):
        n, d, k = (int(t) for t in spec.lower().split("x"))
        x = rng.standard_normal((n, d), dtype=np.float32)
        c = np.ascontiguousarray(x[rng.choice(n, size=k, replace=False)]
                                 + 0.1 * rng.standard_normal((k, d), dtype=np.float32))
        flops = 2.0 * n * k * d
        entry = {"n": n, "d": d, "k": k, "flops": flops, "impl": {}}
        labels = {}
        impls = []
        if vorn is not None and hasattr(vorn, "assign") and "vorn" not in skip:
            impls.append(("vorn.assign", lambda: np.asarray(vorn.assign(x, c, metric="l2", n_threads=THREADS))))
        if faiss is not None and "faiss" not in skip:
            def faiss_assign():
                index = faiss.IndexFlatL2(d)
                index.add(c)
                _, ii = index.search(x, 1)
                return ii.reshape(-1)
            impls.append(("faiss IndexFlatL2.search", faiss_assign))
        if "numpy" not in skip:
            impls.append(("numpy matmul+argmin", lambda: numpy_assign(x, c)))
        timings, sgemm = interleaved(impls, lambda: A @ B, gemm_flops, a.reps, spec, a.min_time)
        entry["sgemm_gflops"] = sgemm
        for name, got in timings.items():
            if isinstance(got, str):
                entry["impl"][name] = {"error": got}
                continue
            times, lab, loads, ncalls = got
            med = statistics.median(times)
            labels[name] = np.asarray(lab).reshape(-1).astype(np.int64)
            g = flops / med / 1e9
            # Each round's GFLOP/s over the same round's sgemm, median over rounds.
            frac = statistics.median(flops / t / 1e9 / sg for t, sg in zip(times, sgemm))
            entry["impl"][name] = {"median_s": med, "times_s": times, "gflops": g,
                                   "fraction_of_sgemm": frac, "load": loads,
                                   "calls_per_timing": ncalls}
            print(f"[kernel] {spec} {name}: {med * 1000:.1f} ms, {g:.1f} GFLOP/s "
                  f"({frac:.0%} of the sgemm of its rounds)", flush=True)
        # ---- correctness
        chk = {}
        if "vorn.assign" in labels and "faiss IndexFlatL2.search" in labels:
            chk["vorn_vs_faiss_mismatch"] = float((labels["vorn.assign"] != labels["faiss IndexFlatL2.search"]).mean())
        best = None
        for name, lab in labels.items():
            chosen, best_d = exact_check(x, c, lab)
            best = best_d
            rel = (chosen - best_d) / np.maximum(best_d, 1e-30)
            chk[name] = {"differs_from_exact": float((rel > 0).mean()),
                         "worse_than_exact_beyond_tie": float((rel > 1e-6).mean()),
                         "max_relative_excess": float(rel.max()),
                         "mse_excess_relative": float((chosen.sum() - best_d.sum()) / best_d.sum())}
        entry["check"] = chk
        if chk:
            print(f"[kernel] {spec} check: " + json.dumps(chk), flush=True)
        res["shapes"].append(entry)
        del x, c, labels, best

    res["loadavg_end"] = loadavg()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    # `out_name`, not `name`: the loops above bind `name` to each implementation (writing
    # "numpy matmul+argmin.json" from 94ff9cc until this was caught by the smoke check).
    (out / f"{out_name}.json").write_text(json.dumps(res, indent=1))
    (out / f"{out_name}.md").write_text(render(res))
    print(f"[kernel] wrote {out / (out_name + '.json')} and .md", flush=True)


def _share(loads):
    """Median over timings of: CPU time of other processes on the pinned cores / (time x cores)."""
    vals = [ld["other_share"] for ld in loads or [] if ld.get("other_share") is not None]
    return statistics.median(vals) if vals else None


def bf16_screen(v: dict) -> bool:
    """Whether vorn screens large-K passes in bf16 here: AVX-512 kernels, a CPU with
    AVX-512 BF16 and VORN_BF16 not 0 (the rule of crates/vorn/src/linalg/screen.rs)."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return ((v.get("details") or {}).get("vorn_simd_runtime") == "avx512"
            and " avx512_bf16" in flags and os.environ.get("VORN_BF16", "1") != "0")


def render(res) -> str:
    L = ["# Kernel benchmark: one assignment pass (distances + argmin, labels out)\n"]
    rounds = any("sgemm_gflops" in s for s in res["shapes"])
    v = res["versions"]
    det = v.get("details", {})
    L.append(f"{res.get('cpu_model')}, {res['threads']} thread(s) on cores {res['cores']}, median of "
             f"{res['reps']} {'rounds' if rounds else 'timings'} after a warm-up"
             + (f" (a timing: the mean of as many back-to-back calls as span {res['min_time_s']:g} s, "
                "fixed per implementation by its warm-up call)" if res.get("min_time_s") else "")
             + f", all in one process. vorn {v.get('vorn')} "
             f"(SIMD `{det.get('vorn_simd_runtime')}`), faiss-cpu {v.get('faiss-cpu')} "
             f"(`{(det.get('faiss_compile_options') or '').strip()}`), numpy {v.get('numpy')}. "
             f"loadavg at start {res.get('loadavg_start')}, at end {res.get('loadavg_end')}.\n")
    if res.get("vorn_bf16_screen"):
        L.append("vorn's pass is bf16-screened at K ≥ 512 (K ≥ 256 when D ≥ 128): `vdpbf16ps` "
                 "scores every centroid at twice the fp32 rate, a rigorous error bound keeps the "
                 "few that can still be nearest and those are rescored with the exact fp32 chain, "
                 "so its labels and scores are the exact pass's bits (the check below compares "
                 "them with FAISS's); its GFLOP/s count the 2·N·K·D flops of the exact pass, "
                 "hence above the fp32 sgemm peak. `VORN_BF16=0` turns the screen off.\n")
    g = res["gemm"]
    L.append(f"Practical FP32 peak: numpy sgemm {g['m']}×{g['n']}×{g['k']} = **{g['gflops']:.1f} GFLOP/s** "
             f"(median {g['median_s'] * 1000:.1f} ms; best of {len(g['times_s'])}: "
             f"{2 * g['m'] * g['n'] * g['k'] / min(g['times_s']) / 1e9:.1f} GFLOP/s).\n")
    L.append("flops = 2·N·K·D. \"% sgemm\" = " + (
             "each round's GFLOP/s over the sgemm timed in the same round, median over rounds (each "
             "shape's rounds time the sgemm, then every implementation, in an order rotated per "
             "round; the shape's sgemm row gives those sgemm timings)" if rounds else
             "GFLOP/s relative to that sgemm") + ". \"other\" = CPU time other "
             "processes took on the pinned cores during the timings / (time × cores), median over timings "
             "(a VM's host contention is invisible here: compare the spread of `times_s` in the JSON).\n")
    L.append("| N × D, K | implementation | time | GFLOP/s | % sgemm | other |")
    L.append("|---|---|---:|---:|---:|---:|")
    for s in res["shapes"]:
        if s.get("sgemm_gflops"):
            sg = s["sgemm_gflops"]
            L.append(f"| {s['n']:,} × {s['d']}, {s['k']} | numpy sgemm {g['m']}³, same rounds | "
                     f"{2 * g['m'] * g['n'] * g['k'] / statistics.median(sg) / 1e6:.1f} ms | "
                     f"{statistics.median(sg):.1f} (rounds: {' / '.join(f'{v:.0f}' for v in sg)}) | "
                     f"100% | |")
        for name, r in s["impl"].items():
            if "error" in r:
                L.append(f"| {s['n']:,} × {s['d']}, {s['k']} | {name} | error | | | |")
                continue
            sh = _share(r.get("load"))
            L.append(f"| {s['n']:,} × {s['d']}, {s['k']} | {name} | {r['median_s'] * 1000:.1f} ms | "
                     f"{r['gflops']:.1f} | {r['fraction_of_sgemm']:.0%} | "
                     f"{'' if sh is None else f'{sh:.0%}'} |")
    L.append("\nLabel correctness (fraction of rows):\n")
    L.append("| N × D, K | vorn ≠ FAISS | implementation | ≠ exact f64 nearest | worse than exact beyond a 1e-6 tie | MSE excess |")
    L.append("|---|---:|---|---:|---:|---:|")
    for s in res["shapes"]:
        chk = s.get("check", {})
        vf = chk.get("vorn_vs_faiss_mismatch")
        for name, c in chk.items():
            if not isinstance(c, dict):
                continue
            L.append(f"| {s['n']:,} × {s['d']}, {s['k']} | {'' if vf is None else f'{vf:.2e}'} | {name} | "
                     f"{c['differs_from_exact']:.2e} | {c['worse_than_exact_beyond_tie']:.2e} | "
                     f"{c['mse_excess_relative']:.1e} |")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
