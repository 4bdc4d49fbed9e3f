"""Regenerate the README performance section from the committed results.

    python readme_section.py [RESULTS.json] [--kernel results/kernel.json] [--out results/README-section.md]
                             [--also results/full-avx2-forced.json --also results/full-avx2.json]
                             [--readme ../README.md]

Default input: the first of results/full.json, medium.json, quick.json that exists (the text
says which suite it is). The kernel table is included when results/kernel.json exists. The output
is plain markdown meant to be pasted into (or included by) the root README; every number in it
comes from the JSON, nothing is typed by hand. Further runs of the suite are rendered as their
own subsections when they exist, each with the kernel run of the same name (``full`` → ``kernel``):
by default results/full-avx2-forced.json (every library forced onto its AVX2 paths on the same
CPU, ``run.py --isa avx2``) and results/full-avx2.json (a CPU without AVX-512). With
``--readme`` (``make readme``) the section also replaces the README's own, from its
``## Performance`` heading to the next ``## `` heading.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import report  # noqa: E402


def _simd(results: dict) -> str | None:
    """vorn's kernel family in a run (``avx512``, ``avx2``, ``scalar``), as its runner reported it."""
    return (results.get("versions", {}).get("details") or {}).get("vorn_simd_runtime")


def _headline_lines(results: dict, seeds: dict | None = None) -> list:
    h = report.headline(results)
    name = results.get("name")
    L = []
    if h["cells_with_vorn_auto"]:
        ms = h["median_speedup_vs_fastest_admitted_peer"]
        L.append(f"- vorn `auto` beats every peer row (within 0.5% of the best quality and faster than every "
                 f"FAISS / Clostera / scikit-learn row that is) in **{h.get('vorn_auto_beats_peers', 0)} / "
                 f"{h['cells_with_vorn_auto']}** cells; counting vorn's own named backends too it is the "
                 f"quality-speed winner in {h['vorn_auto_wins']}, and a vorn row wins {h['vorn_any_wins']} / "
                 f"{h['cells']}.")
        L.append(f"- vorn `auto` is within 0.5% of the best quality in {h['vorn_auto_admitted']} / "
                 f"{h['cells_with_vorn_auto']} cells.")
        if ms is not None:
            L.append(f"- Median speedup of vorn `auto` over the fastest peer row within 0.5% of the best quality: "
                     f"**{ms:.2f}×** ({h['speedup_cells']} cells; range {h['min_speedup']:.2f}×–{h['max_speedup']:.2f}×)"
                     + (f"; {h['median_speedup_when_vorn_auto_admitted']:.2f}× over the "
                        f"{h['speedup_cells_vorn_auto_admitted']} cells where vorn `auto` is itself within 0.5%."
                        if h["median_speedup_when_vorn_auto_admitted"] is not None else "."))
    L.append(f"- Quality-speed winners by library: {report._fmt_counts(h['winners_by_library'])}.")
    short = [ln for ln in report.shortfall_lines(results) if ln.startswith("- ")]
    if short:
        L.append(f"- Where `auto` falls short (outside the band, slower than a peer, or under 3× the fastest "
                 f"peer): {len(short)} cell(s), each with its measured reason, in the report's section "
                 f"*Where vorn `auto` falls short* (`bench/results/{name}.md`).")
    L += _seeds_lines(seeds)
    return L


def _seeds_lines(seeds: dict | None) -> list:
    """One bullet on the cells outside the quality band, from the seeds run beside the results."""
    if not seeds:
        return []
    parts = []
    for c in seeds["cells"]:
        a = c.get("analysis") or {}
        if "vorn_auto_rank" not in a:
            continue
        where = (f"vorn `auto`'s mean ranks {a['vorn_auto_rank']} of {a['rows_ranked']} rows"
                 + ("" if a["vorn_auto_rank"] == 1 else
                    f", {a['vorn_auto_mean_gap'] * 100:.2f}% ± {a.get('vorn_auto_mean_gap_se', 0) * 100:.2f}% "
                    f"from {a['best_mean_row']}'s"))
        parts.append(f"{c['dataset']} {c['metric']} K={c['k']}: {where}, and seed 0 is its draw "
                     f"{a['vorn_auto_seed0_rank']} of {len(c['objectives'][report.VORN_AUTO])}")
    if not parts:
        return []
    return [f"- Quality over seeds 0–{seeds['seeds'] - 1} in the cells that were outside the band "
            f"(`bench/results/{seeds['_file']}`): " + "; ".join(parts) + "."]


def _latency_lines(lat: dict) -> list:
    """One paragraph on per-call latency of small batches (``latency.py``)."""
    cells = {}
    for r in lat["rows"]:
        cells.setdefault((r["k"], r["d"], r["batch"]), {})[r["impl"]] = r["median_s"]
    vorn, others = "vorn KMeans.predict", lambda c: {i: t for i, t in c.items() if not i.startswith("vorn")}
    wins = [key for key, c in cells.items() if vorn in c and all(c[vorn] < t for t in others(c).values())]
    losses = [key for key in cells if key not in wins]
    us = lambda t: f"{t * 1e6:.0f} µs" if t < 1e-3 else f"{t * 1e3:.2f} ms"
    L = [f"Per-call latency of `predict` on small batches (`make -C bench latency`, "
         f"`bench/results/latency.md`): vorn is the fastest of vorn, FAISS `IndexFlatL2.search` and "
         f"scikit-learn in {len(wins)} / {len(cells)} (centroids, rows per call) cells"]
    if losses:
        L[0] += "; slower in " + ", ".join(
            f"{b} row{'s' if b > 1 else ''} against {k} × {d} ({us(cells[(k, d, b)][vorn])} vs "
            + ", ".join(f"{i.split()[0]} {us(t)}" for i, t in others(cells[(k, d, b)]).items()
                        if t <= cells[(k, d, b)][vorn]) + ")"
            for k, d, b in losses)
    L[0] += "."
    return L


def _cell_table(results: dict) -> list:
    L = ["| dataset | metric | K | vorn auto | fastest peer within 0.5% | speedup | vorn auto quality gap |",
         "|---|---|---:|---:|---|---:|---:|"]
    for c in results["cells"]:
        a = report.analyse_cell(c)
        if not a.get("n_ok"):
            continue
        L.append("| {} | {} | {} | {} | {} | {} | {} |".format(
            c["dataset"], c["metric"], c["k"],
            report.fmt_time(a.get("vorn_auto_time_s")) if "vorn_auto_time_s" in a else "–",
            f"{a['fastest_admitted_peer']} ({report.fmt_time(a['fastest_admitted_peer_time_s'])})"
            if "fastest_admitted_peer" in a else "none",
            f"{a['vorn_auto_speedup']:.2f}×" if "vorn_auto_speedup" in a else "–",
            f"{a['vorn_auto_gap'] * 100:.2f}%" if "vorn_auto_gap" in a else "–"))
    return L


def _kernel_lines(kernel: dict) -> list:
    g = kernel["gemm"]
    L = [f"Assignment kernel (one pass, distances + argmin, labels out; {kernel['threads']} threads; "
         f"numpy sgemm peak {g['gflops']:.0f} GFLOP/s; in brackets: "
         + (f"% of the sgemm timed in the same round, median over {kernel['reps']} rounds" if any(
             "sgemm_gflops" in s for s in kernel["shapes"]) else "% of that peak") + "):", "",
         "| N × D, K | vorn.assign | FAISS IndexFlatL2 | numpy matmul+argmin | vorn labels ≠ exact |",
         "|---|---:|---:|---:|---:|"]
    for s in kernel["shapes"]:
        im = s["impl"]

        def gf(key):
            r = im.get(key)
            if not r or "gflops" not in r:
                return "–"
            # Share of the sgemm peak: of the same rounds' sgemm where the run timed it per shape.
            return f"{r['gflops']:.1f} GFLOP/s ({r['fraction_of_sgemm']:.0%})"
        chk = s.get("check", {}).get("vorn.assign", {})
        wrong = chk.get("worse_than_exact_beyond_tie")
        L.append(f"| {s['n']:,} × {s['d']}, {s['k']} | {gf('vorn.assign')} | {gf('faiss IndexFlatL2.search')} | "
                 f"{gf('numpy matmul+argmin')} | {'–' if wrong is None else f'{wrong:.1e}'} |")
    if kernel.get("vorn_bf16_screen"):
        L += ["", "vorn screens the passes with K ≥ 512 (K ≥ 256 when D ≥ 128) in bf16 and rescores "
              "the centroids an error bound cannot exclude with its exact fp32 chain: the labels are "
              "the exact pass's, and GFLOP/s count the exact pass's 2·N·K·D flops, hence above sgemm "
              "(`bench/results/kernel.md`)."]
    return L


def _tables(results: dict, kernel: dict | None, seeds: dict | None = None) -> list:
    """Headline bullets, the per-cell table and the kernel table of one run, each followed by a blank line."""
    L = _headline_lines(results, seeds) + [""] + _cell_table(results) + [""]
    if kernel:
        L += _kernel_lines(kernel) + [""]
    return L


def _rerun_note(results: dict) -> str:
    reruns = results.get("reruns") or []
    if not reruns:
        return ""
    cells = sorted({tuple(c) for r in reruns for c in r.get("cells", [])})
    dates = sorted({(r.get("created") or "")[:10] for r in reruns})
    return (f" {len(cells)} cell(s) were re-run whole or in part with the same protocol on "
            f"{', '.join(dates)} (`bench/merge.py`; which, why and on which vorn source: the "
            f"report's *Machine and versions*).")


def _forced(results: dict) -> str | None:
    """The instruction set a run forced on every library (``run.py --isa``), else None."""
    return (results.get("protocol") or {}).get("forced_isa")


def _isa_text(results: dict) -> str:
    if _forced(results):
        return f"AVX-512 CPU, every library forced onto its {_forced(results).upper()} paths"
    simd = _simd(results)
    return {"avx512": "AVX-512", "avx2": "AVX2 + FMA, no AVX-512"}.get(simd, simd or "unknown ISA")


def _also_lines(also: dict, also_kernel: dict | None, main_commit: str | None) -> list:
    """The subsection of a further run of the suite (another CPU, or forced code paths)."""
    am, ap_ = also.get("machine", {}), also.get("protocol", {})
    aname = also.get("name")
    commit = (also.get("git") or {}).get("commit")
    stale = (f" This run's vorn source is older than the main run's (`{main_commit[:7]}`): its times "
             f"predate the engine changes between the two." if commit and main_commit
             and commit[:7] != main_commit[:7] and not _forced(also) else "")
    if _forced(also):
        env = ", ".join(f"`{k}={v}`" for k, v in (ap_.get("forced_isa_env") or {}).items())
        L = ["", f"### The same suite with every library on its {_forced(also).upper()} paths", "",
             f"The same protocol on the same CPU ({am.get('cpu_model')}), with vorn, FAISS, Clostera, "
             f"OpenBLAS and numpy each forced onto its {_forced(also).upper()} code paths "
             f"(`bench/run.py --isa {_forced(also)}`: {env}; each row's process records the level it "
             f"ran), {ap_.get('threads')} threads, {ap_.get('reps')} repetition(s) per row, on "
             f"{also.get('created', '')[:10]}{_source(also)}. A stand-in for a CPU without AVX-512 at "
             f"today's source: the same 256-bit code the libraries run there, on this CPU's cores and "
             f"memory. vorn's fits have the same bits on either kernel family "
             f"(`crates/vorn/tests/isa.rs`), so its quality columns equal the main run's." + _rerun_note(also)]
    else:
        L = ["", f"### The same suite on a CPU with {_isa_text(also)}", "",
             f"The same protocol on {am.get('cpu_model')} ({_isa_text(also)}; vorn dispatches to its "
             f"`{_simd(also)}` kernels at run time), {ap_.get('threads')} threads, {ap_.get('reps')} repetition(s) "
             f"per row, on {also.get('created', '')[:10]}{_source(also)}, every peer on the same machine in the "
             f"same run." + _rerun_note(also) + stale]
    L.append("")
    L += _tables(also, also_kernel)
    L.append(f"Full tables: `bench/results/{aname}.md`, `bench/results/{aname}.json`"
             + (f", `bench/results/{report.kernel_name(aname)}.md`" if also_kernel else "") + ".")
    return L


def section(results: dict, kernel: dict | None, results_rel: str, also: list | None = None,
            seeds: dict | None = None) -> str:
    """The README section: the main run, then each further run of ``also``, a list of
    ``(results, kernel or None, path relative to the repo)``."""
    also = also or []
    m, p, v = results.get("machine", {}), results.get("protocol", {}), results.get("versions", {})
    ls = report.load_summary(results)
    name = results.get("name")
    L = ["## Performance", "",
         f"<!-- generated by bench/readme_section.py from {results_rel}"
         + "".join(f" and {rel}" for _, _, rel in also) + "; do not edit by hand -->", ""]
    suite = results.get("suite")
    quick = suite != "full"
    label = {"full": "the full suite, `make bench`",
             "medium": "the medium suite: one or two K per dataset, every row, `make -C bench medium`",
             }.get(suite, f"the {suite} subset, `make -C bench {suite}`")
    L.append(
        f"Measured with `bench/` ({label}) "
        f"on {m.get('cpu_model')} ({_isa_text(results)}) with {p.get('threads')} thread(s) per row for every library, "
        f"{p.get('reps')} repetition(s) per row (median), each row in a fresh process, time = fit + labels "
        f"of all rows, iteration cap {p.get('max_iter') or 'library defaults'}, on {results.get('created', '')[:10]}"
        f"{_source(results)}. "
        f"Peers: FAISS {v.get('faiss-cpu')}, Clostera {v.get('clostera')}, scikit-learn {v.get('scikit-learn')}. "
        f"Quality is recomputed by the harness from each row's returned centroids (exact, float64)."
        + _rerun_note(results))
    if ls and ls.get("median_other_share", 0) > 0.1:
        L.append("")
        L.append(f"> These timings were taken on a busy machine (other processes used a median "
                 f"{ls['median_other_share']:.0%} of the pinned cores during timed sections); treat them as "
                 f"indicative and re-run `make bench` on a quiet machine.")
    if quick:
        L.append("")
        L.append(f"> Subset `{suite}` only, not the full K grid (`make bench`, described in `bench/README.md`).")
    L.append("")
    L += _tables(results, kernel, seeds)
    rss = BENCH / "results" / "rss.json"
    if rss.exists():
        r = json.loads(rss.read_text())
        fits = [f for f in r.get("fits", []) if not f.get("stress")]
        ok = sum(1 for f in fits if f.get("pass"))
        if fits:
            L.append(f"Peak memory (`make -C bench rss`, one fit per process on memory-mapped data): peak RSS ≤ "
                     f"data + 64 MiB + {r.get('protocol', {}).get('bytes_per_coord', 96)} B·k·d in "
                     f"**{ok} / {len(fits)}** fits (`bench/results/rss.md`).")
            L.append("")
    lat = BENCH / "results" / "latency.json"
    if lat.exists():
        L += _latency_lines(json.loads(lat.read_text())) + [""]
    L.append(f"Full tables, plots and the raw data: `bench/results/{name}.md`, `bench/results/{name}.json`"
             + (", `bench/results/kernel.md`" if kernel else "") + "; protocol: `bench/README.md`.")
    main_commit = (results.get("git") or {}).get("commit")
    for a, ak, _ in also:
        L += _also_lines(a, ak, main_commit)
    return "\n".join(L) + "\n"


def _source(results) -> str:
    """`, vorn source `abc1234`` for a run recorded with its commit, else nothing."""
    commit = (results.get("git") or {}).get("commit")
    return f", vorn source `{commit[:7]}`" if commit else ""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="?")
    ap.add_argument("--kernel", default=str(BENCH / "results" / "kernel.json"))
    ap.add_argument("--out", default=str(BENCH / "results" / "README-section.md"))
    ap.add_argument("--also", action="append",
                    help="a further run of the suite, rendered as its own subsection when the file exists "
                         "(repeatable; default: results/full-avx2-forced.json, results/full-avx2.json); "
                         "its kernel run is the file of the same name with 'full' → 'kernel'")
    ap.add_argument("--readme", help="also splice the section into this README, in place of its "
                    "'## Performance' section (up to the next '## ' heading)")
    a = ap.parse_args(argv)
    if a.results:
        rp = Path(a.results)
    else:
        rp = next((p for p in (BENCH / "results" / f"{n}.json" for n in ("full", "medium", "quick")) if p.exists()), None)
        if rp is None:
            raise SystemExit("no results/full.json or results/quick.json: run `make quick` or `make all` first")
    results = json.loads(rp.read_text())
    kp = Path(a.kernel)
    kernel = json.loads(kp.read_text()) if kp.exists() else None
    try:
        rel = str(rp.resolve().relative_to(BENCH.parent))
    except ValueError:
        rel = str(rp)
    also = []
    for ap_ in a.also or [str(BENCH / "results" / f"{n}.json") for n in ("full-avx2-forced", "full-avx2")]:
        path = Path(ap_)
        if not path.exists() or path.resolve() == rp.resolve():
            continue
        kpath = path.with_name(report.kernel_name(path.name))
        try:
            arel = str(path.resolve().relative_to(BENCH.parent))
        except ValueError:
            arel = str(path)
        also.append((json.loads(path.read_text()),
                     json.loads(kpath.read_text()) if kpath.exists() else None, arel))
    text = section(results, kernel, rel, also, seeds=report.load_seeds(rp.parent, rp.stem))
    Path(a.out).write_text(text)
    print(f"[readme] wrote {a.out} from {rel}" + (" + kernel" if kernel else ""))
    if a.readme:
        path = Path(a.readme)
        path.write_text(splice(path.read_text(), text))
        print(f"[readme] spliced it into {a.readme}")


def splice(readme: str, section_text: str) -> str:
    """``readme`` with its ``## Performance`` section (heading included, up to the next level-2
    heading or the end) replaced by ``section_text``, which must start with that heading."""
    head = "## Performance"
    if not section_text.startswith(head):
        raise SystemExit(f"the generated section does not start with {head!r}")
    lines = readme.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip("\n") == head]
    if len(starts) != 1:
        raise SystemExit(f"README must have exactly one {head!r} heading, found {len(starts)}")
    s = starts[0]
    e = next((i for i in range(s + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[e:])
    return "".join(lines[:s]) + section_text.rstrip("\n") + "\n" + ("\n" + tail if tail else "")


if __name__ == "__main__":
    main()
