"""vorn benchmark harness: peers vs vorn, fresh process per row, quality recomputed here.

    python run.py --suite quick                  # a few minutes (make quick)
    python run.py --suite full                   # the whole grid (make all); ~2 h on 2 cores
    python run.py --datasets digits,20newsgroups --rows vorn-auto,faiss-full --ks 10,20 --reps 1

Protocol (details in README.md): every row runs in a fresh ``runner.py`` process under
``taskset`` on the same cores with every thread knob set to the same count; the runner does one
warm-up on a small slice, waits until its own threads are idle and times fit + labels of all
rows; repetitions rotate the row order;
the row time is the median over repetitions; a row that exceeds ``--timeout`` is killed and
recorded with status "timeout" (its remaining repetitions and its larger K on the same
dataset and metric are recorded as "skipped"); quality is recomputed in this process from the
returned centroids by quality.py; machine load is recorded around each timed section.

Outputs: <out>/<name>.json (raw), <out>/<name>.md (report), <out>/plots/<name>-<dataset>.png.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import datasets as ds  # noqa: E402
import quality  # noqa: E402
from rows import ROWS, ROWS_BY_NAME  # noqa: E402
from runner import FORCED_ISA_ENV, cpu_flags, isa_suffix, results_suffix  # noqa: E402

SCHEMA = 1
DEFAULT_TIMEOUT = 300.0
DEFAULT_MAX_ITER = 25  # FAISS's default niter; the common iteration budget of every row

# (dataset, metrics or None = the dataset's own, ks or None = the dataset's grid)
SUITES = {
    "full": [
        ("digits", None, None),
        ("20newsgroups", None, None),
        ("fashion-mnist", None, None),
        ("blobs", None, None),
        ("aniso", None, None),
        ("glove-50", None, None),
        ("uniform", None, None),
    ],
    "quick": [
        ("blobs-small", ["l2"], [256]),
        ("digits", ["l2"], [10]),
        ("20newsgroups", ["cosine"], [20]),
    ],
    "smoke": [("smoke-blobs", ["l2"], [8])],
    # One or two K per dataset (the true class count and one above it): every peer row on
    # every dataset in about 40 minutes on 2 cores, for when the full grid does not fit.
    "medium": [
        ("digits", ["l2"], [10, 40]),
        ("20newsgroups", ["cosine"], [20, 80]),
        ("20newsgroups", ["l2"], [20]),
        ("fashion-mnist", ["l2"], [10]),
        ("blobs", ["l2"], [256]),
        ("aniso", ["l2"], [64]),
        ("glove-50", ["cosine"], [256]),
        ("uniform", ["l2"], [256]),
    ],
}
SUITE_DEFAULTS = {"full": {"reps": 3, "timeout": 300.0, "single_rep_above": 10.0},
                  "quick": {"reps": 1, "timeout": 120.0},
                  "medium": {"reps": 3, "timeout": 150.0, "single_rep_above": 10.0}, "smoke": {"reps": 1, "timeout": 180.0}}

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
              "BLIS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
              "RAYON_NUM_THREADS", "OMP_THREAD_LIMIT", "VORN_NUM_THREADS")


def row_order(rows: list, rep: int, reps: int) -> list:
    """The rows in the order repetition `rep` runs them: turned by floor(rows / reps)
    positions per repetition, so a row's positions are spread over the order (10 rows, 3
    repetitions: row i runs at i, i + 7 and i + 4 mod 10). Rotating by one put the first rows
    of the list last in two of three repetitions; on millisecond cells the last position ran
    1.17x the row's median time (1.30x on average) in the full run of 2bcde1e."""
    shift = (rep * max(1, len(rows) // max(1, reps))) % max(1, len(rows))
    return rows[shift:] + rows[:shift]


def log(*a):
    print(*a, flush=True)


# ------------------------------------------------------------------------------ machine info

def machine_info(threads: int, cores: list) -> dict:
    info = {"platform": platform.platform(), "machine": platform.machine(),
            "logical_cpus": os.cpu_count(), "threads_used": threads, "cores_used": cores}
    try:
        txt = Path("/proc/cpuinfo").read_text()
        model = next((ln.split(":", 1)[1].strip() for ln in txt.splitlines()
                      if ln.startswith("model name")), None)
        flags = cpu_flags(txt)
        info["cpu_model"] = model
        wanted = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw", "avx512vl",
                  "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "hypervisor"]
        info["cpu_flags"] = [f for f in wanted if f in flags]
        info["physical_cores"] = len({(l.split(":")[1].strip()) for l in txt.splitlines()
                                      if l.startswith("core id")}) or None
    except OSError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info["loadavg_at_start"] = _loadavg()
    return info


def _loadavg():
    try:
        return [float(t) for t in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def git_info() -> dict:
    def g(*args):
        try:
            return subprocess.run(["git", *args], cwd=BENCH.parent, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except Exception:  # noqa: BLE001
            return None
    return {"commit": g("rev-parse", "HEAD"), "dirty": bool(g("status", "--porcelain", "--", "crates")),
            "describe": g("log", "-1", "--format=%h %s")}


def child_versions(python: str, env: dict) -> dict:
    try:
        p = subprocess.run([python, str(BENCH / "runner.py"), "--versions"], capture_output=True,
                           text=True, env=env, timeout=120)
        v = json.loads(p.stdout.strip().splitlines()[-1])
    except Exception as e:  # noqa: BLE001
        return {"error": repr(e)}
    try:
        v["rustc"] = subprocess.run(["rustc", "--version"], capture_output=True, text=True,
                                    timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001
        v["rustc"] = None
    return v


# ---------------------------------------------------------------------------------- protocol

def parse_cores(spec: str) -> list:
    out = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def child_env(threads: int, isa: str | None = None) -> dict:
    env = os.environ.copy()
    env.update(FORCED_ISA_ENV.get(isa, {}))
    for k in THREAD_ENV:
        env[k] = str(threads)
    env["OMP_DYNAMIC"] = "FALSE"
    env["MKL_DYNAMIC"] = "FALSE"
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # make the bench dir importable for the runner regardless of cwd
    env["PYTHONPATH"] = str(BENCH) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_child(cmd, env, timeout, cores, workdir: Path):
    """Run one runner process pinned to ``cores``; return (status, wall_s, stderr_tail, rusage_cpu)."""
    taskset = shutil.which("taskset")
    core_list = ",".join(str(c) for c in cores)
    preexec = None
    if taskset:
        cmd = [taskset, "-c", core_list, *cmd]
    elif hasattr(os, "sched_setaffinity"):
        def preexec():  # noqa: E306
            os.sched_setaffinity(0, cores)
    err_path = workdir / "stderr.txt"
    t0 = time.perf_counter()
    with open(err_path, "wb") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env,
                             start_new_session=True, preexec_fn=preexec)
        status = "ok"
        try:
            _, wstatus, ru = _wait4_timeout(p, timeout)
        except subprocess.TimeoutExpired:
            status = "timeout"
            try:
                os.killpg(p.pid, signal.SIGKILL)  # the process group this Popen created
            except ProcessLookupError:
                pass
            _, wstatus, ru = os.wait4(p.pid, 0)
        p.returncode = 0  # reaped by wait4 above
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(wstatus)
    if status == "ok" and rc != 0:
        status = "error"
    tail = err_path.read_bytes()[-3000:].decode("utf-8", "replace")
    return status, wall, tail, ru.ru_utime + ru.ru_stime, rc


def _wait4_timeout(p, timeout):
    deadline = time.monotonic() + timeout
    while True:
        pid, wstatus, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            return pid, wstatus, ru
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(p.args, timeout)
        time.sleep(0.02)


def sha_of(a: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def summarise(rep_records: list, reps_wanted: int) -> dict:
    statuses = [r["status"] for r in rep_records if r["status"] != "not-repeated"]
    ok = [r for r in rep_records if r["status"] == "ok"]
    if "timeout" in statuses:
        status = "timeout"
    elif "error" in statuses:
        status = "error"
    elif statuses and all(s == "skipped" for s in statuses):
        status = "skipped"
    elif statuses and all(s == "unavailable" for s in statuses):
        status = "unavailable"
    else:
        status = "ok" if ok else "missing"
    s = {"status": status, "times_s": [r.get("time_s") for r in rep_records], "reps_ok": len(ok),
         "reps_wanted": reps_wanted}
    if ok and status == "ok":
        s["median_time_s"] = statistics.median([r["time_s"] for r in ok])
        qs = [r["quality"] for r in ok if "quality" in r]
        if qs:
            keys = [k for k, v in qs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
            s["quality"] = {k: statistics.median([q[k] for q in qs if k in q]) for k in keys}
            for k in ("objective_name", "higher_is_better"):
                s["quality"][k] = qs[0][k]
            s["quality"]["reps_identical_centroids"] = len({r.get("centroid_sha") for r in ok}) == 1
        others = [r["load"].get("pinned_other_cpu_s", r["load"].get("other_cpu_s")) for r in ok
                  if r.get("load")]
        others = [o for o in others if o is not None]
        if others:
            s["max_other_cpu_s"] = max(others)
            s["max_other_cpu_share"] = max(
                o / max(r["time_s"] * len(r.get("affinity") or [1]), 1e-9)
                for o, r in zip(others, ok))
        infos = [r.get("info", {}) for r in ok]
        s["info"] = infos[0] if infos else {}
    elif status == "timeout":
        s["median_time_s"] = None
    return s


def run_suite(*, suite: str = "custom", plan: list, rows: list, reps: int, timeout: float,
              threads: int, cores: list, max_iter, seed: int, out_dir: Path, name: str,
              cache_dir: Path, python: str, tmp_dir: Path, make_report: bool = True,
              keep_tmp: bool = False, single_rep_above=None, argv=None, isa=None) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    env = child_env(threads, isa)
    started = time.time()
    results = {
        "schema": SCHEMA, "suite": suite, "name": name,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": argv if argv is not None else sys.argv,
        "machine": machine_info(threads, cores),
        "versions": child_versions(python, env),
        "git": git_info(),
        "protocol": {
            "threads": threads, "cores": cores, "reps": reps, "timeout_s": timeout,
            "single_rep_above_s": single_rep_above,
            "max_iter": max_iter, "seed": seed, "timed": "fit + labels of all rows",
            "warmup": "same row on the first min(n, 4096) rows, k <= 16, 3 iterations, then "
                      "a wait until the process's own threads are idle (runner.settle: 20 ms "
                      "with <= 2 ms of process CPU, at most 2 s)",
            "order": "rows rotated by floor(rows / reps) positions per repetition",
            "thread_env": {k: env[k] for k in THREAD_ENV},
            "forced_isa": isa, "forced_isa_env": FORCED_ISA_ENV.get(isa),
            "pinning": "taskset -c " + ",".join(map(str, cores)) if shutil.which("taskset") else "sched_setaffinity",
            "quality": "quality.py: float64, exact nearest returned centroid, computed in the parent",
            "quality_speed_rule": "best objective per cell; rows within 0.5% of it are admitted; fastest admitted wins",
        },
        "datasets": {}, "cells": [],
    }
    json_path = out_dir / f"{name}.json"

    for dname, metrics, ks in plan:
        spec = ds.DATASETS[dname]
        try:
            meta = ds.ensure_cached(dname, cache_dir, log=log)
        except ds.DatasetUnavailable as e:
            log(f"[skip] {dname}: {e}")
            results["datasets"][dname] = {"name": dname, "unavailable": str(e), "source": spec.source}
            continue
        meta = dict(meta)
        meta["true_k"] = spec.true_k
        results["datasets"][dname] = meta
        xpath, _, _ = ds.cache_paths(dname, cache_dir)
        x, y = ds.load_cached(dname, cache_dir)
        for metric in (metrics or spec.metrics):
            timed_out_rows = set()
            last_ok = {}  # row -> (k, median time) at the largest k so far
            for k in sorted(ks or spec.ks):
                if k > x.shape[0]:
                    continue
                cell = {"dataset": dname, "metric": metric, "k": k, "n": int(x.shape[0]),
                        "d": int(x.shape[1]), "rows": []}
                recs = {r.name: [] for r in rows}
                qcache = {}
                for rep in range(reps):
                    order = row_order(rows, rep, reps)
                    for row in order:
                        rec = {"rep": rep, "position": order.index(row)}
                        prev = recs[row.name]
                        if not row.available():
                            rec.update(status="unavailable", note=f"module {row.module} not importable")
                        elif row.name in timed_out_rows:
                            rec.update(status="skipped", note="timed out at a smaller k or an earlier repetition")
                        elif (rep == 0 and row.name in last_ok
                              and last_ok[row.name][1] * k / last_ok[row.name][0] > timeout):
                            kp, tp = last_ok[row.name]
                            rec.update(status="skipped", note=f"predicted timeout: {tp:.1f} s at k={kp}, "
                                       f"x{k / kp:g} (linear in k) > {timeout:.0f} s")
                            timed_out_rows.add(row.name)
                        elif (rep > 0 and single_rep_above is not None and prev
                              and prev[0].get("status") == "ok" and prev[0]["time_s"] > single_rep_above):
                            rec.update(status="not-repeated",
                                       note=f"timed once: first repetition took > {single_rep_above:g} s")
                        else:
                            rec.update(_one_run(row, xpath, x, y, metric, k, threads, cores, seed,
                                                max_iter, timeout, env, python, tmp_dir, qcache,
                                                keep_tmp))
                            if rec["status"] == "timeout":
                                timed_out_rows.add(row.name)
                        prev.append(rec)
                        q = rec.get("quality", {})
                        log(f"[{dname} {metric} k={k} rep {rep}] {row.name:28s} {rec['status']:8s} "
                            + (f"{rec['time_s']:8.3f}s " if rec.get("time_s") is not None else " " * 10)
                            + (f"{q.get('objective_name', '')}={q.get('objective', float('nan')):.6g} "
                               if q else "")
                            + (f"V={q['v_measure']:.4f} " if "v_measure" in q else "")
                            + (f"other-cpu={rec['load'].get('pinned_other_cpu_s', 0):.2f}s"
                               if rec.get("load") else "")
                            + (f" {rec.get('error', '')}" if rec["status"] == "error" else ""))
                for row in rows:
                    rr = recs[row.name]
                    summ = summarise(rr, reps)
                    if summ["status"] == "ok":
                        last_ok[row.name] = (k, summ["median_time_s"])
                    cell["rows"].append({"row": row.name, "library": row.library, "params": row.params,
                                         **summ, "reps": rr})
                results["cells"].append(cell)
                results["elapsed_s"] = time.time() - started
                json_path.write_text(json.dumps(results, indent=1, default=_json_default))
        del x, y

    results["elapsed_s"] = time.time() - started
    results["machine"]["loadavg_at_end"] = _loadavg()
    json_path.write_text(json.dumps(results, indent=1, default=_json_default))
    log(f"[done] {json_path} ({results['elapsed_s']:.0f} s)")
    if make_report:
        import report
        report.write_all(results, out_dir, name, log=log)
    return results


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o))


def _one_run(row, xpath, x, y, metric, k, threads, cores, seed, max_iter, timeout, env, python,
             tmp_dir, qcache, keep_tmp) -> dict:
    work = Path(tmp_dir) / f"{row.name}-{os.getpid()}-{time.monotonic_ns()}"
    work.mkdir(parents=True)
    cmd = [python, str(BENCH / "runner.py"), "--row", row.name, "--data", str(xpath), "--metric", metric,
           "--k", str(k), "--threads", str(threads), "--seed", str(seed), "--out", str(work)]
    if max_iter is not None:
        cmd += ["--max-iter", str(max_iter)]
    la0 = _loadavg()
    status, wall, err_tail, child_cpu, rc = run_child(cmd, env, timeout, cores, work)
    rec = {"status": status, "wall_s": wall, "child_cpu_s": child_cpu,
           "loadavg_parent_before": la0, "loadavg_parent_after": _loadavg()}
    rj = work / "result.json"
    if rj.exists():
        r = json.loads(rj.read_text())
        for key in ("time_s", "self_cpu_s", "load", "info", "load_s", "warmup_s", "maxrss_mib",
                    "affinity", "error", "traceback"):
            if key in r:
                rec[key] = r[key]
        if r.get("status") == "error":
            rec["status"] = "error"
    if status == "timeout":
        rec["time_s"] = None
        rec["note"] = f"killed after {timeout:.0f} s"
    if rec["status"] == "error" and "error" not in rec:
        rec["error"] = f"exit code {rc}: {err_tail[-500:]}"
    if rec["status"] == "ok":
        try:
            c = np.load(work / "centroids.npy")
            lab = np.load(work / "labels.npy")
            h = sha_of(c)
            rec["centroid_sha"] = h
            if h not in qcache:
                t = time.perf_counter()
                qd, nearest = quality.evaluate(x, c, metric, y_true=y, return_labels=True)
                qd["quality_eval_s"] = time.perf_counter() - t
                qcache[h] = (qd, nearest)
            qd, nearest = qcache[h]
            rec["quality"] = dict(qd)
            lab = lab.reshape(-1)
            if lab.shape[0] == nearest.shape[0]:
                rec["quality"]["label_agreement"] = float((lab.astype(np.int64) == nearest).mean())
                rec["quality"]["partition_objective"] = quality.partition_objective(x, lab, metric)
        except Exception as e:  # noqa: BLE001
            rec["status"] = "error"
            rec["error"] = f"quality evaluation failed: {type(e).__name__}: {e}"
    if not keep_tmp:
        shutil.rmtree(work, ignore_errors=True)
    return rec


def build_plan(suite: str, datasets_arg, metrics_arg, ks_arg) -> list:
    if datasets_arg:
        names = [d for d in datasets_arg.split(",") if d]
        base = {d: (m, k) for d, m, k in SUITES.get(suite, [])}
        plan = [(d, *base.get(d, (None, None))) for d in names]
    else:
        plan = list(SUITES[suite])
    for d, _, _ in plan:
        if d not in ds.DATASETS:
            raise SystemExit(f"unknown dataset {d!r}; known: {', '.join(ds.DATASETS)}")
    if metrics_arg:
        ms = metrics_arg.split(",")
        plan = [(d, ms, k) for d, _, k in plan]
    if ks_arg:
        ks = [int(v) for v in ks_arg.split(",")]
        plan = [(d, m, ks) for d, m, _ in plan]
    return plan


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="quick", choices=sorted(SUITES))
    ap.add_argument("--datasets", help="comma list (default: the suite's); known: " + ", ".join(ds.DATASETS))
    ap.add_argument("--rows", help="comma list (default: all); known: " + ", ".join(ROWS_BY_NAME))
    ap.add_argument("--ks", help="comma list of k (overrides every dataset's grid)")
    ap.add_argument("--metrics", help="comma list among l2,cosine (overrides the datasets' metrics)")
    ap.add_argument("--reps", type=int, help="repetitions per row (default: full 3, quick 1)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="per-row timeout in seconds (default: full 300, quick 120)")
    ap.add_argument("--single-rep-above", type=float, default=None,
                    help="a row whose first repetition took longer than this many seconds is not "
                         "repeated (default: full 10; 0 = always repeat)")
    ap.add_argument("--threads", type=int, default=None, help="default: all cores available")
    ap.add_argument("--cores", help="cpu list for taskset (default: the first THREADS allowed cpus)")
    ap.add_argument("--max-iter", default=str(DEFAULT_MAX_ITER),
                    help="iteration cap for every row; 'default' = each library's own default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", help="results basename (default: the suite name, with '-avx2' on a CPU "
                                   "without AVX-512 (runner.results_suffix), or 'custom' with filters)")
    ap.add_argument("--isa", choices=sorted(FORCED_ISA_ENV),
                    help="make every library take these code paths (runner.FORCED_ISA_ENV); "
                         "results named with '-avx2-forced'")
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--cache-dir", default=str(ds.DEFAULT_CACHE))
    ap.add_argument("--tmp-dir", default=str(BENCH / "results" / "tmp"))
    ap.add_argument("--python", default=sys.executable, help="interpreter for the runner processes")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--keep-tmp", action="store_true")
    a = ap.parse_args(argv)

    plan = build_plan(a.suite, a.datasets, a.metrics, a.ks)
    rows = ROWS if not a.rows else [ROWS_BY_NAME[r] for r in a.rows.split(",") if r]
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count()))
    threads = a.threads or len(allowed)
    cores = parse_cores(a.cores) if a.cores else allowed[:threads]
    if len(cores) < threads:
        raise SystemExit(f"--cores gives {len(cores)} cpus for {threads} threads")
    reps = a.reps or SUITE_DEFAULTS.get(a.suite, {}).get("reps", 3)
    timeout = a.timeout or SUITE_DEFAULTS.get(a.suite, {}).get("timeout", DEFAULT_TIMEOUT)
    single = a.single_rep_above if a.single_rep_above is not None else SUITE_DEFAULTS.get(a.suite, {}).get(
        "single_rep_above")
    single = single or None
    filtered = any([a.datasets, a.rows, a.ks, a.metrics])
    name = a.name or (a.suite + (isa_suffix(a.isa) or results_suffix()) if not filtered else "custom")
    max_iter = None if a.max_iter == "default" else int(a.max_iter)
    missing = [r.name for r in rows if not r.available()]
    if missing:
        log(f"[warn] rows whose library is not importable (recorded as unavailable): {', '.join(missing)}")
    run_suite(suite=a.suite, plan=plan, rows=rows, reps=reps, timeout=timeout, threads=threads,
              cores=cores, max_iter=max_iter, seed=a.seed, out_dir=Path(a.out), name=name,
              cache_dir=Path(a.cache_dir), python=a.python, tmp_dir=Path(a.tmp_dir),
              make_report=not a.no_report, keep_tmp=a.keep_tmp, single_rep_above=single,
              argv=[sys.argv[0], *argv], isa=a.isa)


if __name__ == "__main__":
    main()
