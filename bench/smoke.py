"""CI smoke test of the benchmark harness (numpy + vorn only; no peers needed).

    .venv/bin/python bench/smoke.py          # from the repo root (make bench-smoke, inside make test)

Runs a tiny harness run -- rows vorn-auto and vorn-lloyd on a 3000 x 16 blobs set with 8 well
separated centres, one repetition -- through exactly the code path of the real suite (fresh
runner subprocess per row, quality recomputed in the parent by quality.py, raw JSON and the
markdown report written), into a temporary directory. It checks that the outputs exist and that
the quality numbers are sane (finite, near the MSE of the true class means, V-measure high,
returned labels equal the exact nearest centroid), then merges a doctored copy of the run
with merge.py (whole cell, one row, and the refusals of a re-run with another protocol or
CPU). It never asserts timings.

Last line: "bench smoke: N passed, M failed"; exit code 1 if anything failed.
"""
from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import numpy as np  # noqa: E402

import datasets as ds  # noqa: E402
import merge as merger  # noqa: E402
import quality  # noqa: E402
import report  # noqa: E402
import restarts  # noqa: E402
import run as harness  # noqa: E402
import seeds as seeder  # noqa: E402
from rows import ROWS_BY_NAME  # noqa: E402

SMOKE_ROWS = os.environ.get("VORN_BENCH_SMOKE_ROWS", "vorn-auto,vorn-lloyd").split(",")


def check_quality_module():
    """quality.py against brute force on a small random problem."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 7)).astype(np.float32)
    c = rng.standard_normal((9, 7)).astype(np.float32)
    d = ((x[:, None, :].astype(np.float64) - c[None].astype(np.float64)) ** 2).sum(-1)
    lab, dist = quality.nearest_l2(x, c)
    assert (lab == d.argmin(1)).all() and np.allclose(dist, d.min(1), rtol=1e-12, atol=1e-12)
    y = rng.integers(0, 3, 500)
    assert abs(quality.v_measure(y, y)[2] - 1.0) < 1e-12
    assert abs(quality.v_measure(y, np.zeros(500))[2]) < 1e-12


def check_rotation():
    """Over 3 repetitions of 10 rows every row runs at three positions at least 3 apart, and
    every position is taken once per repetition."""
    n, reps = 10, 3
    rows = list(range(n))
    pos = {r: [] for r in rows}
    for rep in range(reps):
        order = harness.row_order(rows, rep, reps)
        assert sorted(order) == rows
        for r in rows:
            pos[r].append(order.index(r))
    for r, p in pos.items():
        p = sorted(p)
        assert min(b - a for a, b in zip(p, p[1:])) >= 3, (r, p)


def check_seeds(results: dict, cache: Path, threads: int):
    """seeds.py on the smoke cell: seed 0 reproduces the suite's fit of every row, the summary
    matches the objectives, and a report cites the evidence for a cell outside the band."""
    cell = results["cells"][0]
    runs = seeder.run_cells([(cell["dataset"], cell["metric"], cell["k"], SMOKE_ROWS)], 3, threads, 25,
                            cache, log=lambda *a: None)
    sc = runs[0]
    for r in cell["rows"]:
        objs = sc["objectives"][r["row"]]
        assert len(objs) == 3 and all(o is not None and np.isfinite(o) for o in objs), objs
        # Same data, seed, threads and cap as the suite's seed-0 fit: the same objective.
        assert abs(objs[0] - r["quality"]["objective"]) <= 1e-9 * abs(objs[0]), (r["row"], objs[0])
        st = sc["stats"][r["row"]]
        assert st["n"] == 3 and min(objs) == st["min"] and max(objs) == st["max"]
        assert abs(st["mean"] - sum(objs) / 3) <= 1e-12 * abs(st["mean"])
    assert sc["analysis"]["vorn_auto_seed0_rank"] in (1, 2, 3)
    assert "## smoke-blobs" in seeder.render({"seeds": 3, "threads": threads, "max_iter": 25,
                                              "generated": "now", "cells": runs})
    # A cell where vorn-auto is 2% worse than another row at seed 0 but has the best mean.
    fake = {"dataset": "d", "metric": "l2", "k": 3, "rows": [
        {"row": "vorn-auto", "library": "vorn", "status": "ok", "median_time_s": 1.0,
         "quality": {"objective": 1.02, "higher_is_better": False}},
        {"row": "faiss-full", "library": "faiss", "status": "ok", "median_time_s": 2.0,
         "quality": {"objective": 1.0, "higher_is_better": False}}]}
    sd = {"seeds": 3, "_file": "x-seeds.md", "cells": [{
        "dataset": "d", "metric": "l2", "k": 3, "higher_is_better": False, "objective_name": "mse",
        "objectives": {"vorn-auto": [1.02, 0.99, 0.98], "faiss-full": [1.0, 1.03, 1.04]}}]}
    c0 = sd["cells"][0]
    c0["stats"] = {r: seeder.summarise(o, False) for r, o in c0["objectives"].items()}
    c0["analysis"] = seeder.analyse(c0)
    assert c0["analysis"]["vorn_auto_rank"] == 1 and c0["analysis"]["vorn_auto_seed0_rank"] == 3
    line = [ln for ln in report.shortfall_lines({"cells": [fake]}, seeds=sd) if ln.startswith("- d ")]
    assert len(line) == 1 and "the luck of one seed" in line[0] and "draw number 3 of 3" in line[0], line
    assert "faiss-full's seed 0 one of its better draws (number 1 of 3)" in line[0], line
    c0["objectives"]["vorn-auto"] = [1.02, 1.05, 1.06]
    c0["stats"] = {r: seeder.summarise(o, False) for r, o in c0["objectives"].items()}
    c0["analysis"] = seeder.analyse(c0)
    line = [ln for ln in report.shortfall_lines({"cells": [fake]}, seeds=sd) if ln.startswith("- d ")]
    assert "gap in the mean over seeds" in line[0] and "ranks 2 of 2" in line[0], line


def check_restarts(results: dict, cache: Path, threads: int):
    """restarts.py on the smoke cell: every seed's best of two runs is at least as good as its
    first run alone (run 0 of n_init = 2 is the n_init = 1 fit, and the smoke cell trains on
    all rows, so the run kept for the lower objective is also the better one on the data);
    shares and times are sane."""
    cell = results["cells"][0]
    rows = restarts.run([(cell["dataset"], cell["metric"], cell["k"])], [1, 2], 3, threads,
                        results, cache)
    one, two = rows
    assert (one["n_init"], two["n_init"]) == (1, 2) and len(one["objectives"]) == 3
    for a, b in zip(one["objectives"], two["objectives"]):
        assert np.isfinite(a) and b <= a * (1 + 1e-12), (a, b)
    assert all(0.0 <= e["in_band"] <= 1.0 and min(e["times_s"]) > 0 for e in rows)
    assert "| 2 |" in restarts.render(rows, 3, threads, "smoke.json")


def check_results_suffix():
    """Default results names: '-avx2' only on a CPU with AVX2 + FMA and without AVX-512F."""
    from runner import results_suffix

    def cpu(flags):
        return f"processor\t: 0\nmodel name\t: X\nflags\t\t: {flags}\n"

    assert results_suffix(cpu("fpu sse4_2 avx avx2 fma avx512f avx512bw")) == ""
    assert results_suffix(cpu("fpu sse4_2 avx avx2 fma")) == "-avx2"
    assert results_suffix(cpu("fpu sse4_2 avx")) == ""
    assert results_suffix("") == ""


def check_readme_splice():
    """readme_section.splice replaces exactly the README's performance section."""
    from readme_section import splice

    readme = "# vorn\n\nintro\n\n## Performance\n\nold table\n\n## Layout\n\ntree\n"
    new = "## Performance\n\nnew table\n"
    want = "# vorn\n\nintro\n\n## Performance\n\nnew table\n\n## Layout\n\ntree\n"
    assert splice(readme, new) == want, splice(readme, new)
    assert splice(want, new) == want  # idempotent
    # The section last in the README; a "### Performance" subsection is not the heading.
    last = "# vorn\n\n### Performance x\n\n## Performance\nold\n"
    assert splice(last, new) == "# vorn\n\n### Performance x\n\n## Performance\n\nnew table\n"
    for bad in ("# vorn\n", "## Performance\n\n## Performance\n"):
        try:
            splice(bad, new)
        except SystemExit:
            continue
        raise AssertionError(f"spliced into {bad!r}")


def check_forced_isa(results: dict):
    """``--isa avx2``: the children's environment, the results name, what a child reports it ran,
    and the README subsections of a forced run and of an older run on another CPU."""
    import readme_section
    from runner import FORCED_ISA_ENV, cpu_flags, isa_suffix

    env = harness.child_env(2, "avx2")
    assert all(env[k] == v for k, v in FORCED_ISA_ENV["avx2"].items())
    assert harness.child_env(2).get("VORN_SIMD") == os.environ.get("VORN_SIMD"), "no --isa: untouched"
    assert isa_suffix("avx2") == "-avx2-forced" and isa_suffix(None) == ""
    flags = cpu_flags(Path("/proc/cpuinfo").read_text()) if Path("/proc/cpuinfo").exists() else set()
    if {"avx2", "fma"} <= flags:
        v = harness.child_versions(sys.executable, env)
        assert (v.get("details") or {}).get("vorn_simd_runtime") == "avx2", v.get("details")
    forced = copy.deepcopy(results)
    forced["name"] = "smoke-avx2-forced"
    forced["protocol"].update(forced_isa="avx2", forced_isa_env=FORCED_ISA_ENV["avx2"])
    other = copy.deepcopy(results)
    other["name"] = "smoke-avx2"
    other["git"] = {**(other.get("git") or {}), "commit": "0" * 40}
    main_ = copy.deepcopy(results)
    main_["git"] = {**(main_.get("git") or {}), "commit": "1" * 40}
    text = readme_section.section(main_, None, "bench/results/smoke.json",
                                  [(forced, None, "f.json"), (other, None, "o.json")])
    assert "### The same suite with every library on its AVX2 paths" in text, text
    assert "`FAISS_SIMD_LEVEL=AVX2`" in text and "bench/results/smoke-avx2-forced.md" in text
    assert "### The same suite on a CPU with" in text and "older than the main run's (`1111111`)" in text
    assert text.index("AVX2 paths") < text.index("on a CPU with"), "subsections keep their order"
    assert "from bench/results/smoke.json and f.json and o.json" in text


def check_kernel(out_dir: Path):
    """kernel.py on one tiny shape (vorn and numpy; FAISS skipped): the results land under the
    requested stem plus this CPU's suffix (they once landed under the last implementation's
    name, and `make kernel-odd KERNEL_ARGS="--isa avx2"` once wrote over the AVX-512
    kernel-odd.*) with vorn's labels equal to the exact nearest centroid, timed in rounds beside
    the sgemm, each timing spanning several calls of a pass this short."""
    import subprocess

    from runner import results_suffix

    out = out_dir / "kernel"
    cmd = [sys.executable, str(BENCH / "kernel.py"), "--shapes", "3000x16x16", "--reps", "1",
           "--gemm-size", "128", "--threads", "1", "--skip", "faiss", "--out", str(out),
           "--stem", "kernel-smoke", "--min-time", "0.05"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    name = "kernel-smoke" + results_suffix()
    assert sorted(f.name for f in out.iterdir()) == [name + ".json", name + ".md"], \
        sorted(f.name for f in out.iterdir())
    res = json.loads((out / (name + ".json")).read_text())
    (shape,) = res["shapes"]
    assert set(shape["impl"]) == {"vorn.assign", "numpy matmul+argmin"}, shape["impl"]
    assert shape["check"]["vorn.assign"]["worse_than_exact_beyond_tie"] == 0.0, shape["check"]
    # One round (--reps 1): the sgemm timed once in it, each implementation once, its share of
    # that round's sgemm recorded and the sgemm row rendered.
    assert len(shape["sgemm_gflops"]) == 1 and shape["sgemm_gflops"][0] > 0, shape
    for r in shape["impl"].values():
        assert len(r["times_s"]) == 1 and r["fraction_of_sgemm"] > 0, r
    # A 3000 × 16 × 16 pass takes well under 50 ms: its timing is the mean of several calls.
    assert shape["impl"]["vorn.assign"]["calls_per_timing"] > 1, shape["impl"]["vorn.assign"]
    md = (out / (name + ".md")).read_text()
    assert "| 3,000 × 16, 16 | numpy sgemm 128³, same rounds |" in md
    assert "back-to-back calls as span 0.05 s" in md, md[:600]


def check_latency(out_dir: Path):
    """latency.py end to end on a tiny shape (peers are skipped where not installed)."""
    import subprocess

    subprocess.run([sys.executable, str(BENCH / "latency.py"), "--shapes", "16x8", "--batches", "1,3",
                    "--calls", "5", "--threads", "1", "--out", str(out_dir), "--name", "lat"],
                   check=True, capture_output=True, text=True)
    res = json.loads((out_dir / "lat.json").read_text())
    vr = [r for r in res["rows"] if r["impl"] == "vorn KMeans.predict"]
    assert [r["batch"] for r in vr] == [1, 3], vr
    assert all(r["median_s"] > 0 and r["differs_from_vorn"] == 0 for r in vr), vr
    assert "| 16 × 8 | 3 | vorn KMeans.predict |" in (out_dir / "lat.md").read_text()


def check_merge(results: dict, out_dir: Path):
    """merge.py on the smoke run: whole cells, named rows, and the refusals."""

    def refuses(rerun_, rows_):
        try:
            merger.merge(copy.deepcopy(results), rerun_, rows_, "bad")
        except SystemExit:
            return True
        return False

    cell = results["cells"][0]
    rerun = copy.deepcopy(results)
    rerun["name"] = "smoke-rerun"
    for r in rerun["cells"][0]["rows"]:
        r["median_time_s"] = 123.0
    target = copy.deepcopy(results)
    done = merger.merge(target, rerun, None, "whole cell")
    key = (cell["dataset"], cell["metric"], cell["k"])
    assert done == [key], done
    tc = target["cells"][0]
    assert tc["rerun"] == 0 and all(r["median_time_s"] == 123.0 for r in tc["rows"])
    assert target["reruns"][0]["why"] == "whole cell" and target["reruns"][0]["rows"] == "all"
    # Rows mode: only the named row changes, and it is marked.
    first = cell["rows"][0]["row"]
    target = copy.deepcopy(results)
    merger.merge(target, rerun, [first], "one row")
    rows = {r["row"]: r for r in target["cells"][0]["rows"]}
    assert rows[first]["median_time_s"] == 123.0 and rows[first]["rerun"] == 0
    assert all(r["median_time_s"] != 123.0 and "rerun" not in r for n, r in rows.items() if n != first)
    # Refusals: another protocol, another CPU, a cell the target lacks, a row the re-run lacks.
    for mutate in (lambda r: r["protocol"].__setitem__("reps", 99),
                   lambda r: r["machine"].__setitem__("cpu_model", "another CPU"),
                   lambda r: r["cells"][0].__setitem__("k", 10_000)):
        bad = copy.deepcopy(rerun)
        mutate(bad)
        assert refuses(bad, None), "merge accepted a mismatched re-run"
    assert refuses(rerun, ["no-such-row"]), "merge accepted a row the re-run lacks"
    # The report lists the re-run.
    target = copy.deepcopy(results)
    merger.merge(target, rerun, None, "whole cell")
    report.write_all(target, out_dir, "smoke-merged", log=lambda *a: None)
    md = (out_dir / "smoke-merged.md").read_text()
    assert "Re-run 0" in md and "whole cell" in md, "report does not list the re-run"


def main() -> int:
    passed, failed = 0, 0
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    threads = min(2, len(allowed))
    with tempfile.TemporaryDirectory(prefix="vorn-bench-smoke-") as tmp:
        tmp = Path(tmp)
        try:
            check_quality_module()
            print("ok   quality module matches brute force")
            check_rotation()
            print("ok   row order rotation spreads every row over the order")
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            print("FAIL quality module or row rotation")
            print(f"bench smoke: 0 passed, {len(SMOKE_ROWS)} failed")
            return 1
        results = harness.run_suite(
            suite="smoke", plan=harness.SUITES["smoke"], rows=[ROWS_BY_NAME[r] for r in SMOKE_ROWS],
            reps=1, timeout=180.0, threads=threads, cores=allowed[:threads], max_iter=25, seed=0,
            out_dir=tmp / "results", name="smoke", cache_dir=tmp / "cache", python=sys.executable,
            tmp_dir=tmp / "work", make_report=True, argv=["smoke.py"])

        json_path = tmp / "results" / "smoke.json"
        md_path = tmp / "results" / "smoke.md"
        outputs_ok = json_path.exists() and md_path.exists()
        if outputs_ok:
            on_disk = json.loads(json_path.read_text())
            md = md_path.read_text()
        x, y = ds.load_cached("smoke-blobs", tmp / "cache")
        ref = ((x - np.stack([x[y == j].mean(0) for j in range(y.max() + 1)])[y]) ** 2).sum(1).mean()

        cell = results["cells"][0] if results["cells"] else {"rows": []}
        by = {r["row"]: r for r in cell["rows"]}
        for name in SMOKE_ROWS:
            r = by.get(name)
            problems = []
            if not outputs_ok:
                problems.append(f"missing outputs: {json_path.name}={json_path.exists()} {md_path.name}={md_path.exists()}")
            elif name not in md or not any(rr["row"] == name for c in on_disk["cells"] for rr in c["rows"]):
                problems.append("row missing from the written JSON or report")
            if r is None:
                problems.append("row missing from results")
            elif r["status"] != "ok":
                err = next((rep.get("error") for rep in r.get("reps", []) if rep.get("error")), "")
                problems.append(f"status {r['status']} {err}")
            else:
                q = r["quality"]
                if not np.isfinite(q["mse"]) or q["mse"] <= 0:
                    problems.append(f"mse not finite/positive: {q['mse']}")
                if not q["mse"] <= 1.05 * ref:
                    problems.append(f"mse {q['mse']:.4f} > 1.05 x class-means mse {ref:.4f}")
                if not q.get("v_measure", 0) > 0.9:
                    problems.append(f"v_measure {q.get('v_measure')} <= 0.9")
                if q.get("k_returned") != cell["k"]:
                    problems.append(f"returned {q.get('k_returned')} centroids, expected {cell['k']}")
                if not q.get("label_agreement", 0) > 0.999:
                    problems.append(f"returned labels agree with nearest centroid on {q.get('label_agreement')}")
                if not (r.get("median_time_s") or 0) > 0:
                    problems.append("no time recorded")
            if problems:
                failed += 1
                print(f"FAIL {name}: " + "; ".join(problems))
            else:
                passed += 1
                print(f"ok   {name}: mse {r['quality']['mse']:.4f} (class means {ref:.4f}), "
                      f"V {r['quality']['v_measure']:.4f}")
        checks = [(lambda: check_seeds(results, tmp / "cache", threads), "seeds.py",
                   "seeds.py reproduces seed 0, summarises the seeds, and the report cites them"),
                  (lambda: check_restarts(results, tmp / "cache", threads), "restarts.py",
                   "restarts.py: the best of two runs is never worse than the first alone"),
                  (lambda: check_merge(results, tmp / "results"), "merge.py",
                   "merge.py replaces cells and rows, records why, refuses mismatches"),
                  (lambda: check_latency(tmp / "results"), "latency.py",
                   "latency.py times predict and writes its JSON and table"),
                  (check_readme_splice, "readme_section.splice",
                   "readme_section.py splices its section into the README in place of the old one"),
                  (check_results_suffix, "results_suffix",
                   "default results names carry -avx2 only on CPUs without AVX-512"),
                  (lambda: check_kernel(tmp / "results"), "kernel.py",
                   "kernel.py writes its results under the requested name, vorn's labels exact"),
                  (lambda: check_forced_isa(results), "--isa avx2",
                   "--isa avx2 forces every library's AVX2 paths, names and renders the run")]
        for check, what, ok_text in checks:
            try:
                check()
                passed += 1
                print(f"ok   {ok_text}")
            except Exception:  # noqa: BLE001
                traceback.print_exc()
                failed += 1
                print(f"FAIL {what}")
    print(f"bench smoke: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
