"""Markdown report, winners, headline counts and plots from a raw results JSON.

    python report.py results/full.json            # rewrites results/full.md and plots/full-*.png

Quality used for winners is each cell's k-means objective, recomputed by quality.py from the
returned centroids: MSE (lower is better) for l2 and mean cosine to the nearest normalised
centroid (higher is better) for cosine. V-measure is shown beside it where the data has labels,
but is not used to pick winners (it is not what any row optimises, and it is noisy at 0.5%).

Per cell (dataset, metric, k):
* best-quality row: the best objective among rows with status ok;
* quality-speed winner: among ok rows within 0.5% of the best objective (relative to its
  magnitude), the fastest (median time).
Headline: cells where vorn-auto is the quality-speed winner against the peer rows (the issue's
criterion: admitted, and faster than every admitted FAISS / Clostera / scikit-learn row; the
other vorn rows are vorn's own backends and are counted separately); median speedup of vorn-auto over
the fastest *peer* (non-vorn) row within 0.5% of the best quality, over cells where both exist.
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

TOL = 0.005
VORN_AUTO = "vorn-auto"


# ------------------------------------------------------------------------------------ analysis

def _obj(r):
    q = r.get("quality") or {}
    return q.get("objective")


def admitted(best: float, val: float, higher: bool, tol: float = TOL) -> bool:
    slack = tol * abs(best)
    return val >= best - slack if higher else val <= best + slack


def analyse_cell(cell: dict, tol: float = TOL) -> dict:
    ok = [r for r in cell["rows"] if r.get("status") == "ok" and _obj(r) is not None
          and r.get("median_time_s") is not None]
    res = {"dataset": cell["dataset"], "metric": cell["metric"], "k": cell["k"], "n_ok": len(ok)}
    if not ok:
        return res
    higher = bool(ok[0]["quality"].get("higher_is_better"))
    best = (max if higher else min)(ok, key=_obj)
    adm = [r for r in ok if admitted(_obj(best), _obj(r), higher, tol)]
    win = min(adm, key=lambda r: r["median_time_s"])
    fastest = min(ok, key=lambda r: r["median_time_s"])
    res.update(higher_is_better=higher, objective_name=ok[0]["quality"].get("objective_name"),
               best_row=best["row"], best_objective=_obj(best), best_time_s=best["median_time_s"],
               winner_row=win["row"], winner_time_s=win["median_time_s"], winner_objective=_obj(win),
               fastest_row=fastest["row"], fastest_time_s=fastest["median_time_s"],
               admitted=[r["row"] for r in adm])
    by = {r["row"]: r for r in ok}
    va = by.get(VORN_AUTO)
    if va is not None:
        gap = (_obj(va) - _obj(best)) / abs(_obj(best)) if _obj(best) else 0.0
        res["vorn_auto_time_s"] = va["median_time_s"]
        res["vorn_auto_objective"] = _obj(va)
        res["vorn_auto_gap"] = -gap if higher else gap  # >= 0: worse than best by this fraction
        res["vorn_auto_admitted"] = VORN_AUTO in res["admitted"]
        res["vorn_auto_wins"] = win["row"] == VORN_AUTO
        peers = [r for r in adm if r.get("library") != "vorn"]
        res["vorn_auto_beats_peers"] = res["vorn_auto_admitted"] and all(
            va["median_time_s"] < r["median_time_s"] for r in peers)
        if peers:
            fp = min(peers, key=lambda r: r["median_time_s"])
            res["fastest_admitted_peer"] = fp["row"]
            res["fastest_admitted_peer_time_s"] = fp["median_time_s"]
            res["vorn_auto_speedup"] = fp["median_time_s"] / max(va["median_time_s"], 1e-12)
    return res


def headline(results: dict, tol: float = TOL) -> dict:
    an = [analyse_cell(c, tol) for c in results["cells"]]
    an = [a for a in an if a.get("n_ok")]
    with_auto = [a for a in an if "vorn_auto_time_s" in a]
    speed = [a["vorn_auto_speedup"] for a in with_auto if "vorn_auto_speedup" in a]
    speed_adm = [a["vorn_auto_speedup"] for a in with_auto
                 if "vorn_auto_speedup" in a and a.get("vorn_auto_admitted")]
    libs_win, libs_best = {}, {}
    lib_of = {r["row"]: r.get("library") for c in results["cells"] for r in c["rows"]}
    for a in an:
        libs_win[lib_of[a["winner_row"]]] = libs_win.get(lib_of[a["winner_row"]], 0) + 1
        libs_best[lib_of[a["best_row"]]] = libs_best.get(lib_of[a["best_row"]], 0) + 1
    statuses = {}
    for c in results["cells"]:
        for r in c["rows"]:
            statuses.setdefault(r.get("library"), {}).setdefault(r.get("status"), 0)
            statuses[r.get("library")][r.get("status")] += 1
    return {
        "cells": len(an),
        "cells_with_vorn_auto": len(with_auto),
        "vorn_auto_wins": sum(1 for a in with_auto if a.get("vorn_auto_wins")),
        "vorn_auto_beats_peers": sum(1 for a in with_auto if a.get("vorn_auto_beats_peers")),
        "vorn_any_wins": sum(1 for a in an if lib_of[a["winner_row"]] == "vorn"),
        "vorn_auto_admitted": sum(1 for a in with_auto if a.get("vorn_auto_admitted")),
        "vorn_auto_best_quality": sum(1 for a in with_auto if a.get("best_row") == VORN_AUTO),
        "speedup_cells": len(speed),
        "median_speedup_vs_fastest_admitted_peer": statistics.median(speed) if speed else None,
        "min_speedup": min(speed) if speed else None,
        "max_speedup": max(speed) if speed else None,
        "vorn_auto_faster_than_fastest_admitted_peer": sum(1 for s in speed if s > 1.0),
        "speedup_cells_vorn_auto_admitted": len(speed_adm),
        "median_speedup_when_vorn_auto_admitted": statistics.median(speed_adm) if speed_adm else None,
        "winners_by_library": libs_win,
        "best_quality_by_library": libs_best,
        "status_by_library": statuses,
        "tolerance": tol,
    }


# ---------------------------------------------------------------------------------- formatting

def fmt_time(t):
    if t is None:
        return "–"
    if t < 0.01:
        return f"{t * 1000:.2f} ms"
    if t < 10:
        return f"{t:.3f} s"
    return f"{t:.1f} s"


def fmt_q(v):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:.1f}"
    return f"{v:.5g}" if abs(v) >= 1 else f"{v:.5f}"


def load_summary(results: dict) -> dict:
    shares, la = [], []
    for c in results["cells"]:
        for r in c["rows"]:
            for rep in r.get("reps", []):
                ld = rep.get("load")
                if rep.get("status") != "ok" or not ld or not rep.get("time_s"):
                    continue
                ncpu = len(rep.get("affinity") or [1])
                other = ld.get("pinned_other_cpu_s", ld.get("other_cpu_s", 0.0))
                shares.append(other / (rep["time_s"] * ncpu))
                if ld.get("loadavg_before"):
                    la.append(ld["loadavg_before"][0])
    if not shares:
        return {}
    shares.sort()
    return {"runs": len(shares), "median_other_share": statistics.median(shares),
            "p90_other_share": shares[int(0.9 * (len(shares) - 1))], "max_other_share": shares[-1],
            "median_loadavg1": statistics.median(la) if la else None,
            "max_loadavg1": max(la) if la else None}


def render_markdown(results: dict, name: str, plots: dict, seeds: dict | None = None) -> str:
    m, v, p = results.get("machine", {}), results.get("versions", {}), results.get("protocol", {})
    h = headline(results)
    L = []
    L.append(f"# vorn benchmark: `{name}`\n")
    L.append(f"Generated {results.get('created')} by `bench/run.py` "
             f"(suite `{results.get('suite')}`, {results.get('elapsed_s', 0):.0f} s wall). "
             f"Raw data: `{name}.json`. Regenerate this page with `python bench/report.py bench/results/{name}.json`.\n")
    L.append("## Machine and versions\n")
    L.append(f"- CPU: {m.get('cpu_model')} — {m.get('logical_cpus')} logical CPUs, "
             f"flags: {' '.join(m.get('cpu_flags', []))}; RAM {m.get('ram_gib')} GiB")
    L.append(f"- Threads per row: {p.get('threads')} (cores {p.get('cores')}, {p.get('pinning')}); "
             f"every thread env var = {p.get('threads')}, faiss.omp_set_num_threads, vorn n_threads")
    det = v.get("details", {})
    # The core type each loaded OpenBLAS runs (FAISS bundles its own beside numpy's).
    blas = ", ".join(f"{b.get('version')} `{b.get('architecture')}`" for b in det.get("numpy_blas") or []
                     if b.get("internal_api") == "openblas")
    vs = ", ".join(f"{k} {v.get(k)}" for k in ("vorn", "faiss-cpu", "clostera", "scikit-learn", "numpy", "python")
                   if v.get(k))
    L.append(f"- Versions: {vs}; {v.get('rustc') or ''}")
    L.append(f"- SIMD: vorn `{det.get('vorn_simd_runtime')}`, clostera `{det.get('clostera_simd_runtime')}`, "
             f"faiss `{(det.get('faiss_compile_options') or '').strip()}`"
             + (f" (level `{det['faiss_simd_level']}`)" if det.get("faiss_simd_level") else "")
             + (f"; OpenBLAS {blas}" if blas else ""))
    if p.get("forced_isa"):
        L.append(f"- **Forced instruction set `{p['forced_isa']}`** on this CPU, for every library "
                 f"(`bench/run.py --isa {p['forced_isa']}`): "
                 + ", ".join(f"`{k}={v}`" for k, v in (p.get("forced_isa_env") or {}).items()))
    g = results.get("git", {})
    L.append(f"- vorn source: `{g.get('describe')}`{' (crates/ modified)' if g.get('dirty') else ''}")
    L.append(f"- Protocol: {p.get('reps')} repetition(s), median; fresh process per row; timed = "
             f"{p.get('timed')}; warm-up: {p.get('warmup')}; {p.get('order')}; per-row timeout "
             f"{p.get('timeout_s')} s; iteration cap {p.get('max_iter') or 'library defaults'}; seed {p.get('seed')}.")
    for i, rr in enumerate(results.get("reruns", [])):
        cells = ", ".join(f"{d} {m} K={k}" for d, m, k in rr["cells"])
        what = "whole cells" if rr["rows"] == "all" else "rows " + ", ".join(f"`{r}`" for r in rr["rows"])
        L.append(f"- Re-run {i} (`bench/merge.py`): {what} of {cells} replaced by a re-run with the same "
                 f"protocol on {rr.get('created')}, vorn source `{rr.get('git')}`. Why: {rr.get('why')}")
    ls = load_summary(results)
    if ls:
        L.append(f"- Machine load during timed sections (CPU time of other processes on the pinned cores / "
                 f"(time × cores)): median {ls['median_other_share']:.0%}, p90 {ls['p90_other_share']:.0%}, "
                 f"max {ls['max_other_share']:.0%} over {ls['runs']} runs; 1-min loadavg median "
                 f"{ls['median_loadavg1']}, max {ls['max_loadavg1']}."
                 + (" **The machine was busy: treat times as noisy.**" if ls["median_other_share"] > 0.1 else ""))
    L.append("")
    L.append("## Headline\n")
    if h["cells_with_vorn_auto"]:
        ms = h["median_speedup_vs_fastest_admitted_peer"]
        L.append(f"- vorn `auto` beats every peer row (within 0.5% of the best quality and faster than every "
                 f"FAISS / Clostera / scikit-learn row that is) in **{h.get('vorn_auto_beats_peers', 0)} / "
                 f"{h['cells_with_vorn_auto']}** cells.")
        L.append(f"- Counting vorn's own named backends as competitors too: vorn `auto` is the quality-speed "
                 f"winner in {h['vorn_auto_wins']} / {h['cells_with_vorn_auto']} cells (any vorn row: "
                 f"{h['vorn_any_wins']} / {h['cells']}; where a vorn-lloyd/hamerly row beats `auto` it runs "
                 f"the same backend and the gap is run-to-run noise unless `auto` sampled).")
        L.append(f"- vorn `auto` is within 0.5% of the best quality in {h['vorn_auto_admitted']} / "
                 f"{h['cells_with_vorn_auto']} cells and has the best quality in {h['vorn_auto_best_quality']}.")
        if ms is not None:
            L.append(f"- Median speedup of vorn `auto` over the fastest peer row within 0.5% of the best quality: "
                     f"**{ms:.2f}×** over {h['speedup_cells']} cells (range {h['min_speedup']:.2f}× – "
                     f"{h['max_speedup']:.2f}×; vorn `auto` faster in "
                     f"{h['vorn_auto_faster_than_fastest_admitted_peer']} / {h['speedup_cells']}).")
            if h["median_speedup_when_vorn_auto_admitted"] is not None:
                L.append(f"- Same, only over the {h['speedup_cells_vorn_auto_admitted']} cells where vorn `auto` is "
                         f"itself within 0.5% of the best quality: "
                         f"**{h['median_speedup_when_vorn_auto_admitted']:.2f}×**.")
    else:
        L.append("- vorn `auto` has no completed cell in this run.")
    L.append(f"- Quality-speed winners by library: {_fmt_counts(h['winners_by_library'])}; "
             f"best quality by library: {_fmt_counts(h['best_quality_by_library'])}.")
    L.append(f"- Row status by library: " + "; ".join(
        f"{lib}: {_fmt_counts(st)}" for lib, st in h["status_by_library"].items()) + "\n")
    L.append("Quality = the k-means objective recomputed from each row's centroids (MSE ↓ for l2, mean "
             "cosine ↑ for cosine); V-measure (V) beside it where labelled. **Bold** = quality-speed "
             "winner (fastest within 0.5% of the best objective), ★ = best objective.\n")

    L.append("## Winners per cell\n")
    L.append("| dataset | metric | K | best quality | quality-speed winner | vorn auto | gap | fastest admitted peer | speedup |")
    L.append("|---|---|---:|---|---|---|---:|---|---:|")
    for c in results["cells"]:
        a = analyse_cell(c)
        if not a.get("n_ok"):
            L.append(f"| {c['dataset']} | {c['metric']} | {c['k']} | no completed row | | | | | |")
            continue
        L.append("| {} | {} | {} | {} ({}) | {} ({}) | {} | {} | {} | {} |".format(
            c["dataset"], c["metric"], c["k"], a["best_row"], fmt_q(a["best_objective"]), a["winner_row"],
            fmt_time(a["winner_time_s"]),
            fmt_time(a.get("vorn_auto_time_s")) if "vorn_auto_time_s" in a else "–",
            f"{a['vorn_auto_gap'] * 100:.2f}%" if "vorn_auto_gap" in a else "–",
            f"{a['fastest_admitted_peer']} ({fmt_time(a['fastest_admitted_peer_time_s'])})"
            if "fastest_admitted_peer" in a else "–",
            f"{a['vorn_auto_speedup']:.2f}×" if "vorn_auto_speedup" in a else "–"))
    L.append("")

    L.extend(shortfall_lines(results, seeds=seeds))

    for dname, meta in results.get("datasets", {}).items():
        L.append(f"## {dname}\n")
        if meta.get("unavailable"):
            L.append(f"Not run: {meta['unavailable']}\n")
            continue
        L.append(f"{meta.get('source')} — n = {meta.get('n')}, d = {meta.get('d')}"
                 + (f", {meta.get('n_classes')} classes" if meta.get("labelled") else ", unlabelled") + ".\n")
        cells = [c for c in results["cells"] if c["dataset"] == dname]
        for metric in dict.fromkeys(c["metric"] for c in cells):
            mc = [c for c in cells if c["metric"] == metric]
            ks = [c["k"] for c in mc]
            oname = "MSE ↓" if metric == "l2" else "mean cosine ↑"
            L.append(f"**{metric}** — time / {oname}" + (" / V" if meta.get("labelled") else "") + "\n")
            L.append("| row | " + " | ".join(f"K={k}" for k in ks) + " |")
            L.append("|---|" + "---|" * len(ks))
            row_names = list(dict.fromkeys(r["row"] for c in mc for r in c["rows"]))
            an = {c["k"]: analyse_cell(c) for c in mc}
            for rn in row_names:
                cells_txt = []
                for c in mc:
                    r = next((r for r in c["rows"] if r["row"] == rn), None)
                    cells_txt.append(_cell_text(r, an[c["k"]], meta.get("labelled")))
                L.append(f"| {rn} | " + " | ".join(cells_txt) + " |")
            L.append("")
            sel = _selected_algorithms(mc)
            if sel:
                L.append("Algorithms chosen by `auto`: " + "; ".join(sel) + "\n")
        if dname in plots:
            L.append(f"![{dname}: quality vs time]({plots[dname]})\n")

    disagree = []
    for c in results["cells"]:
        for r in c["rows"]:
            q = r.get("quality") or {}
            if r.get("status") == "ok" and q.get("label_agreement") is not None and q["label_agreement"] < 0.99:
                disagree.append(f"| {c['dataset']} | {c['metric']} | {c['k']} | {r['row']} | "
                                f"{q['label_agreement']:.3f} | {fmt_q(q.get('objective'))} | "
                                f"{fmt_q(q.get('partition_objective'))} |")
    if disagree:
        L.append("## Rows whose labels are not their nearest returned centroid\n")
        L.append("Quality above is judged from the returned centroids. For these rows the returned labels "
                 "differ from the exact nearest returned centroid on many rows (e.g. PQ-coded centroids, or "
                 "scikit-learn's unnormalised centroids under cosine); *partition objective* judges their own "
                 "labels instead, each cluster scored against its exact mean (l2) or normalised mean (cosine).\n")
        L.append("| dataset | metric | K | row | label agreement | objective (centroids) | partition objective (labels) |")
        L.append("|---|---|---:|---|---:|---:|---:|")
        L.extend(disagree)
        L.append("")
    L.append("## Notes\n")
    L.append("- Time is the median over repetitions of fit + labels for all rows, measured inside a fresh "
             "process after a warm-up; it excludes process start-up and data loading.")
    L.append("- `timeout`: killed after the per-row limit; `skipped`: not run because the same row timed "
             "out at a smaller K (or an earlier repetition); `error`: see the raw JSON; "
             "`unavailable`: the library is not installed in the interpreter that ran the suite.")
    L.append("- FAISS has no k-means++; its rows use FAISS's default random init. Clostera iterates a fixed "
             "number of times (no tolerance) unless stopped early; FAISS likewise. vorn and scikit-learn stop "
             "at their tolerance (1e-4) or the cap.")
    return "\n".join(L) + "\n"


# vorn `auto` refines its best run by split-merge moves up to n·d·k = 2^24 (l2; vorn's
# AUTO_SPLIT_MERGE_WORK) and makes two runs from this n·d·k on (AUTO_RESTART_MIN_WORK).
RESTART_MIN_WORK = 1 << 22
TARGET_SPEEDUP = 3.0  # the median target, used here per cell to flag the cells below it
FAISS_SAMPLE_PER_CENTROID = 256
DRAM_GBS = 22.0  # 2-thread streaming read of 220 MB on the benchmark machine: 20.6-23.1 GB/s
KERNEL_PEAK_GFLOPS = 180.0  # vorn's assignment pass at large K on that machine (results/kernel.md)
# The same on the AVX2-only AMD EPYC (results/kernel-avx2.md: 92-105 GFLOP/s at K >= 256), where
# FAISS's sgemm-based pass is about as fast as vorn's.
KERNEL_PEAK_GFLOPS_AVX2 = 105.0


def kernel_name(name: str) -> str:
    """The kernel run that goes with the suite run ``name``: ``full…`` → ``kernel…``."""
    return name.replace("full", "kernel", 1)


def kernel_lead(name: str, results_dir: Path | None = None):
    """(lowest, highest) ratio of vorn's assignment-pass GFLOP/s to FAISS's over the shapes of the
    kernel run that goes with the suite run ``name`` (``full…`` → ``kernel…``, in ``results_dir``,
    default this directory's results/), or None when that run is missing."""
    kp = (results_dir or Path(__file__).resolve().parent / "results") / (kernel_name(name) + ".json")
    try:
        shapes = json.loads(kp.read_text())["shapes"]
    except (OSError, ValueError, KeyError):
        return None
    r = [s["impl"]["vorn.assign"]["gflops"] / s["impl"]["faiss IndexFlatL2.search"]["gflops"]
         for s in shapes if "gflops" in s["impl"].get("vorn.assign", {})
         and "gflops" in s["impl"].get("faiss IndexFlatL2.search", {})]
    return (min(r), max(r)) if r else None


def seeds_evidence(seeds: dict, cell: dict, best_row: str, tol: float = TOL):
    """(fact, why) for a cell outside the quality band from a ``seeds.py`` run over the same cell,
    or None when that run does not hold it: vorn `auto`'s mean objective over the seeds against
    every row's, and whether seed 0 is an unlucky draw or the gap is systematic. ``best_row``:
    the cell's best-quality row (``analyse_cell``)."""
    if not seeds:
        return None
    sc = next((c for c in seeds.get("cells", []) if (c["dataset"], c["metric"], c["k"])
               == (cell["dataset"], cell["metric"], cell["k"])), None)
    a = (sc or {}).get("analysis") or {}
    if "vorn_auto_rank" not in a:
        return None
    s = seeds["seeds"]
    # A peer `auto` that chose a restarting algorithm is not a one-seeding row.
    sel = next(((r.get("info") or {}).get("algorithm_selected") for r in cell["rows"]
                if r["row"] == a["best_mean_row"]), None)
    restarts = f", which restarts: `{sel}`" if sel and "redo" in str(sel) else ""
    fact = (f"over seeds 0–{s - 1} (`{seeds.get('_file', 'seeds')}`) vorn `auto`'s mean "
            f"{sc.get('objective_name', 'objective')} {fmt_q(a['vorn_auto_mean'])} ranks "
            f"{a['vorn_auto_rank']} of {a['rows_ranked']} rows"
            + ("" if a["vorn_auto_rank"] == 1 else
               f" ({a['vorn_auto_mean_gap'] * 100:.2f}% ± {a.get('vorn_auto_mean_gap_se', 0) * 100:.2f}% from "
               f"{a['best_mean_row']}'s {fmt_q(a['best_mean'])}"
               + restarts + ")")
            + f", and seed 0 is its draw number {a['vorn_auto_seed0_rank']} of {s}")
    if a["vorn_auto_rank"] == 1 or a["vorn_auto_mean_gap"] <= tol:
        # Whose seed 0 made the gap: vorn's below its own median, the best row's above its own.
        b0 = (a.get("seed0_ranks") or {}).get(best_row)
        draws = []
        if a["vorn_auto_seed0_rank"] > (s + 1) / 2:
            draws.append(f"vorn's seed 0 is one of its worse draws (number {a['vorn_auto_seed0_rank']} of {s})")
        if b0 is not None and b0 <= (s + 1) / 2:
            draws.append(f"{best_row}'s seed 0 one of its better draws (number {b0} of {s})")
        why = ("the luck of one seed per row (one run per fit here), not a worse seeding: vorn's mean over the seeds "
               "is within the band of the best mean" + (", " + " and ".join(draws) if draws else ""))
    else:
        why = (f"a gap in the mean over seeds ({a['vorn_auto_mean_gap'] * 100:.2f}% ± "
               f"{a.get('vorn_auto_mean_gap_se', 0) * 100:.2f}%), not only seed 0: vorn's seeding (greedy "
               "k-means++ with local search) lands in worse local minima on this data on average")
    return fact, why


def shortfall_lines(results: dict, tol: float = TOL, seeds: dict | None = None) -> list:
    """The report's "where vorn `auto` falls short" section: one line per cell where `auto` is not
    within ``tol`` of the best quality, is slower than an admitted peer row, or is less than
    TARGET_SPEEDUP times faster than the fastest admitted peer; each with the measured facts and
    the structural reason that applies to the cell's shape (not a guess per run). ``seeds`` (a
    ``seeds.py`` run over the same cells) turns a quality loss into measured evidence: an unlucky
    seed or a systematic gap."""
    out = []
    avx2 = (results.get("versions", {}).get("details") or {}).get("vorn_simd_runtime") == "avx2"
    peak = KERNEL_PEAK_GFLOPS_AVX2 if avx2 else KERNEL_PEAK_GFLOPS
    forced = (results.get("protocol") or {}).get("forced_isa")
    kernel_md = f"bench/results/{kernel_name(results.get('name') or 'full-avx2')}.md"
    where = ("every library forced onto its AVX2 paths here" if forced else "no AVX-512 on this CPU")
    lead = kernel_lead(results.get("name") or "full-avx2") if avx2 else None
    if lead and lead[1] >= 1.2:
        # The pass itself still leads FAISS's; say by how much rather than "about as fast".
        lead512 = kernel_lead("full")
        kernel_why = (f"{where}: vorn's AVX2 pass runs at {lead[0]:.1f}–{lead[1]:.1f}× FAISS's GFLOP/s "
                      f"(`{kernel_md}`)" + (f", against {lead512[0]:.1f}–{lead512[1]:.1f}× with AVX-512 "
                                            f"(`bench/results/kernel.md`)" if lead512 else "")
                      + ": a smaller lead per pass, so fewer passes and cheaper seeding carry more of it")
    else:
        kernel_why = (f"{where}: vorn's AVX2 kernel (8 lanes, 16 registers) runs a pass about as fast as "
                      f"the sgemm inside FAISS (`{kernel_md}`), so the lead left is fewer passes and "
                      "cheaper seeding, not a faster pass")
    for c in results["cells"]:
        a = analyse_cell(c, tol)
        if "vorn_auto_time_s" not in a:
            continue
        n, d, k = c.get("n"), c.get("d"), c["k"]
        facts, why = [], []
        if not a.get("vorn_auto_admitted"):
            facts.append(f"quality {a['vorn_auto_gap'] * 100:.2f}% worse than the best ({a['best_row']}), "
                         f"outside the {tol * 100:g}% band")
            ev = seeds_evidence(seeds, c, a["best_row"], tol)
            if ev:
                facts.append(ev[0])
                why.append(ev[1])
            else:
                why.append("a different local minimum: one k-means++ seeding, no restarts "
                           "(vorn `auto` makes one run on this shape)")
        sp = a.get("vorn_auto_speedup")
        if sp is None:
            if facts:
                out.append(f"- {c['dataset']} {c['metric']} K={k}: " + "; ".join(facts) + ". Why: "
                           + "; ".join(why) + ".")
            continue
        fp, tp = a["fastest_admitted_peer"], a["fastest_admitted_peer_time_s"]
        if sp <= 1.0:
            facts.append(f"slower than {fp} ({fmt_time(a['vorn_auto_time_s'])} vs {fmt_time(tp)})")
        elif sp < TARGET_SPEEDUP:
            facts.append(f"{sp:.2f}× faster than {fp} ({fmt_time(a['vorn_auto_time_s'])} vs {fmt_time(tp)}), "
                         f"below {TARGET_SPEEDUP:g}×")
        if sp < TARGET_SPEEDUP:
            lloyd = next((r for r in c["rows"] if r["row"] == "vorn-lloyd" and r.get("status") == "ok"
                          and _obj(r) is not None and r.get("median_time_s")), None)
            if (lloyd and n and d and c["metric"] == "l2" and n * d * k < RESTART_MIN_WORK
                    and _obj(lloyd) > a["vorn_auto_objective"]):
                # One run of the same seeding as vorn-lloyd (below the restart bound, within the
                # split-merge one): the difference is the refinement.
                why.append(f"vorn `auto` refined its run by split–merge moves (l2, n·d·k ≤ 2²⁴), from "
                           f"vorn-lloyd's {fmt_q(_obj(lloyd))} to {fmt_q(a['vorn_auto_objective'])}"
                           + (" (the best objective of the cell)" if a.get("best_row") == VORN_AUTO else "")
                           + f", for {fmt_time(a['vorn_auto_time_s'] - lloyd['median_time_s'])} more than "
                           "vorn-lloyd's fit")
            if a["vorn_auto_time_s"] < 0.05:
                why.append("a fit of a few milliseconds: vorn's seeding (k-means++ with local search, "
                           "about half of a digits fit on one thread) costs more than FAISS's random init, "
                           "and in a fresh process the wake-ups of an idle second core add "
                           "milliseconds to every library's first fits")
            if fp == "faiss-sampled" and n and FAISS_SAMPLE_PER_CENTROID * k < n:
                m = FAISS_SAMPLE_PER_CENTROID * k
                why.append(f"FAISS trains on a {m:,}-row sample ({m / n:.0%} of n) and its centroids are "
                           "still within the band here")
            nbytes = n * d * 4 if n and d else 0
            # Lanes vorn's kernel computes per row: 16-wide panels, the last one 8 wide when it
            # holds at most 8 centroids (the half panel).
            rem = k % 16
            lanes = k - rem + (0 if rem == 0 else 8 if rem <= 8 else 16)
            if k / 2 * DRAM_GBS < peak and nbytes > 32 << 20:
                why.append(f"K = {k}: a pass does K/2 = {k / 2:g} FLOP per byte of data read, which at "
                           f"~{DRAM_GBS:g} GB/s caps every library's pass near {k / 2 * DRAM_GBS:.0f} GFLOP/s, "
                           "below the kernels' peak: the passes are bound by memory, not by the kernel")
            elif k < 48 and k / lanes < 0.75 and nbytes > 32 << 20:
                why.append(f"K = {k}: vorn's centroid panels compute {lanes} lanes per row "
                           f"({k / lanes:.0%} used), and the pass is then close to the memory bound "
                           f"(~{DRAM_GBS:g} GB/s), so a padding-free kernel gained nothing when tried")
            elif nbytes and nbytes <= 64 << 20 and a["vorn_auto_time_s"] >= 0.05:
                why.append(f"the data ({nbytes / 2**20:.0f} MiB) is small: seeding and per-iteration "
                           "overheads weigh as much as the passes")
            if avx2 and not (k / 2 * DRAM_GBS < peak and nbytes > 32 << 20):
                why.append(kernel_why)
        if facts:
            out.append(f"- {c['dataset']} {c['metric']} K={k}: " + "; ".join(facts)
                       + (". Why: " + "; ".join(why) + "." if why else "."))
    head = ["## Where vorn `auto` falls short\n",
            f"Cells where `auto` is outside the {tol * 100:g}% quality band, slower than a peer row inside it, "
            f"or less than {TARGET_SPEEDUP:g}× faster than the fastest such peer (the issue's median target, "
            "applied per cell). Cells where no peer row is inside the band are not listed.\n"]
    return head + (out or ["None in this run."]) + [""]


def _fmt_counts(d: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "none"


def _selected_algorithms(cells) -> list:
    out = []
    for c in cells:
        for r in c["rows"]:
            if r["row"].endswith("-auto") and r.get("status") == "ok":
                sel = (r.get("info") or {}).get("algorithm_selected")
                if sel:
                    out.append(f"K={c['k']} {r['row']} → `{sel}`")
    return out


def _cell_text(r, a, labelled) -> str:
    if r is None:
        return ""
    st = r.get("status")
    if st != "ok":
        return st or "?"
    q = r.get("quality", {})
    t = fmt_time(r.get("median_time_s"))
    if a.get("winner_row") == r["row"]:
        t = f"**{t}**"
    s = f"{t} / {fmt_q(q.get('objective'))}"
    if a.get("best_row") == r["row"]:
        s += " ★"
    if labelled and "v_measure" in q:
        s += f" / {q['v_measure']:.3f}"
    return s


# -------------------------------------------------------------------------------------- plots

MARKERS = {"vorn": "o", "faiss": "s", "clostera": "^", "sklearn": "D"}


def plot_dataset(results: dict, dname: str, path: Path, window: float = 0.05) -> bool:
    """One PNG per dataset: a panel per (metric, K), time (log) vs objective.

    The y axis shows ``window`` (5%) of the best objective; rows of worse quality are drawn as
    hollow markers on the edge of the panel with their value, so one poor row does not flatten
    the rest.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return False
    cells = [c for c in results["cells"] if c["dataset"] == dname]
    if not cells:
        return False
    n = len(cells)
    cols = min(4, n)
    rows_ = (n + cols - 1) // cols
    names = list(dict.fromkeys(r["row"] for c in cells for r in c["rows"]))
    width = max(10.0, 4.2 * cols)
    legend_cols = max(1, min(len(names), int(width // 2.3)))
    legend_rows = (len(names) + legend_cols - 1) // legend_cols
    height = 3.6 * rows_ + 0.9 + 0.25 * legend_rows
    fig, axes = plt.subplots(rows_, cols, figsize=(width, height), squeeze=False)
    cmap = plt.get_cmap("tab10")
    colour = {rn: cmap(i % 10) for i, rn in enumerate(names)}
    lib_of = {r["row"]: r.get("library") for c in cells for r in c["rows"]}
    for ax, c in zip(axes.flat, cells):
        a = analyse_cell(c)
        if not a.get("n_ok"):
            ax.set_title(f"{c['metric']} K={c['k']}: no completed row", fontsize=10)
            continue
        hib = a["higher_is_better"]
        b = a["best_objective"]
        worst_shown = b * (1 - window) if hib else b * (1 + window)
        lo, hi = (worst_shown, b) if hib else (b, worst_shown)
        pad = 0.04 * (hi - lo) if hi > lo else abs(b) * 0.01 + 1e-12
        ylo, yhi = lo - pad, hi + pad
        for r in c["rows"]:
            if r.get("status") != "ok" or not r.get("quality"):
                continue
            v = r["quality"]["objective"]
            clipped = v < ylo or v > yhi
            y = min(max(v, ylo + pad / 2), yhi - pad / 2)
            ax.scatter(r["median_time_s"], y, marker=MARKERS.get(r.get("library"), "x"),
                       s=70 if r["row"] == VORN_AUTO else 40,
                       facecolors="none" if clipped else colour[r["row"]],
                       edgecolors=("black" if r["row"] == a.get("winner_row") else colour[r["row"]]),
                       linewidths=1.5 if clipped or r["row"] == a.get("winner_row") else 0.5,
                       label=r["row"], zorder=3)
            if clipped:
                ax.annotate(fmt_q(v), (r["median_time_s"], y), textcoords="offset points", xytext=(4, 3),
                            fontsize=7, color=colour[r["row"]])
        lim = b * (1 - TOL) if hib else b * (1 + TOL)
        ax.axhline(lim, color="grey", lw=0.8, ls="--", zorder=1)
        ax.set_ylim(ylo, yhi)
        ax.set_xscale("log")
        fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(fmt)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"{c['metric']} K={c['k']}", fontsize=10)
        ax.set_xlabel("time: fit + labels (s, log)")
        ax.set_ylabel("MSE (lower is better)" if c["metric"] == "l2" else "mean cosine (higher is better)")
        ax.grid(alpha=0.3, which="both")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], ls="", marker=MARKERS.get(lib_of[rn], "x"), color=colour[rn], label=rn,
                      markersize=8 if rn == VORN_AUTO else 6) for rn in names]
    fig.legend(handles=handles, loc="lower center", ncol=legend_cols, fontsize=8, frameon=False)
    fig.suptitle(f"{dname}: quality vs time — dashed: within 0.5% of best; black edge: quality-speed winner; "
                 f"hollow: outside the {window:.0%} window (value shown)", fontsize=10)
    fig.tight_layout(rect=(0, (0.3 * legend_rows + 0.1) / height, 1, 1 - 0.45 / height))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def load_seeds(out_dir: Path, name: str):
    """The ``seeds.py`` run over this results file's cells (``<name>-seeds.json``), if any."""
    p = Path(out_dir) / f"{name}-seeds.json"
    if not p.exists():
        return None
    seeds = json.loads(p.read_text())
    seeds["_file"] = p.with_suffix(".md").name
    return seeds


def write_all(results: dict, out_dir: Path, name: str, log=print) -> dict:
    out_dir = Path(out_dir)
    plots = {}
    for dname in results.get("datasets", {}):
        rel = f"plots/{name}-{dname}.png"
        try:
            if plot_dataset(results, dname, out_dir / rel):
                plots[dname] = rel
        except Exception as e:  # noqa: BLE001 - a broken plot must not lose the report
            log(f"[report] plot for {dname} failed: {e!r}")
    if not plots and results.get("cells"):
        log("[report] matplotlib not available: no plots written")
    md = render_markdown(results, name, plots, load_seeds(out_dir, name))
    (out_dir / f"{name}.md").write_text(md)
    log(f"[report] {out_dir / (name + '.md')}" + (f" + {len(plots)} plot(s)" if plots else ""))
    return {"markdown": out_dir / f"{name}.md", "plots": [out_dir / p for p in plots.values()]}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        raise SystemExit("usage: report.py RESULTS.json [OUT_DIR]")
    path = Path(argv[0])
    results = json.loads(path.read_text())
    out = Path(argv[1]) if len(argv) > 1 else path.parent
    write_all(results, out, path.stem)


if __name__ == "__main__":
    main()
